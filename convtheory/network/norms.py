"""Spectral norms of one layer: a guaranteed bracket, the reshaped-weight value and the circular one.

:func:`layer_norm_bounds` is the single entry point the network analysis
uses for a layer's exact norm.  Where the matrix fits (at most
:data:`DENSE_ENTRIES` entries) it is the dense SVD, exact to rounding.
Otherwise the lower end is the Rayleigh quotient ``||A v|| / ||v||`` of the
vector Lanczos found, and the upper end is the smaller of two guaranteed
bounds: the circular conv on a grid that holds the zero-padded one (a
zero-padded, strided conv is a block of it, so its norm is no larger), and
Schur's test ``sqrt(||A||_1 ||A||_inf)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.sparse.linalg import svds

from ..checks.spectra import conv_singular_values
from ..spec import ConvSpec
from ..matrices import DEFAULT_MAX_BYTES, conv_matrix
from ..operators import conv_operator

__all__ = ["DENSE_ENTRIES", "NormBracket", "circular_norm", "layer_norm_bounds", "reshaped_norm"]

#: Largest matrix (entries) whose norm is taken by a dense SVD.
DENSE_ENTRIES = 4_000_000

#: Relative rounding allowance of a dense SVD's largest singular value.
_ROUNDING = 1e-12


class NormBracket(NamedTuple):
    """A guaranteed ``lower <= ||A||_2 <= upper``, the best value, its vector and the method."""

    lower: float
    upper: float
    value: float
    vector: np.ndarray | None
    method: str


def _dense(A: np.ndarray) -> NormBracket:
    value = float(np.linalg.svd(A, compute_uv=False)[0])
    return NormBracket(value * (1 - _ROUNDING), value * (1 + _ROUNDING), value, None, "dense SVD")


def _schur(w: np.ndarray, spec: ConvSpec) -> float:
    """``sqrt(max column sum * max row sum)`` of ``|A|``: a bound on ``||A||_2`` (Schur's test)."""
    op = conv_operator(np.abs(w), spec)
    rows = op @ np.ones(op.shape[1])
    cols = op.H @ np.ones(op.shape[0])
    return float(np.sqrt(rows.max() * cols.max()))


def _embedding_bound(w: np.ndarray, spec: ConvSpec, max_bytes: int) -> float | None:
    """Norm of the stride-1 circular conv on the padded grid, which contains ``spec``'s conv."""
    if spec.padding_mode != "zeros":
        return None
    grid = tuple(n + lo + hi for n, (lo, hi) in zip(spec.input_spatial, spec.padding))
    total = [d * (k - 1) for d, k in zip(spec.dilation, spec.kernel_size)]
    if any(t >= n for t, n in zip(total, grid)):
        return None
    pads = tuple((t // 2, t - t // 2) for t in total)
    needed = 16 * spec.out_channels * spec.in_channels_per_group * int(np.prod(grid))
    if needed > max_bytes:
        return None
    return float(conv_singular_values(w, (spec.in_channels,) + grid, padding=pads,
                                      dilation=spec.dilation, groups=spec.groups,
                                      padding_mode="circular", max_bytes=max_bytes)[0])


def layer_norm_bounds(weight, spec: ConvSpec | None = None, *, max_bytes=DEFAULT_MAX_BYTES) -> NormBracket:
    """A guaranteed bracket of the largest singular value of a conv (``spec``) or a matrix.

    Parameters
    ----------
    weight : ndarray
        The conv weight ``(C_out, C_in/groups, k...)``, or a matrix when
        ``spec`` is None.
    spec : ConvSpec, optional
    max_bytes : int
        Memory budget of every intermediate.

    Returns
    -------
    NormBracket

    Examples
    --------
    >>> w = np.ones((1, 1, 3))
    >>> b = layer_norm_bounds(w, ConvSpec(w.shape, (1, 8), padding=1))
    >>> M = conv_matrix(w, (1, 8), padding=1).toarray()
    >>> bool(b.lower <= np.linalg.norm(M, 2) <= b.upper), b.method
    (True, 'dense SVD')
    """
    w = np.asarray(weight, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("the weight has NaN or infinite entries; no norm bracket exists")
    if spec is None:
        return _dense(w)
    rows, cols = spec.matrix_shape
    if rows * cols <= DENSE_ENTRIES and 8 * rows * cols <= max_bytes:
        return _dense(conv_matrix(w, spec).toarray())
    op = conv_operator(w, spec, max_bytes=max_bytes)
    v0 = np.random.default_rng(20190506).standard_normal(min(rows, cols))
    _, _, vt = svds(op, k=1, which="LM", v0=v0)
    v = vt[0]
    lower = float(np.linalg.norm(op @ v) / np.linalg.norm(v))
    uppers = [_schur(w, spec)]
    circular = _embedding_bound(w, spec, max_bytes)
    if circular is not None:
        uppers.append(circular)
    upper = max(min(uppers), lower)
    return NormBracket(lower, upper, lower, v / np.linalg.norm(v), "Lanczos; circular/Schur bound")


def reshaped_norm(weight, *, transposed: bool = False, groups: int = 1) -> float:
    """The norm ``torch.nn.utils.spectral_norm`` normalises by: the weight as ``(C_out, -1)``.

    For a transposed conv PyTorch reshapes along ``dim=1`` (its output
    channels); groups are ignored, as PyTorch does.

    Examples
    --------
    >>> reshaped_norm(np.ones((2, 1, 3)))
    2.449489742783178
    """
    w = np.asarray(weight, dtype=np.float64)
    if transposed:
        w = np.swapaxes(w, 0, 1)
    return float(np.linalg.norm(w.reshape(w.shape[0], -1), 2))


def circular_norm(weight, spec: ConvSpec, *, max_bytes=DEFAULT_MAX_BYTES) -> float | None:
    """The norm of the same kernel as a stride-1 circular conv on the layer's input size.

    The common FFT approximation of a layer's norm (Sedghi et al. 2019): not
    a bound for a zero-padded conv, shown beside the exact value.  None when
    the kernel does not fit the input or the budget.
    """
    total = [d * (k - 1) for d, k in zip(spec.dilation, spec.kernel_size)]
    if any(t >= n for t, n in zip(total, spec.input_spatial)):
        return None
    if 16 * spec.out_channels * spec.in_channels_per_group * int(np.prod(spec.input_spatial)) > max_bytes:
        return None
    pads = tuple((t // 2, t - t // 2) for t in total)
    return float(conv_singular_values(np.asarray(weight, dtype=np.float64), spec.input_shape,
                                      padding=pads, dilation=spec.dilation, groups=spec.groups,
                                      padding_mode="circular", max_bytes=max_bytes)[0])
