"""Singular values and spectral norms of conv layers.

A circular, stride-1 multi-channel conv is block-diagonalised by the DFT:
at each of the ``prod(n)`` frequencies it acts as one ``C_out x C_in``
matrix, so its singular values are those of ``prod(n)`` small matrices
(Sedghi, Gupta & Long, "The singular values of convolutional layers",
ICLR 2019): ``O(prod(n) (C^3 + C^2 log n))`` instead of the ``O((C n^d)^3)``
of a dense SVD.  Other paddings and strides break the block structure; their
singular values come from a dense SVD or Lanczos iterations on the
matrix-free operator; certified brackets of the norm are in
:mod:`convtheory.spectral_bounds`.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import sympy
from scipy.sparse.linalg import svds

from ..spec import ConvSpec
from ..matrices import DEFAULT_MAX_BYTES, conv_matrix
from ..operators import _fft_eligible, conv_operator
from ..taps import count_taps, spatial_taps
from ..verdict import Verdict, badness, within
from ..validation import as_max_bytes, as_tolerance, check_budget
from ..threads import parallel_blocks
from ..weights import conv_arguments

__all__ = [
    "CLOSED_FORM_CASES",
    "check_spectral_norm_closed_forms",
    "closed_form_spectral_norm",
    "conv_singular_values",
    "conv_spectral_norm",
    "frequency_matrices",
]

_N = sympy.Symbol("n", integer=True, positive=True)
_DENSE_ENTRIES = 4_000_000  # up to this many entries (32 MB), a dense SVD is simplest and exact


def frequency_matrices(weight, input_shape, *, max_bytes=DEFAULT_MAX_BYTES, **conv) -> np.ndarray:
    """The ``C_out/g x C_in/g`` matrix of each group at each DFT frequency.

    The circular conv reads ``y[o] = sum_m h[m] x[o + m]`` (indices mod
    ``n``), where ``h`` is the kernel embedded in an ``n``-periodic array by
    the taps of the first output; the DFT turns this into one small matrix
    ``H(f)`` (up to conjugation, which keeps singular values) per frequency.

    Parameters
    ----------
    weight, input_shape, **conv
        As in :func:`conv_singular_values` (the :func:`convtheory.conv_matrix`
        defaults: pass ``padding_mode="circular"`` and ``padding="same"``).
    max_bytes : int
        Refuse, before allocating, to need more memory than this (default 2 GiB).

    Returns
    -------
    H : (groups, prod(n), C_out/groups, C_in/groups) complex ndarray

    Examples
    --------
    >>> H = frequency_matrices(np.array([1.0, -1.0]), (4,), padding="same",
    ...                        padding_mode="circular")
    >>> np.round(np.abs(H[0, :, 0, 0]), 12).tolist()
    [0.0, 1.414213562373, 2.0, 1.414213562373]
    """
    max_bytes = as_max_bytes(max_bytes)
    w, spec = conv_arguments(weight, input_shape, **conv)
    if w.dtype == object:
        raise TypeError("frequency_matrices needs numeric weights")
    if not _fft_eligible(spec):
        raise ValueError(
            f"the DFT block-diagonalises only circular, stride-1 convs with output size = input "
            f"size; got padding_mode={spec.padding_mode!r}, stride={spec.stride}, output "
            f"{spec.output_spatial} for input {spec.input_spatial}; pass padding_mode='circular' "
            f"and padding='same', or use conv_spectral_norm"
        )
    n_in = int(np.prod(spec.input_spatial))
    needed = 2 * 16 * spec.out_channels * spec.in_channels_per_group * n_in  # embedding + its FFT
    check_budget(needed, max_bytes, "frequency_matrices (C_out * C_in/groups * prod(n) complex "
                 "entries)", "use conv_spectral_norm for the largest singular value, or pass a "
                 "larger max_bytes")
    st = spatial_taps(spec)
    first = slice(st.indptr[0], st.indptr[1])
    g = spec.groups
    wg = w.reshape(g, spec.out_channels_per_group, spec.in_channels_per_group, -1)
    h = np.zeros(wg.shape[:3] + (n_in,), dtype=np.result_type(w.dtype, np.float64))
    np.add.at(h, (Ellipsis, st.cols[first]), wg[..., st.kernel[first]])
    h = h.reshape(wg.shape[:3] + spec.input_spatial)
    hf = scipy.fft.fftn(h, axes=tuple(range(3, 3 + spec.ndim)))
    return np.ascontiguousarray(hf.reshape(wg.shape[:3] + (n_in,)).transpose(0, 3, 1, 2))


def conv_singular_values(weight, input_shape, *, k=None, max_bytes=DEFAULT_MAX_BYTES,
                         **conv) -> np.ndarray:
    """Singular values of a multi-channel conv, for every geometry.

    * circular, stride 1, output size = input size: all of them by the FFT
      (Sedghi, Gupta & Long, ICLR 2019), ``O(prod(n) C^3)``;
    * any other geometry: a dense SVD of :func:`convtheory.conv_matrix` when
      the dense matrix fits ``max_bytes``;
    * with ``k=``: only the ``k`` largest, by Lanczos bidiagonalisation
      (``scipy.sparse.linalg.svds``, ARPACK) on the matrix-free
      :func:`convtheory.conv_operator` when the dense matrix would not fit.

    Parameters
    ----------
    weight : (C_out, C_in/groups, k1, ..., kd) array_like
    input_shape : tuple of int, or ConvSpec
        ``(C_in, n1, ..., nd)``.
    k : int, optional
        Return only the ``k`` largest singular values.
    max_bytes : int
        Memory budget (default 2 GiB): refused, with advice, before allocating.
    **conv
        Conv options, with the defaults of :func:`convtheory.conv_matrix`
        (zero padding).  For the FFT path pass ``padding_mode="circular"`` and
        a padding that keeps the size (the offset of a circular conv does not
        change its singular values).

    Returns
    -------
    sigma : ndarray
        Descending, as ``numpy.linalg.svd(conv_matrix(...).toarray())``
        returns them: ``min(rows, cols)`` values, or ``k``.

    Raises
    ------
    ValueError
        A dense SVD over ``max_bytes`` without ``k``, a bad ``k``, or
        non-finite weights.

    Notes
    -----
    FFT cost ``O(C_out C_in N log N + N min(C)^2 max(C))`` with ``N = prod(n)``,
    against ``O((C N)^3)`` for the dense SVD; see ``benchmarks/bench_spectra.py``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((3, 2, 3, 3))
    >>> s = conv_singular_values(w, (2, 5, 5), padding="same", padding_mode="circular")
    >>> M = conv_matrix(w, (2, 5, 5), padding="same", padding_mode="circular")
    >>> s.shape, np.allclose(s, np.linalg.svd(M.toarray(), compute_uv=False), atol=1e-10)
    ((50,), True)

    A strided, zero-padded layer, all values and the top two:

    >>> kw = dict(stride=2, padding=1)
    >>> s = conv_singular_values(w, (2, 9, 9), **kw)
    >>> dense = np.linalg.svd(conv_matrix(w, (2, 9, 9), **kw).toarray(), compute_uv=False)
    >>> bool(np.allclose(s, dense, atol=1e-10))
    True
    >>> bool(np.allclose(conv_singular_values(w, (2, 9, 9), k=2, **kw), dense[:2], rtol=1e-8))
    True
    """
    max_bytes = as_max_bytes(max_bytes)
    w, spec = conv_arguments(weight, input_shape, **conv)
    if w.dtype == object:
        raise TypeError("conv_singular_values needs numeric weights")
    if not np.all(np.isfinite(w)):
        raise ValueError("weight must be finite for conv_singular_values, got NaN or inf entries")
    rows, cols = spec.matrix_shape
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= min(rows, cols):
            raise ValueError(f"k must be None or an int in [1, {min(rows, cols)}] (min of the "
                             f"matrix shape {spec.matrix_shape}), got k={k!r}")
        k = int(k)
    if _fft_eligible(spec):
        H = frequency_matrices(w, spec, max_bytes=max_bytes)
        g, f = H.shape[:2]
        sigma = np.empty((g, f, min(H.shape[2:])), dtype=np.float64)

        def block(start, stop):
            # Thousands of small SVDs: one BLAS thread each, frequency blocks side by side
            # (two BLAS threads on each small matrix made this 5-100x slower, not faster).
            sigma[:, start:stop] = np.linalg.svd(H[:, start:stop], compute_uv=False)

        parallel_blocks(f, block, min_items=16)
        sigma = np.sort(sigma.ravel())[::-1]
        return sigma if k is None else sigma[:k]
    dense_bytes = 2 * 16 * rows * cols  # the matrix and LAPACK's copy
    if dense_bytes <= max_bytes and (k is None or k >= min(rows, cols) - 1
                                     or rows * cols <= _DENSE_ENTRIES):
        sigma = np.linalg.svd(conv_matrix(w, spec).toarray(), compute_uv=False)
        return sigma if k is None else sigma[:k]
    if k is None:
        raise ValueError(
            f"conv_singular_values: a dense SVD of the {rows:,} x {cols:,} conv matrix would need "
            f"about {dense_bytes / 2**20:,.0f} MiB, over max_bytes={max_bytes:,}; pass k= for the "
            f"k largest by Lanczos, use conv_spectral_norm_bounds for the norm, use a circular "
            f"stride-1 conv (FFT), or pass a larger max_bytes")
    _refuse_over_budget("Lanczos on the matrix-free operator",
                        _lanczos_bytes(spec) + 16 * 3 * k * (rows + cols), max_bytes)
    op = conv_operator(w, spec)
    v0 = np.random.default_rng(20190506).standard_normal(min(spec.matrix_shape))
    sigma = svds(op, k=k, which="LM", v0=v0, return_singular_vectors=False)
    return np.sort(sigma)[::-1]


_NORM_METHODS = ("auto", "fft", "dense", "lanczos")


def conv_spectral_norm(weight, input_shape, *, method: str = "auto", tol: float = 0.0,
                       max_bytes=DEFAULT_MAX_BYTES, **conv) -> float:
    """The largest singular value (operator 2-norm) of a conv, for any padding, stride, groups.

    * circular, stride 1, output size = input size: the FFT method
      (:func:`conv_singular_values`), exact to rounding;
    * small matrices (at most 4 million entries): a dense SVD;
    * a single row or column: its 2-norm;
    * otherwise: Lanczos bidiagonalisation (``scipy.sparse.linalg.svds``,
      ARPACK) on the matrix-free :func:`convtheory.conv_operator`, converged
      to ``tol`` (0: machine precision), about 1e-8 relative or better.

    Parameters
    ----------
    weight, input_shape, **conv
        As in :func:`convtheory.conv_matrix` (default zero padding, as there).
    method : {"auto", "fft", "dense", "lanczos"}
        ``"auto"`` picks as listed above; the others force one path.
    tol : float
        ARPACK tolerance.
    max_bytes : int
        Refuse, before allocating, to need more memory than this (default
        2 GiB): the frequency matrices, the dense matrix, or the Lanczos
        vectors plus the operator's gather matrix and column buffer.

    Returns
    -------
    float

    Examples
    --------
    The difference kernel ``[1, -1]``: ``2 cos(pi / 2n)`` with valid
    padding, 2 when circular with even ``n``.

    >>> n = 100
    >>> bool(np.isclose(conv_spectral_norm([1.0, -1.0], (n,)), 2 * np.cos(np.pi / (2 * n))))
    True
    >>> conv_spectral_norm([1.0, -1.0], (n,), padding=((0, 1),), padding_mode="circular")
    2.0
    """
    max_bytes = as_max_bytes(max_bytes)
    w, spec = conv_arguments(weight, input_shape, **conv)
    if w.dtype == object:
        raise TypeError("conv_spectral_norm needs numeric weights")
    tol = as_tolerance(tol, "tol")
    if method not in _NORM_METHODS:
        raise ValueError(f"method must be one of {_NORM_METHODS}, got method={method!r}")
    max_bytes = as_max_bytes(max_bytes)
    if method == "fft" or (method == "auto" and _fft_eligible(spec)):
        return float(conv_singular_values(w, spec, max_bytes=max_bytes)[0])
    rows, cols = spec.matrix_shape
    if method == "dense" or (method == "auto" and rows * cols <= _DENSE_ENTRIES):
        _refuse_over_budget("a dense SVD", 2 * 16 * rows * cols, max_bytes)
        return float(np.linalg.svd(conv_matrix(w, spec).toarray(), compute_uv=False)[0])
    if min(rows, cols) == 1:  # ARPACK needs k < min(shape); a vector's norm is its 2-norm
        return float(np.sqrt(np.sum(np.abs(conv_matrix(w, spec, max_bytes=max_bytes).data) ** 2)))
    _refuse_over_budget("Lanczos on the matrix-free operator", _lanczos_bytes(spec), max_bytes)
    op = conv_operator(w, spec)
    # A fixed pseudo-random start vector: reproducible, and (unlike a constant
    # vector) not orthogonal to the top singular vector of symmetric kernels,
    # whose Krylov space would otherwise miss it.
    v0 = np.random.default_rng(20190506).standard_normal(min(spec.matrix_shape))
    sigma = svds(op, k=1, which="LM", tol=tol, v0=v0, return_singular_vectors=False)
    return float(sigma[0])


def _lanczos_bytes(spec: ConvSpec) -> int:
    """ARPACK's ~20 Lanczos vectors, the operator's gather matrix and its column buffer."""
    rows, cols = spec.matrix_shape
    one_pair = spec.replace(weight_shape=(1, 1) + spec.kernel_size,
                            input_shape=(1,) + spec.input_spatial, groups=1)
    n_out = int(np.prod(spec.output_spatial))
    k_vol = int(np.prod(spec.kernel_size))
    return (16 * 20 * (rows + cols) + 16 * count_taps(one_pair)
            + 16 * spec.in_channels * k_vol * n_out)


def _refuse_over_budget(what: str, needed: int, max_bytes: int) -> None:
    check_budget(needed, max_bytes, f"conv_spectral_norm by {what}",
                 "use a smaller input (for a circular stride-1 conv the FFT method needs far "
                 "less), or pass a larger max_bytes")


#: Kernels whose spectral norms have closed forms: name -> (weight, conv options,
#: closed form in ``n``, input shape as a function of ``n``).
CLOSED_FORM_CASES = {
    "difference, valid": (
        np.array([1.0, -1.0]), {}, 2 * sympy.cos(sympy.pi / (2 * _N)), lambda n: (n,)),
    "difference, circular, n even": (
        np.array([1.0, -1.0]), {"padding": ((0, 1),), "padding_mode": "circular"},
        sympy.Integer(2), lambda n: (n,)),
    "laplacian 1-D, zero padding": (
        np.array([1.0, -2.0, 1.0]), {"padding": 1},
        4 * sympy.cos(sympy.pi / (2 * (_N + 1))) ** 2, lambda n: (n,)),
    "laplacian 1-D, circular, n even": (
        np.array([1.0, -2.0, 1.0]), {"padding": 1, "padding_mode": "circular"},
        sympy.Integer(4), lambda n: (n,)),
    "laplacian 2-D, zero padding": (
        np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]), {"padding": 1},
        8 * sympy.cos(sympy.pi / (2 * (_N + 1))) ** 2, lambda n: (n, n)),
    "laplacian 2-D, circular, n even": (
        np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
        {"padding": 1, "padding_mode": "circular"}, sympy.Integer(8), lambda n: (n, n)),
}


def closed_form_spectral_norm(name: str, n: int | None = None):
    """The exact spectral norm of a named kernel, as a sympy expression in ``n``.

    Derivations (``T`` = tridiag(-1, 2, -1), the Dirichlet second difference,
    eigenvalues ``2 - 2 cos(j pi / (m + 1))``, ``j = 1..m``):

    * ``[1, -1]``, valid on ``n``: ``D D^T = T`` of size ``n - 1``, so
      ``sigma_max^2 = 2 + 2 cos(pi / n)``, ``sigma_max = 2 cos(pi / 2n)``;
      circular: eigenvalues ``1 - e^{2 pi i j / n}``, modulus ``2 |sin(pi j / n)|``,
      2 for even ``n``;
    * ``[1, -2, 1]`` with zero padding 1 is ``-T`` (``n x n``, symmetric):
      ``4 cos^2(pi / 2(n+1))``; circular: ``|2 cos(2 pi j / n) - 2|``, 4 for even ``n``;
    * the 5-point Laplacian with zero padding 1 on ``n x n`` is
      ``-(T (x) I + I (x) T)``: ``8 cos^2(pi / 2(n+1))``; circular: 8 for even ``n``.

    For these kernels the circular norm (even ``n``) is the supremum of the
    kernel's frequency response; zero padding gives a strictly smaller norm,
    approaching it as ``n`` grows.  (In general the zero-padded norm is
    bounded by that supremum, not by the circular norm at the same ``n``.)

    Parameters
    ----------
    name : str
        A key of :data:`CLOSED_FORM_CASES`.
    n : int, optional
        Substitute this size.

    Examples
    --------
    >>> closed_form_spectral_norm("difference, valid")
    2*cos(pi/(2*n))
    >>> closed_form_spectral_norm("laplacian 2-D, zero padding", 2)
    6
    """
    if name not in CLOSED_FORM_CASES:
        raise ValueError(f"name must be one of {sorted(CLOSED_FORM_CASES)}, got name={name!r}")
    expr = CLOSED_FORM_CASES[name][2]
    return expr if n is None else sympy.simplify(expr.subs(_N, n))


def check_spectral_norm_closed_forms(sizes=(8, 64), *, norm=None, rtol: float = 1e-8) -> Verdict:
    """Compare :func:`conv_spectral_norm` with every closed form, at several sizes.

    Parameters
    ----------
    sizes : non-empty iterable of even int >= 2
        The circular closed forms hold for even ``n``.
    norm : callable, optional
        ``(weight, input_shape, **conv) -> float`` to check instead.
    rtol : float
        Allowed relative error (default 1e-8: Lanczos converges to about
        that; the FFT and dense paths are exact to rounding).

    Returns
    -------
    Verdict
        Method ``numeric``.  Evidence: a table of name, n, computed, exact.

    Examples
    --------
    >>> v = check_spectral_norm_closed_forms((8,))
    >>> bool(v), len(v.evidence["table"])
    (True, 6)
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be an iterable of even ints >= 2, got sizes={sizes!r}")
    sizes = tuple(sizes)
    if not sizes or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                            and n >= 2 and n % 2 == 0 for n in sizes):
        raise ValueError(f"sizes must be a non-empty iterable of even ints >= 2 (the circular "
                         f"closed forms need even n, the kernels need n >= 2), got sizes={sizes!r}")
    rtol = as_tolerance(rtol, "rtol")
    norm = conv_spectral_norm if norm is None else norm
    table, worst, counterexample = [], 0.0, None
    for name, (w, kw, expr, shape) in CLOSED_FORM_CASES.items():
        for n in sizes:
            exact = float(expr.subs(_N, n))
            value = norm(w, shape(n), **kw)
            if not isinstance(value, (int, float, np.integer, np.floating)) \
                    or isinstance(value, (bool, np.bool_)):
                raise TypeError(f"norm must return a real number, got {type(value).__name__} "
                                f"for case {name!r}, n={n}")
            got = float(value)
            rel = abs(got - exact) / exact if np.isfinite(got) else np.nan
            table.append({"case": name, "n": int(n), "computed": got, "exact": exact,
                          "relative_error": rel})
            if badness(rel) > badness(worst):   # NaN ranks worst, never skipped
                worst = rel
                if not within(rel, rtol):
                    counterexample = table[-1]
    holds = within(worst, rtol)
    return Verdict(
        name="spectral_norm_closed_forms",
        statement="conv_spectral_norm equals the closed-form norms of difference and Laplacian kernels",
        holds=holds, method="numeric",
        scope=f"{len(CLOSED_FORM_CASES)} kernels x n in {list(sizes)}; rtol {rtol:g}",
        evidence={"max_relative_error": worst, "table": table},
        counterexample=None if holds else counterexample,
    )
