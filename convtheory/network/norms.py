"""Spectral norms of one layer: a guaranteed bracket, the reshaped-weight value and the circular one.

:func:`layer_norm_bounds` is the single entry point the network analysis
uses for a layer's exact norm.  A dense layer's is its SVD, exact to rounding.
A conv layer's bracket is :func:`convtheory.conv_spectral_norm_bounds`: the
lower end the Rayleigh quotient ``||A v|| / ||v||`` of an explicit vector, the
upper end a proven bound (the Gram matrix with a rounding allowance for small
layers; the circular embedding by polyphase DFT for large ones).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..circular_bound import circular_conv_norm
from ..gram_certificate import top_eigenpair
from ..spec import ConvSpec
from ..matrices import DEFAULT_MAX_BYTES, conv_matrix
from ..spectral_bounds import power_of_two_scale, conv_spectral_norm_bounds
from ..threads import blas_threads

__all__ = ["NormBracket", "circular_norm", "layer_norm_bounds", "reshaped_norm"]

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
    >>> bool(b.lower <= np.linalg.norm(M, 2) <= b.upper), b.method.startswith("lower: Rayleigh")
    (True, True)
    """
    w = np.asarray(weight, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("the weight has NaN or infinite entries; no norm bracket exists")
    if spec is None:
        return _dense(w)
    if spec.flip:  # the flipped conv is the correlation with the reversed kernel
        w = np.flip(w, axis=tuple(range(2, w.ndim)))
    b = conv_spectral_norm_bounds(w, spec.input_shape, stride=spec.stride, padding=spec.padding,
                                  dilation=spec.dilation, groups=spec.groups,
                                  padding_mode=spec.padding_mode, max_bytes=max_bytes)
    method = f"lower: {b.method['lower']}; upper: {b.method['upper']}"
    return NormBracket(b.lower, b.upper, b.value, b.vector, method)


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
    return _top_singular_value(w.reshape(w.shape[0], -1))


def _top_singular_value(A: np.ndarray) -> float:
    """``sigma_max(A)`` as the root of the top eigenvalue of the smaller Gram matrix.

    One GEMM and one eigvalsh instead of a full SVD (a 512 x 4608 weight is
    about 20 times faster), accurate to a few ulps relative for the top value.
    """
    A, e, _ = power_of_two_scale(A)  # the Gram matrix squares the entries: keep them near 1
    G = A @ A.T if A.shape[0] <= A.shape[1] else A.T @ A
    with blas_threads(1):
        return _scale_back(math.sqrt(max(top_eigenpair(G)[0], 0.0)), e)


def _scale_back(value: float, e: int) -> float:
    try:
        return math.ldexp(value, e)
    except OverflowError:
        raise ValueError(f"the norm exceeds the float64 range: {value!r} x 2**{e}") from None


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
    w, e, _ = power_of_two_scale(np.asarray(weight, dtype=np.float64))
    circ = ConvSpec(w.shape, spec.input_shape, padding=pads, dilation=spec.dilation,
                    groups=spec.groups, padding_mode="circular")
    # only the top singular value: one Gram eigvalsh per frequency, not a full SVD
    return _scale_back(float(circular_conv_norm(w, circ, max_bytes)), e)
