"""Certified brackets ``lower <= ||M||_2 <= upper`` for the spectral norm of conv layers.

Both ends are proven, not estimated:

* **lower** is always the Rayleigh quotient ``||M x|| / ||x||`` of an explicit
  vector ``x`` (returned as :attr:`SpectralNormBounds.vector`), computed with
  the exact operator (:func:`convtheory.conv_matrix` or
  :func:`convtheory.conv_operator`).  Every vector gives a lower bound (up to
  the rounding of one product in float64, a few ulps).
* **upper** is the least of the proofs that apply
  (:mod:`convtheory.gram_certificate`, :mod:`convtheory.circular_bound`):

  - *small layers* (the dense matrix fits :data:`DENSE_ENTRIES`): the top
    eigenvalue of the dense Gram matrix ``M^T M`` (or ``M M^T``) with its
    rounding allowance, or a Cholesky certificate of ``tau^2 I - G`` at the
    Lanczos value;
  - *large layers*: the circular embedding (polyphase DFT, the least over
    several grids, times the norm of the padding operator), tightened to
    ``rtol`` by a band-Cholesky certificate of ``tau^2 I - G`` at
    ``tau = lower (1 + rtol/4)`` where its cost fits :data:`CERTIFICATE_FLOPS`
    and the memory budget; where it does not, :attr:`SpectralNormBounds.method`
    says so and the bracket keeps the ``O(1/n^2)`` width of the embedding.

The lower bound for large layers starts from the top right singular vector of
the frequency matrix at the maximising frequency, modulated by a smooth
window (it loses only ``O(1/n^2)``); warm-started thick-restart Lanczos on
``M^T M`` then improves it.  Circular stride-1 convs with output size = input
size are exactly block-diagonal; there the bracket closes to rounding.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse.linalg

from . import circular_bound as _circ
from .gram_certificate import (CERTIFICATE_FLOPS, banded_cost, banded_flops, block_size,
                               certify_banded, certify_dense, gram_rounding, pixel_major,
                               small_gram, tied_gram, top_eigenpair, workspace)
from .lanczos import MAX_LANCZOS_MATVECS, top_eigenvector
from .matrices import DEFAULT_MAX_BYTES, conv_matrix
from .operators import _fft_eligible, conv_operator, estimate_operator_bytes
from .weights import conv_arguments

__all__ = [
    "CERTIFICATE_FLOPS",
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
#: Below this Gram size LAPACK's eigensolver beats Lanczos plus a Cholesky certificate.
_EIGH_MAX = 400


@dataclass(frozen=True)
class SpectralNormBounds:
    """A guaranteed bracket ``lower <= ||M||_2 <= upper`` of one layer's spectral norm.

    Attributes
    ----------
    lower : float
        ``||M x|| / ||x||`` for :attr:`vector`, computed with the exact operator
        (of the weight scaled by a power of two, then scaled back, where its
        entries are so large or small that their squares would over- or
        underflow: :attr:`method` then says so under ``"scale"``).
    upper : float
        A proven upper bound; :attr:`method` names its source.
    value : float
        The Rayleigh quotient of :attr:`vector`, equal to :attr:`lower`.  It is
        within ``rtol`` of the true norm *guaranteed* when :attr:`converged`
        (the bracket is that narrow); otherwise it is the best proven lower
        end, Lanczos having stopped on its Ritz residual (the Ritz value is
        then within ``rtol`` of *an* eigenvalue, usually the top one), on
        ``max_seconds`` or on its product count.
    vector : ndarray, shape ``input_shape``
        The input that attains :attr:`lower`.
    method : dict
        ``{"lower": ..., "upper": ...}``: how each bound was obtained (and
        ``"scale"`` if the weight was scaled by a power of two).
    iterations : int
        Products with ``M^T M`` spent by Lanczos (0 on the dense and exact paths).
    seconds : float
        Wall time.
    relative_width : float
        ``(upper - lower) / upper``.
    converged : bool
        ``relative_width <= rtol``: :attr:`value` is proven to be within
        ``rtol`` of the norm.
    """

    lower: float
    upper: float
    value: float
    vector: np.ndarray = field(repr=False)
    method: dict
    iterations: int
    seconds: float
    relative_width: float
    converged: bool


def _check_finite_weight(w: np.ndarray, name: str = "weight") -> None:
    if w.dtype == object:
        raise TypeError(f"{name} must be numeric for a spectral norm, got symbolic entries")
    if not np.all(np.isfinite(w)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(w))[0])
        raise ValueError(f"{name} must be finite, got {name}[{bad}]={w[bad]!r}")


#: Weights whose largest entry lies in [2**-_SAFE_EXPONENT, 2**_SAFE_EXPONENT] are used as
#: given; outside, they are scaled by a power of two first: the Gram matrix squares the
#: entries and ``||M x||`` sums their squares, which underflow to 0 (a bracket [0, 0]
#: around a nonzero norm) or overflow to inf beyond that.
_SAFE_EXPONENT = 256
_ETA = np.finfo(np.float64).smallest_subnormal


def power_of_two_scale(w: np.ndarray):
    """``(w * 2**-e, e, lost)``: ``w`` scaled exactly into a safe range (``e = 0`` if it is).

    A Gram matrix squares the entries, so they are kept where their squares
    neither overflow nor underflow (magnitudes within ``2**±_SAFE_EXPONENT``).
    The scaling is exact unless an entry falls below the normal range;
    ``lost`` then says so: what was rounded off is at most ``2**-1074`` per
    entry (in the scaled units), and the caller bounds the norm of its operator.
    :mod:`convtheory.network.norms` scales its dense layers the same way.

    Examples
    --------
    >>> w, e, lost = power_of_two_scale(np.array([3.0e300, -1.0]))
    >>> bool(0.5 <= np.abs(w).max() < 1), lost, bool(np.array_equal(np.ldexp(w, e), [3.0e300, -1.0]))
    (True, False, True)
    >>> power_of_two_scale(np.array([0.5, 2.0]))[1:]
    (0, False)
    """
    parts = [w.real, w.imag] if np.iscomplexobj(w) else [w]
    peak = max((float(np.max(np.abs(p))) if p.size else 0.0) for p in parts)
    if peak == 0.0 or 2.0 ** -_SAFE_EXPONENT <= peak <= 2.0 ** _SAFE_EXPONENT:
        return w, 0, False
    e = math.frexp(peak)[1]
    scaled = [np.ldexp(p, -e) for p in parts]
    exact = all(np.array_equal(np.ldexp(q, e), p) for p, q in zip(parts, scaled))
    w = scaled[0] + 1j * scaled[1] if len(scaled) == 2 else scaled[0]
    return w, e, not exact


def _unscale(lower: float, upper: float, e: int, lost_norm: float):
    """The bracket of ``2**e (M' + E)`` from that of ``M'``, with ``||E|| <= lost_norm``."""
    if lost_norm:  # triangle inequality; the factors cover the rounding of the sums
        upper = (upper + lost_norm) * (1 + 2 * _EPS)
        lower = max(lower - lost_norm, 0.0) * (1 - 2 * _EPS)
    try:
        lo, hi = math.ldexp(lower, e), math.ldexp(upper, e)
    except OverflowError:
        raise ValueError(f"the norm of this layer may exceed the float64 range: its upper "
                         f"bound is {upper!r} x 2**{e}") from None
    if hi < np.finfo(np.float64).tiny:  # subnormal results are rounded: round outwards
        lo, hi = float(np.nextafter(lo, 0.0)), float(np.nextafter(hi, np.inf))
    return lo, hi


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
def _dense_bounds(w, spec, rtol):
    """``(x, upper, M, how)`` from the dense Gram matrix of ``M = conv_matrix(w, spec)``."""
    M = conv_matrix(w, spec)
    rows, cols = M.shape
    # Kept buffers (gram_certificate.workspace): fresh pages cost as much as the Cholesky.
    G = None if rows < cols else tied_gram(w, spec, workspace("gram", (cols, cols)))
    if G is None:
        Gs, wide, form_error = small_gram(M)
        G = Gs.toarray(out=workspace("gram", Gs.shape, Gs.dtype))  # toarray zeroes out first
    else:
        wide, form_error = gram_rounding(scipy.sparse.csr_matrix(M))
    n = G.shape[0]
    upper = None
    if n > _EIGH_MAX and not np.iscomplexobj(G):
        # Lanczos (ARPACK, on the dense Gram matrix) for the top pair, then one Cholesky
        # proves tau^2 I - G >= 0: about n^3/3 flops against the 4n^3/3 of tridiagonalising.
        # The Ritz value's error is about the square of its residual over the gap: a
        # residual of 1e-8 relative gave it to 1e-15 on P-Net's first layer (1e-6 left
        # 2e-12, too much for the certificate at 1e-12, which then proved only rtol / 2).
        # The certificate says whether it was close enough; a looser one follows if not.
        try:
            lam, vec = scipy.sparse.linalg.eigsh(G, k=1, which="LA", tol=min(1e-8, rtol / 100),
                                                 v0=np.ones(n), ncv=min(n, 16))
        except scipy.sparse.linalg.ArpackError:  # no convergence; or G v0 = 0 (G = 0)
            lam = None
        for slack in ((max(1e-12, 8 * n * _EPS), rtol / 2) if lam is not None else ()):
            bound = certify_dense(G, float(lam[0]) * (1 + slack))
            if bound is None:
                continue
            # The factorisation's rounding shift is about n^2 eps of tau^2, LAPACK's
            # eigenvalue's 8 n eps: below the certificate's width, and only there, the
            # eigensolver closes a bracket the certificate cannot (a looser tau is wider).
            tau = math.sqrt(bound + form_error) * (1 + 2 * _EPS)
            if tau * (1 - rtol) <= math.sqrt(float(lam[0])):
                upper = tau
                how = ("dense Gram Cholesky certificate at the Lanczos value (a-posteriori "
                       "Rump 2006; Higham Thm 10.3 and eq. 3.13)")
            break
    if upper is None:
        lam, top = top_eigenpair(G)
        vec = top[:, None]
        lam = max(lam, 0.0)
        upper = math.sqrt(lam * (1 + 8 * n * _EPS) + form_error)
        how = "dense Gram eigenvalue + rounding allowance (Higham eq. 3.13; LAPACK syevr)"
    x = M.conj().T @ vec[:, 0] if wide else vec[:, 0]
    return x, upper, M, how


# --------------------------------------------------------------------------
# Large layers: the band-Cholesky certificate at the Lanczos value
# --------------------------------------------------------------------------
def _certificate(w, spec, lower, rtol, max_bytes):
    """``(upper or None, note)``: a band-Cholesky proof of ``||M|| <= lower (1 + rtol/4)``."""
    rows, cols = spec.matrix_shape
    wide = rows < cols
    n, band = banded_cost(spec, wide)
    flops = banded_flops(n, band)
    nnz = rows * spec.in_channels_per_group * int(np.prod(spec.kernel_size))
    nb = min(block_size(band), n)
    need = 8 * 4 * nb * nb + 40 * nnz + 24 * n * (2 * band + 1)
    if flops > CERTIFICATE_FLOPS or need > max_bytes:
        return None, (f"no Cholesky certificate: the {n:,} x {n:,} Gram matrix has bandwidth "
                      f"{band:,}, about {flops:.2g} flops (CERTIFICATE_FLOPS="
                      f"{CERTIFICATE_FLOPS:.2g}) and {need / 2**20:,.0f} MiB")
    G, wide, form_error = small_gram(conv_matrix(w, spec))
    if not np.any(G.data):  # every tap reads padding: no tau > lower = 0 to factor at
        return math.sqrt(form_error), "the Gram matrix is zero (to its rounding allowance)"
    spatial = spec.output_spatial if wide else spec.input_spatial
    channels = spec.out_channels if wide else spec.in_channels
    order = pixel_major(channels, int(np.prod(spatial)))
    for slack in (rtol / 4, rtol * 0.9):  # the second try forgives a less converged Ritz value
        bound = certify_banded(G, (lower * (1 + slack)) ** 2, order)
        if bound is not None:
            return math.sqrt(bound + form_error) * (1 + 2 * _EPS), (
                f"band Cholesky certificate of tau^2 I - G, tau = lower x (1 + {slack:.2g}), "
                f"{n:,} x {n:,}, bandwidth {band:,} (a-posteriori Rump 2006; Higham Thm 10.3)")
    return None, "the Cholesky certificate failed at tau = lower x (1 + 0.9 rtol)"



def conv_spectral_norm_bounds(weight, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
                              padding_mode="zeros", rtol=1e-4, max_seconds=None,
                              max_bytes=DEFAULT_MAX_BYTES, seed=0) -> SpectralNormBounds:
    """A guaranteed bracket of the largest singular value of a conv layer.

    The bounds and their sources are described in the module docstring:
    the lower bound is always the Rayleigh quotient of :attr:`~SpectralNormBounds.vector`
    under the exact operator; the upper bound is the least of the dense Gram
    eigenvalue or Cholesky certificate (small layers), the exact DFT value
    (circular stride-1 convs), the circular embedding times the norm of the
    padding operator, and the band-Cholesky certificate at
    ``tau = lower (1 + rtol/4)`` where its cost fits :data:`CERTIFICATE_FLOPS`.

    Parameters
    ----------
    weight : (C_out, C_in/groups, k1, ..., kd) array_like
        Finite real (or complex) numbers.
    input_shape : tuple of int, or ConvSpec
        ``(C_in, n1, ..., nd)``.
    stride, padding, dilation, groups, padding_mode
        As in :func:`convtheory.conv_matrix` (cross-correlation, PyTorch's names).
    rtol : float in (0, 1)
        The target relative width.  Lanczos stops when the bracket is this
        narrow relative to ``upper``, or when the Ritz residual is this small
        relative to the Ritz value; the certificate then tries to prove
        ``upper = lower (1 + rtol/4)``.  ``rtol=1e-8`` asks for the value to
        about 8 digits; :attr:`SpectralNormBounds.converged` says whether the
        bracket proves it.
    max_seconds : float, optional
        Stop improving the lower bound after this long; the bracket is still
        guaranteed, only wider.  Without it at most 20,000 products with
        ``M^T M`` are spent.
    max_bytes : int
        Refuse, before allocating, to need more memory than this (the
        operator's buffers, the Lanczos basis, one frequency matrix).
    seed : int
        Seeds the start vector when no frequency vector is available, and the
        second Lanczos run, from a random start, when the first one (warm
        started) ends in an invariant subspace with the bracket wider than
        ``rtol``.

    Returns
    -------
    SpectralNormBounds

    Raises
    ------
    ValueError
        Non-finite weights, ``rtol`` outside (0, 1), a bad ``max_seconds`` or
        ``max_bytes``, an empty input or output, a layer over the memory
        budget, or a norm beyond the float64 range.
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
    # Every allowance below is for float64 rounding: float32 (or integer) weights are
    # converted, exactly, before a Gram matrix or a product is formed in their precision.
    w = w.astype(np.result_type(w.dtype, np.float64), copy=False)
    _check_args(rtol, max_seconds, max_bytes)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got seed={seed!r}")
    deadline = None if max_seconds is None else start + float(max_seconds)
    w, exponent, lossy = power_of_two_scale(w)
    rows, cols = spec.matrix_shape
    if rows == 0 or cols == 0:  # as linear_spectral_norm: no vector attains a norm there
        raise ValueError(f"conv_spectral_norm_bounds needs a non-empty matrix, got "
                         f"input_shape={spec.input_shape} and output_shape={spec.output_shape}: "
                         f"a {rows} x {cols} matrix")
    real = not np.iscomplexobj(w)
    if not _fft_eligible(spec) and rows * cols <= DENSE_ENTRIES and (
            16 * rows * cols <= max_bytes):
        x, upper, op, how = _dense_bounds(w, spec, rtol)
        method, iterations = {
            "lower": "Rayleigh quotient of the top eigenvector of the dense Gram matrix",
            "upper": how,
        }, 0
    else:
        needed = estimate_operator_bytes(spec) + 2 * 24 * 16 * cols
        if needed > max_bytes:
            raise ValueError(
                f"conv_spectral_norm_bounds would need about {needed / 2**20:,.0f} MiB (the "
                f"operator's im2col buffers and the Lanczos basis), over max_bytes={max_bytes:,}; "
                f"use a smaller input or pass a larger max_bytes")
        upper, where, poly, arg, exact = _circ.circular_upper(w, spec, deadline, max_bytes)
        op = conv_operator(w, spec, max_bytes=max_bytes)
        x = _circ.modulated_vector(spec, poly, arg, exact)
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
            u, iterations, invariant = top_eigenvector(op, x0.real if real else x0, rtol=rtol,
                                                       upper=upper, deadline=deadline)
            if _rayleigh(op, u) > _rayleigh(op, x0):
                x = u.reshape(spec.input_shape)
                method["lower"] = ("Rayleigh quotient of the thick-restart Lanczos vector, "
                                   "warm-started from the modulated top frequency vector")
            lower = _rayleigh(op, x.ravel())
            left = MAX_LANCZOS_MATVECS - iterations
            if invariant and upper - lower > rtol * upper and left > 0 and (
                    deadline is None or time.perf_counter() < deadline):
                # The warm start can lie in an invariant subspace without the top vector
                # (a wide layer of low rank): Lanczos then stops on an exact but smaller
                # Ritz value.  A random start has a component along every eigenvector.
                rng = np.random.default_rng(seed)
                r = rng.standard_normal(cols)
                if not real:
                    r = r + 1j * rng.standard_normal(cols)
                u, more, _ = top_eigenvector(op, r, rtol=rtol, upper=upper, deadline=deadline,
                                             max_matvecs=left)
                iterations += more
                if _rayleigh(op, u) > lower:
                    x = u.reshape(spec.input_shape)
                    method["lower"] = ("Rayleigh quotient of the thick-restart Lanczos vector, "
                                       "restarted from a random vector")
                    lower = _rayleigh(op, x.ravel())
            if real and upper - lower > rtol * upper and (
                    deadline is None or time.perf_counter() < deadline):
                tight, note = _certificate(w, spec, lower, rtol, max_bytes)
                if tight is not None and tight < upper:
                    upper, method["upper"] = tight, note
                else:
                    method["upper"] += "; " + note
    x = x.ravel()
    lower = _rayleigh(op, x)
    if exponent:
        # ||E||_F: at most nnz entries, each a sum of at most prod(k) losses (folded padding)
        taps = int(np.prod(spec.kernel_size))
        nnz = rows * spec.in_channels_per_group * taps
        lower, upper = _unscale(lower, float(upper), exponent,
                                2 * math.sqrt(nnz) * taps * _ETA if lossy else 0.0)
        method["scale"] = (f"weight scaled by 2**{-exponent} (its entries would under- or "
                           f"overflow when squared); both bounds scaled back")
    if lower > upper:  # a proven bound cannot be crossed; if it is, the code is wrong
        raise RuntimeError(f"internal error: lower bound {lower!r} > upper bound {upper!r}")
    width = float((upper - lower) / upper) if upper > 0 else 0.0
    return SpectralNormBounds(
        lower=lower, upper=float(upper), value=lower, vector=x.reshape(spec.input_shape),
        method=method, iterations=int(iterations), seconds=time.perf_counter() - start,
        relative_width=width, converged=width <= rtol)


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
    w = w.astype(np.result_type(w.dtype, np.float64), copy=False)  # float32 SVD: 7 digits
    if w.size <= DENSE_ENTRIES or min(w.shape) == 1:
        return float(np.linalg.svd(w, compute_uv=False)[0])
    # ARPACK's products underflow or overflow with entries far from 1 (it fails with "starting
    # vector is zero"); LAPACK's SVD above scales by itself.  Exact but for subnormals.
    w, e, _ = power_of_two_scale(w)
    v0 = np.random.default_rng(20190506).standard_normal(min(w.shape))
    value = float(svds(w, k=1, tol=tol, v0=v0, return_singular_vectors=False)[0])
    try:
        return math.ldexp(value, e)
    except OverflowError:
        raise ValueError(f"the norm of this weight exceeds the float64 range: "
                         f"{value!r} x 2**{e}") from None


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
