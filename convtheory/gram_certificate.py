"""Proven upper bounds on a conv layer's norm from its Gram matrix: an eigenvalue or a Cholesky.

``||M||_2^2`` is the top eigenvalue of the Gram matrix ``G = M^T M`` (or
``M M^T``, whichever is smaller).  Two proofs of ``||M|| <= tau`` are used:

* **dense eigenvalue** (tiny Gram matrices): LAPACK's backward-stable
  ``syevr`` is within ``8 n eps lambda`` of ``lambda_max``;
* **Cholesky certificate**: if the floating-point Cholesky factorisation of
  ``B = tau^2 I - G`` runs to completion, its computed factor ``R`` satisfies
  ``R^T R = B + dB`` with ``|dB| <= gamma_{n+1} |R^T| |R|`` (Higham,
  *Accuracy and Stability of Numerical Algorithms*, 2002, Thm 10.3), so
  ``lambda_min(B) >= -gamma_{n+1} ||R||_F^2``: ``B`` plus that shift is
  positive semidefinite, which proves ``lambda_max(G) <= tau^2 + shift``.
  This is the a-posteriori form of Rump's test (Rump, "Verification of
  positive definiteness", *BIT* 46, 2006, with its underflow term).  ``B`` is
  factored densely, or as a band matrix (LAPACK ``pbtrf``) after ordering the
  unknowns pixel-major, where a conv's Gram matrix is banded.

Both add the error of forming ``G`` in floating point (Higham eq. 3.13:
``|fl(G) - G| <= gamma_m |M|^T |M|``, and ``|| |M|^T |M| ||_2 <= ||M||_F^2``).
A certificate whose ``tau`` is too small, or whose Gram matrix holds NaN,
fails: the factorisation breaks down and no bound is returned.
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.sparse

from .spec import ConvSpec
from .taps import channel_layout
from .threads import blas_threads

__all__ = []  # private to convtheory.spectral_bounds

_EPS = np.finfo(np.float64).eps
_ETA = np.finfo(np.float64).smallest_subnormal
#: Floating-point operations a certificate may cost (about 5 to 20 s on one core).
CERTIFICATE_FLOPS = 1e11

#: Largest array :func:`workspace` keeps (bytes); larger ones are allocated each time.
WORKSPACE_BYTES = 1 << 22

_WORK = threading.local()


def workspace(name: str, shape: tuple, dtype=np.float64) -> np.ndarray:
    """An uninitialised array of ``shape`` kept for this thread under ``name``, reused while
    the shape and dtype match.

    The dense path allocates two matrices of ``n^2`` doubles per call.  A fresh
    allocation of that size is mapped page by page as it is first written, and
    on a virtual machine those page faults cost as much as the factorisation:
    about 0.7 ms for P-Net's 432 x 432 Gram matrix, against 1 ms for its
    Cholesky.  Arrays up to :data:`WORKSPACE_BYTES` are kept, one per name and
    thread (threads never share one), so at most a few of them stay allocated.

    Examples
    --------
    >>> a = workspace("example", (2, 3))
    >>> a is workspace("example", (2, 3)), a is workspace("example", (3, 2))
    (True, False)
    """
    dtype = np.dtype(dtype)
    if math.prod(shape) * dtype.itemsize > WORKSPACE_BYTES:
        return np.empty(shape, dtype=dtype)
    kept = _WORK.__dict__.setdefault("arrays", {})
    a = kept.get(name)
    if a is None or a.shape != tuple(shape) or a.dtype != dtype:
        a = kept[name] = np.empty(shape, dtype=dtype)
    return a


def top_eigenpair(G: np.ndarray):
    """``(lambda_max, v)`` of a Hermitian ``G``: the top pair alone (LAPACK ``syevr``/``heevr``),
    or the full divide-and-conquer ``syevd`` where ``syevr`` returns no pair at all, as it
    does for some tight clusters (a Gram matrix within an ulp of the identity).  Both are
    backward stable.

    Examples
    --------
    >>> lam, v = top_eigenpair(np.diag([1.0, 3.0, 2.0]))
    >>> lam, np.abs(v).tolist()
    (3.0, [0.0, 1.0, 0.0])
    """
    n = len(G)
    lam, vec = scipy.linalg.eigh(G, subset_by_index=[n - 1, n - 1])
    if lam.size == 0:
        lam, vec = scipy.linalg.eigh(G, driver="evd")
        lam, vec = lam[-1:], vec[:, -1:]
    return float(lam[0]), vec[:, 0]


def gamma(k: int) -> float:
    """Higham's ``gamma_k = k u / (1 - k u)``, with ``u`` taken as eps (twice the unit roundoff)."""
    return k * _EPS / (1 - k * _EPS)


def small_gram(M: scipy.sparse.spmatrix):
    """``(G, wide, form_error)``: the smaller sparse Gram matrix and the bound on its rounding.

    ``||fl(G) - G||_2 <= gamma_t || |M|^T |M| ||_2`` (Higham eq. 3.13), where
    ``t`` is the most nonzero products in one entry (the sparse product sums
    only those) and ``|| |M| ||_2^2 <= min(||M||_F^2, ||M||_1 ||M||_inf)``.
    """
    M = scipy.sparse.csr_matrix(M)
    wide, form_error = gram_rounding(M)
    Mh = M.conj().T if np.iscomplexobj(M.data) else M.T
    G = (M @ Mh) if wide else (Mh @ M)
    return G.tocsr(), wide, form_error


def gram_rounding(M: scipy.sparse.csr_matrix):
    """``(wide, form_error)`` of :func:`small_gram`, for any summation order of its products.

    Higham's bound holds whatever the order of the sums, so it also serves the
    Gram matrix that :func:`tied_gram` sums another way.
    """
    rows, cols = M.shape
    wide = rows < cols
    # |M|'s row and column sums and Frobenius norm, read off the CSR arrays (as a sparse
    # |M| they cost as much as the product itself on a small layer).
    a = np.abs(M.data)
    per_row = np.diff(M.indptr)
    row_sums = np.add.reduceat(a, M.indptr[:-1][per_row > 0]) if a.size else a
    col_sums = np.bincount(M.indices, weights=a, minlength=cols)
    per_col = np.bincount(M.indices, minlength=cols)
    terms = int((per_row if wide else per_col).max(initial=0))
    abs_norm2 = min(float(np.dot(a, a)),
                    float(row_sums.max(initial=0.0)) * float(col_sums.max(initial=0.0)))
    form_error = gamma(terms) * abs_norm2 * (1 + 2 * gamma(max(rows, cols) + 1))  # rounded sums
    # a product that underflows errs by up to _ETA whatever its size (Higham eq. 3.13 assumes
    # none does): n x n entries of at most ``terms`` such errors each.  No product of
    # entries of at least 2**-511 underflows (and a sum that lands below the normal range
    # is exact), so a Gram matrix of such entries, or of zeros, needs no allowance.
    nonzero = a[a > 0]
    if nonzero.size and float(nonzero.min()) < 2.0 ** -511:
        form_error += 2 * max(rows, cols) * terms * _ETA
    return wide, form_error


#: Most products :func:`tied_gram` adds up, and most entries of its ``K``: 16 bytes of
#: pattern each, kept for the last four geometries, and 8 of values (4 + 2 MiB at most per
#: geometry, and 2 MiB of ``K``); above, the sparse product is used.
TIED_PRODUCTS = 1 << 18


def tied_gram(weight: np.ndarray, spec: ConvSpec, out: np.ndarray) -> np.ndarray | None:
    """``M^T M`` of a real conv, dense in ``out``, from its tied weights; None if ``M`` is wide.

    Every output channel of a group reads the same inputs at output position
    ``p``, through the same kernel positions, so
    ``M^T M = sum_p E_p^T K_g E_p`` with ``K_g = W_g^T W_g`` (``W_g`` the group's
    weight as ``(C_out/groups, C_in/groups * prod(k))``) and ``E_p`` placing
    kernel position ``a`` of input channel ``c`` at column ``(c, input read by
    p through a)``.  The small products ``K_g`` come first and the taps only
    add them up, along a pattern kept per geometry: for P-Net's 1000 x 432
    first layer 0.2 ms, against 1.5 ms for the sparse product and its dense
    copy.  The same products are summed as in the sparse product, in another
    order (:func:`gram_rounding` bounds both).  That holds only where every
    entry of ``M`` is one weight: where a boundary mode folds two taps of one
    output onto one input (reflect, replicate, symmetric; circular where the
    dilated kernel is wider than the input), the matrix entry is their sum, the sparse
    product multiplies those sums, and ``w_a w_b + w_a' w_b`` rounds with
    cancellation that ``(w_a + w_a') w_b`` has not (a folded sum near 0 came
    out as a Gram matrix of exact 0 below a nonzero norm).

    Returns None, for the sparse product to serve, when ``M`` is wide (its
    Gram matrix is ``M M^T``), the weight complex, taps fold, or the pattern
    or ``K`` over :data:`TIED_PRODUCTS`.

    Parameters
    ----------
    weight : ndarray, real, shape ``spec.weight_shape``
    spec : ConvSpec
    out : ndarray, float64, C-contiguous, shape ``(cols, cols)``
        Overwritten (a kept buffer, see :func:`workspace`).

    Raises
    ------
    ValueError
        ``out`` of another shape or dtype, not C-contiguous, or read-only.

    Examples
    --------
    >>> from convtheory import conv_matrix
    >>> w = np.random.default_rng(0).standard_normal((4, 2, 3, 3))
    >>> spec = ConvSpec(w.shape, (2, 5, 5), padding=1, padding_mode="circular")
    >>> M = conv_matrix(w, spec)
    >>> G = tied_gram(w, spec, np.empty((50, 50)))
    >>> bool(np.allclose(G, (M.T @ M).toarray(), rtol=0, atol=1e-12))
    True
    >>> tied_gram(w, spec.replace(padding_mode="reflect"), np.empty((50, 50))) is None
    True
    """
    rows, cols = spec.matrix_shape
    # The products are added into out's flat view: a Fortran-ordered out would flatten to a
    # copy (and come back zero), a float32 one would round the sums outside the allowance.
    if not (isinstance(out, np.ndarray) and out.shape == (cols, cols)
            and out.dtype == np.float64 and out.flags.c_contiguous and out.flags.writeable):
        got = (f"a {type(out).__name__}" if not isinstance(out, np.ndarray) else
               f"shape {out.shape}, dtype {out.dtype}, C-contiguous {out.flags.c_contiguous}, "
               f"writeable {out.flags.writeable}")
        raise ValueError(f"out must be a writeable C-contiguous float64 array of shape "
                         f"{(cols, cols)}, got {got}")
    if rows < cols or np.iscomplexobj(weight):
        return None
    pattern = _tied_pattern(spec)
    if pattern is None:
        return None
    index, k_index = pattern
    groups, cpo = spec.groups, spec.out_channels_per_group
    # K[g, (ci, a), (cj, b)] = sum over the group's outputs o of w[o, ci, a] w[o, cj, b]
    W = np.asarray(weight, dtype=np.float64).reshape(groups, cpo, -1)
    K = np.matmul(W.transpose(0, 2, 1), W)
    values = np.take(K.reshape(-1), k_index, out=workspace("tied_values", k_index.shape))
    out.fill(0)
    np.add.at(out.reshape(-1), index, values)
    return out


@functools.lru_cache(maxsize=4)
def _tied_pattern(spec: ConvSpec):
    """``(index, k_index)`` of :func:`tied_gram`: for every product it adds, its flat
    position in the ``(cols, cols)`` Gram matrix and in ``K``; None where taps fold
    onto one input, or the products or ``K``'s entries are over :data:`TIED_PRODUCTS`.

    Read from :func:`~convtheory.taps.channel_layout`, the CSR layout that every
    output channel of group 0 shares: per output position, its taps' columns
    ``(ci, s)`` and weights ``(ci, a)``; group ``g`` is that layout shifted by
    ``g`` blocks of input channels and of ``K``.
    """
    lay = channel_layout(spec)
    if len(lay.cols) != len(lay.tap_weight):  # folded taps: the entries are sums (see above)
        return None
    per_row = lay.row_nnz
    width = spec.in_channels_per_group * int(np.prod(spec.kernel_size))  # K_g is width^2
    # No more than the products where some output sees the whole kernel, K far more where
    # none does (a kernel wider than the input).
    if max(int(np.sum(per_row ** 2)), width * width) * spec.groups > TIED_PRODUCTS:
        return None
    cols = spec.matrix_shape[1]
    tap_cols = lay.cols[lay.tap_entry]  # each tap's column (taps and entries may be ordered apart)
    # Every pair (first, second) of taps of one output, enumerated from the CSR rows: as
    # many as the products counted above.
    starts = np.cumsum(per_row) - per_row
    reps = np.repeat(per_row, per_row)  # pairs that each tap starts
    first = np.repeat(np.arange(len(tap_cols)), reps)
    second = np.repeat(np.repeat(starts, per_row), reps) + np.arange(first.size) \
        - np.repeat(np.cumsum(reps) - reps, reps)
    g = np.arange(spec.groups)[:, None]
    shift = g * (cols // spec.groups)  # group g's columns: its block of input channels
    index = ((tap_cols[first] + shift) * cols + tap_cols[second] + shift).reshape(-1)
    k_index = (g * width * width + lay.tap_weight[first] * width
               + lay.tap_weight[second]).reshape(-1)
    return index, k_index


def _bound_from_factor(abs_norm2: float, terms: int, n: int, tau2: float,
                       diag_max: float) -> float:
    """``lambda_max(G) <=`` this, given ``|| |R| ||_2^2`` of the factor of ``B = fl(tau2 I - G)``.

    ``terms`` is the most nonzero products in one inner product of the
    factorisation (``n`` dense, bandwidth + 1 banded: zeros add no rounding).
    """
    g = gamma(terms + 1)
    shift = g / (1 - g) * abs_norm2 + 4 * n * _ETA * (2 * (n + 1) + diag_max)
    # B_ii = fl(tau2 - g_ii) carries a relative rounding of eps: B = tau2 I - G + E
    return (tau2 + _EPS * diag_max + shift) * (1 + 4 * _EPS)


def _abs_norm2(fro2: float, norm1: float, norminf: float, count: int) -> float:
    """``|| |R| ||_2^2 <= min(||R||_F^2, ||R||_1 ||R||_inf)``, inflated for the rounded sums."""
    return min(fro2, norm1 * norminf) * (1 + 2 * gamma(count + 1))


def certify_dense(G: np.ndarray, tau2: float) -> float | None:
    """A proven ``lambda_max(G) <= bound`` from the dense Cholesky of ``tau2 I - G``, or None.

    Only the upper triangle is read (LAPACK ``potrf``): the symmetric matrix
    it defines obeys the same rounding bound as the computed ``G``.  The
    factor's ``||R||_F^2 <= tr(B) / (1 - gamma_{n+1})`` (Rump 2006) needs no
    pass over ``R``.

    Examples
    --------
    >>> G = np.diag([1.0, 4.0])
    >>> b = certify_dense(G, 4.0 * (1 + 1e-12))
    >>> bool(4.0 <= b <= 4.0 * (1 + 1e-11)), certify_dense(G, 3.99)
    (True, None)
    """
    if not (math.isfinite(tau2) and tau2 > 0) or np.iscomplexobj(G):
        return None
    B = np.negative(G, out=workspace("certificate", G.shape), dtype=np.float64)
    B[np.diag_indices_from(B)] += tau2
    if not np.isfinite(B).all():
        return None
    diag = B.diagonal().copy()
    n = B.shape[0]
    with blas_threads(1):  # mid-sized LAPACK calls: a second thread costs more than it saves
        # B.T is Fortran-ordered (no copy); its lower triangle is B's upper one
        _, info = scipy.linalg.lapack.dpotrf(B.T, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        return None
    g = gamma(n + 1)
    trace = float(np.sum(np.abs(diag))) * (1 + gamma(n + 1))
    return _bound_from_factor(trace / (1 - g), n, n, tau2, float(np.max(np.abs(diag))))


def pixel_major(channels: int, pixels: int) -> np.ndarray:
    """The permutation ``new -> old`` from channel-major ``c*P + p`` to pixel-major ``p*C + c``."""
    return (np.arange(channels)[None, :] * pixels + np.arange(pixels)[:, None]).ravel()


def certify_banded(G: scipy.sparse.spmatrix, tau2: float, order: np.ndarray) -> float | None:
    """As :func:`certify_dense`, for a band matrix, after reordering its unknowns by ``order``.

    The band of half-width ``b`` is cut into diagonal blocks of size
    ``nb >= b``, so ``tau2 I - G`` is block tridiagonal and its Cholesky
    factor is too: each step is one dense Cholesky, one triangular solve and
    one symmetric update (BLAS 3), about ``7/3 n nb^2`` flops in all.  Every
    entry of the factor is still one inner product of at most ``2 nb`` nonzero
    terms, evaluated in some order, so the bound of Higham's Thm 10.3 holds
    with ``gamma_{2 nb + 1}`` (structural zeros stay exact zeros).

    Examples
    --------
    >>> G = scipy.sparse.diags([[-1.0] * 4, [2.0] * 5, [-1.0] * 4], [-1, 0, 1])
    >>> top = 2 + 2 * np.cos(np.pi / 6)
    >>> b = certify_banded(G, top * (1 + 1e-12), np.arange(5))
    >>> bool(top <= b <= top * (1 + 1e-10)), certify_banded(G, top * (1 - 1e-6), np.arange(5))
    (True, None)
    """
    if not (math.isfinite(tau2) and tau2 > 0) or np.iscomplexobj(G.data):
        return None
    P = G.tocsr()[order][:, order].tocsr()
    if not np.all(np.isfinite(P.data)):
        return None
    coo = P.tocoo()
    nb = max(block_size(int(np.max(np.abs(coo.row - coo.col))) if coo.nnz else 0), 1)
    with blas_threads(1):  # many mid-sized blocks: one BLAS thread each is fastest
        return _block_tridiagonal_bound(P, tau2, nb)


def _block_tridiagonal_bound(P, tau2: float, nb: int) -> float | None:
    n = P.shape[0]
    starts = list(range(0, n, nb)) + [n]
    colsum, rowsum = np.zeros(n), np.zeros(n)
    fro2, diag_max, below = 0.0, 0.0, None
    for k in range(len(starts) - 1):
        s, e = starts[k], starts[k + 1]
        A = -P[s:e, s:e].toarray()
        A[np.diag_indices_from(A)] += tau2
        diag_max = max(diag_max, float(np.max(np.abs(A.diagonal()))))
        if below is not None:  # the Schur complement of the previous block
            A -= below @ below.T
        try:
            L = scipy.linalg.cholesky(A, lower=True, overwrite_a=True, check_finite=True)
        except (np.linalg.LinAlgError, ValueError):
            return None
        absL = np.abs(L)
        fro2 += float(np.sum(absL * absL))
        colsum[s:e] += absL.sum(axis=0)
        rowsum[s:e] += absL.sum(axis=1)
        if e < n:
            f = starts[k + 2]
            C = -P[e:f, s:e].toarray()
            below = scipy.linalg.solve_triangular(L, C.T, lower=True, check_finite=True).T
            absB = np.abs(below)
            fro2 += float(np.sum(absB * absB))
            colsum[s:e] += absB.sum(axis=0)
            rowsum[e:f] += absB.sum(axis=1)
    if not math.isfinite(fro2):
        return None
    a2 = _abs_norm2(fro2, float(colsum.max()), float(rowsum.max()), n * 2 * nb)
    return _bound_from_factor(a2, 2 * nb, n, tau2, diag_max)


def block_size(band: int) -> int:
    """Diagonal blocks of at least the half-bandwidth (and 256, for BLAS 3 efficiency)."""
    return max(band, 256)


def banded_flops(n: int, band: int) -> float:
    """The cost of :func:`certify_banded`: about ``7/3 n nb^2`` flops."""
    nb = min(block_size(band), n)
    return 7 / 3 * n * nb * nb


def _reach(table: np.ndarray, output_side: bool) -> int:
    """How far apart two unknowns on one axis can be and still meet in ``G``."""
    valid = table >= 0
    big = np.iinfo(np.int64).max
    lo = np.where(valid, table, big).min(axis=1)
    hi = np.where(valid, table, -1).max(axis=1)
    rows = hi >= 0
    if not output_side:  # two inputs meet when one output reads both
        return int(np.max(hi[rows] - lo[rows])) if np.any(rows) else 0
    # two outputs meet when their windows share an input (windows move forward)
    o = np.flatnonzero(rows)
    last = np.searchsorted(lo[o], hi[o], side="right") - 1
    return int(np.max(last - np.arange(o.size))) if o.size else 0


def banded_cost(spec: ConvSpec, wide: bool) -> tuple[int, int]:
    """``(n, bandwidth)`` of the smaller Gram matrix in pixel-major order, before building it.

    Only zero padding keeps it banded (the other modes wrap or fold the
    border): there the full width ``n - 1`` is returned.
    """
    spatial = spec.output_spatial if wide else spec.input_spatial
    channels = spec.out_channels if wide else spec.in_channels
    n = channels * int(np.prod(spatial))
    if spec.padding_mode != "zeros":
        return n, n - 1
    reach = [_reach(np.asarray(spec.axis_table(ax)), wide) for ax in range(spec.ndim)]
    flat = sum(r * int(np.prod(spatial[ax + 1:])) for ax, r in enumerate(reach))
    return n, min(n - 1, channels * flat + channels - 1)
