"""Certified brackets ``lower <= ||M||_2 <= upper`` for the spectral norm of conv layers.

Both ends are proven, not estimated:

* **lower** is always the Rayleigh quotient ``||M x|| / ||x||`` of an explicit
  vector ``x`` (returned as :attr:`SpectralNormBounds.vector`), computed with
  the exact operator (:func:`convtheory.conv_matrix` or
  :func:`convtheory.conv_operator`).  Every vector gives a lower bound (up to
  the rounding of one product in float64, a few ulps).
* **upper** depends on the size of the layer:

  - *small layers* (the dense matrix fits :data:`DENSE_ENTRIES`): the top
    eigenvalue of the dense Gram matrix ``M^T M`` (or ``M M^T``), plus the
    rounding-error allowance of forming it (Higham, *Accuracy and Stability
    of Numerical Algorithms*, 2002, eq. 3.13: ``|fl(M^T M) - M^T M| <=
    gamma_m |M|^T |M|``, and ``|| |M|^T |M| ||_2 <= ||M||_F^2``) and of
    LAPACK's backward-stable ``syevr`` (``8 n eps lambda``);
  - *large layers*: the circular embedding.  Any padding is a linear padding
    operator ``P`` (zero embedding, or the copies of reflect, replicate,
    circular) followed by the *valid* conv ``V`` on the padded grid, so
    ``||M|| <= ||V|| ||P||`` with ``||P|| = sqrt(max copies of one input)``
    (``P^T P`` is diagonal; 1 for zero padding).  ``V`` is a compression
    (rows and columns subset) of the circular conv of the same stride on any
    grid ``m >= n + lo + hi`` divisible by the stride, so ``||V|| <= ||C_m||``.
    A stride-``s`` circular conv is a stride-1 conv of the ``s^d`` polyphase
    components of its input (Vaidyanathan, *Multirate Systems and Filter
    Banks*, 1993, ch. 4), which the DFT block-diagonalises into one
    ``C_out/g x (C_in/g s^d)`` matrix per frequency (Sedghi, Gupta & Long,
    ICLR 2019), so ``||C_m|| = max_f sigma_max(H(f))`` exactly.  Several
    grids are tried and the smallest bound is kept.

The lower bound for large layers starts from the top right singular vector of
``H(f*)`` at the maximising frequency, modulated by the smooth window
``prod sin(pi (j+1) / (n+1))``, which loses only ``O(1/n^2)``; warm-started
thick-restart Lanczos on ``M^T M`` then improves it.  Lanczos never moves the
upper bound: for large inputs the bracket keeps the width of the circular
embedding, ``O(1/n^2)`` relative, and :attr:`SpectralNormBounds.relative_width`
says so honestly.  Circular stride-1 convs with output size = input size are
exactly block-diagonal; there the bracket closes to rounding.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from .geometry import axis_taps
from .spec import ConvSpec
from .matrices import DEFAULT_MAX_BYTES, conv_matrix
from .operators import _fft_eligible, conv_operator, estimate_operator_bytes
from .weights import conv_arguments

__all__ = [
    "DENSE_ENTRIES",
    "SpectralNormBounds",
    "conv_spectral_norm_bounds",
    "linear_spectral_norm",
    "reshaped_spectral_norm",
]

#: Up to this many matrix entries (32 MB in float64) the dense Gram eigenvalue is
#: cheaper than anything iterative, and exact to rounding.
DENSE_ENTRIES = 4_000_000
_EPS = np.finfo(np.float64).eps
_MAX_LANCZOS_MATVECS = 20_000  # every count bounded, even with max_seconds=None
_CHUNK_BYTES = 64 * 2**20      # frequency matrices are built in chunks of this size
_GRID_SECONDS = 1.0            # time after which no further embedding grid is tried


@dataclass(frozen=True)
class SpectralNormBounds:
    """A guaranteed bracket ``lower <= ||M||_2 <= upper`` of one layer's spectral norm.

    Attributes
    ----------
    lower : float
        ``||M x|| / ||x||`` for :attr:`vector`, computed with the exact operator.
    upper : float
        A proven upper bound; :attr:`method` names its source.
    value : float
        The best estimate (the converged Rayleigh quotient, so ``value == lower``
        unless the bracket is exact to rounding).
    vector : ndarray, shape ``input_shape``
        The input that attains :attr:`lower`.
    method : dict
        ``{"lower": ..., "upper": ...}``: how each bound was obtained.
    iterations : int
        Products with ``M^T M`` spent by Lanczos (0 on the dense and exact paths).
    seconds : float
        Wall time.
    relative_width : float
        ``(upper - lower) / upper``.
    """

    lower: float
    upper: float
    value: float
    vector: np.ndarray = field(repr=False)
    method: dict
    iterations: int
    seconds: float
    relative_width: float


def _check_finite_weight(w: np.ndarray, name: str = "weight") -> None:
    if w.dtype == object:
        raise TypeError(f"{name} must be numeric for a spectral norm, got symbolic entries")
    if not np.all(np.isfinite(w)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(w))[0])
        raise ValueError(f"{name} must be finite, got {name}[{bad}]={w[bad]!r}")


def _check_args(rtol, max_seconds, max_bytes):
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating)) or not (
            0 < rtol < 1):
        raise ValueError(f"rtol must be a float in (0, 1), got rtol={rtol!r}")
    if max_seconds is not None and (
            isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float, np.floating))
            or not max_seconds > 0 or not math.isfinite(max_seconds)):
        raise ValueError(f"max_seconds must be None or a finite float > 0, got "
                         f"max_seconds={max_seconds!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 0:
        raise ValueError(f"max_bytes must be an int >= 0, got max_bytes={max_bytes!r}")


# --------------------------------------------------------------------------
# Small layers: the dense Gram matrix
# --------------------------------------------------------------------------
def _dense_bounds(w, spec):
    M = conv_matrix(w, spec)
    rows, cols = M.shape
    wide = rows < cols
    # the smaller Gram matrix, by a sparse product (each entry sums fewer than m terms)
    G = (M @ M.conj().T if wide else M.conj().T @ M).toarray()
    n, m = G.shape[0], cols if wide else rows
    lam, vec = scipy.linalg.eigh(G, subset_by_index=[n - 1, n - 1])
    lam = max(float(lam[0]), 0.0)
    gamma = m * _EPS / (1 - m * _EPS)
    upper = math.sqrt(lam * (1 + 8 * n * _EPS) + gamma * float(np.sum(np.abs(M.data) ** 2)))
    x = M.conj().T @ vec[:, 0] if wide else vec[:, 0]
    return x, upper, M


# --------------------------------------------------------------------------
# Large layers: the circular embedding, per frequency
# --------------------------------------------------------------------------
def _valid_spec(spec: ConvSpec) -> ConvSpec:
    """The valid conv on the padded grid: ``M = V P``."""
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spec.input_spatial, spec.padding))
    return ConvSpec(spec.weight_shape, (spec.in_channels,) + padded, stride=spec.stride,
                    padding=0, dilation=spec.dilation, groups=spec.groups, flip=spec.flip)


def _padding_tables(spec: ConvSpec) -> list:
    """Per axis, the input index each padded position copies (-1: a zero)."""
    return [axis_taps(n, 1, padding=p, padding_mode=spec.padding_mode)[:, 0]
            for n, p in zip(spec.input_spatial, spec.padding)]


def _padding_norm(spec: ConvSpec) -> float:
    """``||P||``: ``P^T P`` is diagonal with the number of copies of each input."""
    copies = 1
    for table in _padding_tables(spec):
        copies *= int(np.bincount(table[table >= 0]).max())
    return math.sqrt(copies)


class _Polyphase:
    """The stride-``s`` circular conv of one grid, block-diagonalised by the DFT.

    With ``c_a`` the position tap ``a`` reads for output 0, ``c_a = s u_a + p_a``,
    ``y[o] = sum_a w_a x_{p_a}[o + u_a]`` on the grid ``q = m / s``, so
    ``H(theta) = sum_a w_a exp(i theta u_a) e_{p_a}^T``.
    """

    def __init__(self, w, spec: ConvSpec, offsets, grid):
        self.spec, self.grid = spec, tuple(grid)
        s = spec.stride
        self.q = tuple(m // si for m, si in zip(grid, s))
        g = spec.groups
        self.wg = w.reshape(g, spec.out_channels_per_group, spec.in_channels_per_group, -1)
        # per-axis polyphase class and shift of each kernel position, in weight order
        cls, shifts = [], []
        for ax, (c, si) in enumerate(zip(offsets, s)):
            c = np.asarray(c, dtype=np.int64)[np.argsort(spec.kernel_order(ax))]
            cls.append(np.mod(c, si))
            shifts.append(np.floor_divide(c, si))
        grids = np.meshgrid(*cls, indexing="ij")
        self.cls = np.ravel_multi_index([a.ravel() for a in grids], s)  # (A,)
        self.shifts = [a.ravel() for a in np.meshgrid(*shifts, indexing="ij")]
        self.n_phases = int(np.prod(s))
        co, ci = self.wg.shape[1:3]
        sel = np.zeros((g, co, ci, self.n_phases, self.cls.size), dtype=self.wg.dtype)
        sel[..., self.cls, np.arange(self.cls.size)] = self.wg
        self.sel = sel.reshape(g, co * ci * self.n_phases, -1)
        self.real = not np.iscomplexobj(w)

    def frequencies(self) -> np.ndarray:
        """Frequency indices; for real weights ``H(-f) = conj H(f)``: half the last axis."""
        ranges = [np.arange(q) for q in self.q]
        if self.real:
            ranges[-1] = np.arange(self.q[-1] // 2 + 1)
        mesh = np.meshgrid(*ranges, indexing="ij")
        return np.stack([a.ravel() for a in mesh], axis=1)

    def matrices(self, group: int, freqs: np.ndarray) -> np.ndarray:
        theta = 2 * np.pi * freqs / np.array(self.q)  # (F, d)
        phase = np.exp(1j * sum(theta[:, [ax]] * self.shifts[ax][None, :]
                                for ax in range(len(self.q))))  # (F, A)
        co, ci = self.wg.shape[1:3]
        H = phase @ self.sel[group].T  # (F, co*ci*P)
        return H.reshape(-1, co, ci * self.n_phases)

    def norm(self, max_bytes: int):
        """``max_f sigma_max(H(f))`` over groups, with the maximiser ``(group, f)``."""
        freqs = self.frequencies()
        co, cip = self.wg.shape[1], self.wg.shape[2] * self.n_phases
        per = 16 * co * cip * 3
        if per > max_bytes:
            raise ValueError(
                f"conv_spectral_norm_bounds: one frequency matrix needs about {per / 2**20:,.0f} "
                f"MiB, over max_bytes={max_bytes:,}; pass a larger max_bytes")
        chunk = max(1, min(len(freqs), min(_CHUNK_BYTES, max_bytes) // per))
        best, arg = -1.0, None
        for g in range(self.wg.shape[0]):
            for start in range(0, len(freqs), chunk):
                f = freqs[start:start + chunk]
                s = np.linalg.svd(self.matrices(g, f), compute_uv=False)[:, 0]
                i = int(np.argmax(s))
                if s[i] > best:
                    best, arg = float(s[i]), (g, f[i])
        return best, arg


def _candidate_grids(base, stride, exact: bool) -> list:
    """Grids ``m >= base`` divisible by the stride; each gives a valid bound, the least is kept."""
    first = tuple(-(-n // s) * s for n, s in zip(base, stride))
    if exact:
        return [first]
    return [tuple(m + e * s for m, s in zip(first, stride)) for e in range(4)]


def _circular_upper(w, spec: ConvSpec, deadline, max_bytes):
    """``||P|| min_m ||C_m||`` over a few grids ``m``, and the data for the lower bound."""
    exact = _fft_eligible(spec)
    vspec = spec if exact else _valid_spec(spec)
    offsets = [vspec.axis_table(ax)[0] for ax in range(spec.ndim)]
    base = spec.input_spatial if exact else vspec.input_spatial
    s = spec.stride
    grids = _candidate_grids(base, s, exact)
    gain = 1.0 if exact else _padding_norm(spec)
    best, begin = None, time.perf_counter()
    for grid in grids:
        # Each further grid may only shave the O(1/n^2) excess; try them while cheap.
        if best is not None and time.perf_counter() - begin > _GRID_SECONDS:
            break
        poly = _Polyphase(w, vspec, offsets, grid)
        bound, arg = poly.norm(max_bytes)
        # rounding of the DFT sums and the SVD: a few eps per term
        bound *= 1 + 16 * _EPS * (poly.cls.size + poly.sel.shape[1])
        if best is None or bound < best[0]:
            best = (bound, poly, arg)
        if deadline is not None and time.perf_counter() > deadline:
            break
    bound, poly, arg = best
    upper = bound * gain
    where = ("exact: circular stride-1 conv, DFT block-diagonalisation (Sedghi et al. 2019)"
             if exact else
             f"circular embedding: ||P||={gain:.6g} x max_f sigma_max(H(f)) of the stride-"
             f"{tuple(s)} circular conv on grid {poly.grid} (polyphase DFT; Sedghi et al. 2019)")
    return upper, where, poly, arg, exact


def _modulated_vector(spec: ConvSpec, poly: _Polyphase, arg, exact: bool) -> np.ndarray:
    """``x[c, j] = v[c, p(t)] exp(i theta . tau(t)) window(j)`` at padded position ``t`` of ``j``."""
    g, f = arg
    H = poly.matrices(g, f[None, :])[0]
    v = np.linalg.svd(H)[2][0].conj()  # top right singular vector, (ci * P,)
    ci = spec.in_channels_per_group
    v = v.reshape(ci, poly.n_phases)
    if exact:
        positions = [np.arange(n) for n in spec.input_spatial]
    else:
        positions = [np.flatnonzero(np.asarray(axis_taps(n, 1, padding=p)[:, 0]) >= 0)
                     for n, p in zip(spec.input_spatial, spec.padding)]
    mesh = np.meshgrid(*positions, indexing="ij")
    s = spec.stride
    phase_idx = np.ravel_multi_index([np.mod(t, si) for t, si in zip(mesh, s)], s)
    theta = 2 * np.pi * f / np.array(poly.q)
    wave = np.exp(1j * sum(th * np.floor_divide(t, si) for th, t, si in zip(theta, mesh, s)))
    if not exact:
        for ax, n in enumerate(spec.input_spatial):
            shape = [1] * spec.ndim
            shape[ax] = n
            wave = wave * np.sin(np.pi * (np.arange(n) + 1) / (n + 1)).reshape(shape)
    x = np.zeros(spec.input_shape, dtype=complex)
    x[g * ci:(g + 1) * ci] = v[:, phase_idx] * wave[None]
    return x


def _lanczos(op, x0, *, rtol, upper, deadline, ncv=24, keep=6):
    """Thick-restart Lanczos (Wu & Simon 2000) for the top eigenpair of ``M^T M``.

    Full reorthogonalisation and an explicit Rayleigh-Ritz projection at each
    restart: robust, and each step costs one product with ``M`` and one with
    ``M^T``.  Stops when the Ritz residual is below ``rtol`` relative, the
    bracket ``[sqrt(theta), upper]`` is narrower than ``rtol``, the deadline
    passes, or after :data:`_MAX_LANCZOS_MATVECS` products.
    """
    n = x0.size
    ncv = min(ncv, n)
    keep = min(keep, ncv - 1)

    def apply(v):
        return op.rmatvec(op.matvec(v))

    V = np.empty((n, ncv), dtype=x0.dtype)
    AV = np.empty((n, ncv), dtype=x0.dtype)
    V[:, 0] = x0 / np.linalg.norm(x0)
    AV[:, 0] = apply(V[:, 0])
    j, count = 1, 1
    while True:
        while j < ncv:
            r = AV[:, j - 1].copy()
            for _ in range(2):  # twice is enough (Kahan, Parlett)
                r -= V[:, :j] @ (V[:, :j].conj().T @ r)
            nr = np.linalg.norm(r)
            if nr <= 1e-14 * np.linalg.norm(AV[:, j - 1]):
                break  # invariant subspace: the Ritz values are exact
            V[:, j] = r / nr
            AV[:, j] = apply(V[:, j])
            j, count = j + 1, count + 1
        T = V[:, :j].conj().T @ AV[:, :j]
        theta, Y = np.linalg.eigh((T + T.conj().T) / 2)
        u = V[:, :j] @ Y[:, -1]
        res = np.linalg.norm(AV[:, :j] @ Y[:, -1] - theta[-1] * u)
        top = max(theta[-1], 0.0)
        done = (res <= rtol * top or j < ncv or count >= _MAX_LANCZOS_MATVECS
                or upper - math.sqrt(top) <= rtol * upper
                or (deadline is not None and time.perf_counter() > deadline))
        if done:
            return u, count
        Yk = Y[:, ::-1][:, :keep]
        V[:, :keep] = V[:, :j] @ Yk
        AV[:, :keep] = AV[:, :j] @ Yk
        j = keep


def conv_spectral_norm_bounds(weight, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
                              padding_mode="zeros", rtol=1e-4, max_seconds=None,
                              max_bytes=DEFAULT_MAX_BYTES, seed=0) -> SpectralNormBounds:
    """A guaranteed bracket of the largest singular value of a conv layer.

    The bounds and their sources are described in the module docstring:
    the lower bound is always the Rayleigh quotient of :attr:`~SpectralNormBounds.vector`
    under the exact operator; the upper bound is the dense Gram eigenvalue
    with its rounding allowance (small layers), exact for circular stride-1
    convs, and otherwise the circular embedding with polyphase DFT times the
    norm of the padding operator.

    Parameters
    ----------
    weight : (C_out, C_in/groups, k1, ..., kd) array_like
        Finite real (or complex) numbers.
    input_shape : tuple of int, or ConvSpec
        ``(C_in, n1, ..., nd)``.
    stride, padding, dilation, groups, padding_mode
        As in :func:`convtheory.conv_matrix` (cross-correlation, PyTorch's names).
    rtol : float in (0, 1)
        Stop Lanczos when the bracket is this narrow relative to ``upper``, or
        when the Ritz residual is this small relative to the Ritz value
        (``rtol=1e-8`` asks for the value to about 8 digits).
    max_seconds : float, optional
        Stop improving the lower bound after this long; the bracket is still
        guaranteed, only wider.  Without it at most 20,000 products with
        ``M^T M`` are spent.
    max_bytes : int
        Refuse, before allocating, to need more memory than this (the
        operator's buffers, the Lanczos basis, one frequency matrix).
    seed : int
        Seeds the start vector when no frequency vector is available.

    Returns
    -------
    SpectralNormBounds

    Raises
    ------
    ValueError
        Non-finite weights, ``rtol`` outside (0, 1), a bad ``max_seconds`` or
        ``max_bytes``, or a layer over the memory budget.
    TypeError
        Symbolic weights.

    Examples
    --------
    The difference kernel with zero padding: ``2 cos(pi / 2n)`` exactly
    (``n x n`` valid part of ``tridiag(-1, 2, -1)``), inside the bracket:

    >>> b = conv_spectral_norm_bounds([1.0, -1.0], (200,))
    >>> exact = 2 * np.cos(np.pi / 400)
    >>> bool(b.lower <= exact * (1 + 1e-15) and exact <= b.upper), b.relative_width < 1e-10
    (True, True)
    >>> M = conv_matrix([1.0, -1.0], (200,))
    >>> x = b.vector.ravel()
    >>> bool(np.linalg.norm(M @ x) / np.linalg.norm(x) == b.lower)
    True
    """
    start = time.perf_counter()
    w, spec = conv_arguments(weight, input_shape, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, padding_mode=padding_mode)
    _check_finite_weight(w)
    _check_args(rtol, max_seconds, max_bytes)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got seed={seed!r}")
    deadline = None if max_seconds is None else start + float(max_seconds)
    rows, cols = spec.matrix_shape
    real = not np.iscomplexobj(w)
    if not _fft_eligible(spec) and rows * cols <= DENSE_ENTRIES and (
            16 * rows * cols <= max_bytes):
        x, upper, op = _dense_bounds(w, spec)
        method, iterations = {
            "lower": "Rayleigh quotient of the top eigenvector of the dense Gram matrix",
            "upper": "dense Gram eigenvalue + rounding allowance (Higham eq. 3.13; LAPACK syevr)",
        }, 0
    else:
        needed = estimate_operator_bytes(spec) + 2 * 24 * 16 * cols
        if needed > max_bytes:
            raise ValueError(
                f"conv_spectral_norm_bounds would need about {needed / 2**20:,.0f} MiB (the "
                f"operator's im2col buffers and the Lanczos basis), over max_bytes={max_bytes:,}; "
                f"use a smaller input or pass a larger max_bytes")
        upper, where, poly, arg, exact = _circular_upper(w, spec, deadline, max_bytes)
        op = conv_operator(w, spec, max_bytes=max_bytes)
        x = _modulated_vector(spec, poly, arg, exact)
        if real:  # the real and imaginary parts each mix +f and -f, which have the same norm
            parts = [x.real, x.imag]
            x = max(parts, key=lambda p: _rayleigh(op, p.ravel()))
        method = {"lower": "Rayleigh quotient of the top frequency vector"
                           + ("" if exact else " modulated by a sine window"),
                  "upper": where}
        iterations = 0
        if not exact:
            x0 = x.ravel()
            if not np.any(x0):
                x0 = np.random.default_rng(seed).standard_normal(cols)
            u, iterations = _lanczos(op, x0.real if real else x0, rtol=rtol, upper=upper,
                                     deadline=deadline)
            if _rayleigh(op, u) > _rayleigh(op, x0):
                x = u.reshape(spec.input_shape)
                method["lower"] = ("Rayleigh quotient of the thick-restart Lanczos vector, "
                                   "warm-started from the modulated top frequency vector")
    x = x.ravel()
    lower = _rayleigh(op, x)
    if lower > upper:  # a proven bound cannot be crossed; if it is, the code is wrong
        raise RuntimeError(f"internal error: lower bound {lower!r} > upper bound {upper!r}")
    return SpectralNormBounds(
        lower=lower, upper=float(upper), value=lower, vector=x.reshape(spec.input_shape),
        method=method, iterations=int(iterations), seconds=time.perf_counter() - start,
        relative_width=float((upper - lower) / upper) if upper > 0 else 0.0)


def _rayleigh(op, x) -> float:
    nx = np.linalg.norm(x)
    return float(np.linalg.norm(op @ x) / nx) if nx > 0 else 0.0


# --------------------------------------------------------------------------
# Dense layers and the reshaped-weight norm
# --------------------------------------------------------------------------
def linear_spectral_norm(weight, *, tol: float = 0.0) -> float:
    """The largest singular value of a dense weight ``(out_features, in_features)``.

    A dense SVD up to :data:`DENSE_ENTRIES` entries; above, Lanczos
    bidiagonalisation (``scipy.sparse.linalg.svds``, ARPACK) to ``tol``
    (0: machine precision).

    Examples
    --------
    >>> linear_spectral_norm([[3.0, 0.0], [0.0, -4.0]])
    4.0
    """
    from scipy.sparse.linalg import svds
    w = np.asarray(weight)
    if w.dtype == object or not np.issubdtype(w.dtype, np.number):
        raise TypeError(f"weight must be a numeric array, got dtype {w.dtype}")
    if w.ndim != 2 or 0 in w.shape:
        raise ValueError(f"weight must be a non-empty 2-D array (out, in), got shape {w.shape}")
    _check_finite_weight(w)
    if w.size <= DENSE_ENTRIES or min(w.shape) == 1:
        return float(np.linalg.svd(w, compute_uv=False)[0])
    v0 = np.random.default_rng(20190506).standard_normal(min(w.shape))
    return float(svds(w, k=1, tol=tol, v0=v0, return_singular_vectors=False)[0])


def reshaped_spectral_norm(weight, *, dim: int = 0) -> float:
    """The norm ``torch.nn.utils.spectral_norm`` normalises by: not the layer's norm.

    The largest singular value of the weight with axis ``dim`` moved first
    and the rest flattened: ``(C_out, C_in/groups * prod(k))`` for a conv
    (``dim=0``), ``(C_out/groups, C_in * prod(k))`` for a transposed conv
    (``dim=1``, as torch uses for ``ConvTranspose``).  It ignores the input
    size, stride and padding; the operator norm can be larger or smaller
    (Miyato et al., ICLR 2018, approximate the conv by this matrix).

    Examples
    --------
    A 1x1 conv is exactly the matrix, so both norms agree:

    >>> w = np.array([[[[3.0]], [[4.0]]]])
    >>> reshaped_spectral_norm(w), linear_spectral_norm(w.reshape(1, 2))
    (5.0, 5.0)
    """
    w = np.asarray(weight)
    if w.dtype == object or not np.issubdtype(w.dtype, np.number):
        raise TypeError(f"weight must be a numeric array, got dtype {w.dtype}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not -w.ndim <= dim < w.ndim:
        raise ValueError(f"dim must be an int in [-{w.ndim}, {w.ndim}), got dim={dim!r}")
    return linear_spectral_norm(np.moveaxis(w, dim, 0).reshape(w.shape[dim], -1))
