"""Convolution (and, re-exported, pooling) as functions, each next to its gradient.

``conv1d``/``conv2d``/``conv3d`` have ``torch.nn.functional.conv2d``'s
semantics (plus ``padding_mode``, which in PyTorch lives on the layer), and
the pools have ``torch.nn.functional.max_pool2d``'s and ``avg_pool2d``'s.
Every function has a ``*_backward`` twin that returns the gradients of a
scalar loss with respect to the inputs, given the gradient at the output.

Two backends compute the same map (see :mod:`convtheory.nn.conv_plan`):
``"im2col"`` (default), BLAS over the gathered input, and ``"matrix"``, the
seed's claim taken literally, ``y = M x`` with ``M = conv_matrix(weight, ...)``.

The stateful :class:`ConvPlan` and :class:`PoolPlan` keep the gathered input
and reusable buffers between the forward and backward pass; the layers in
:mod:`convtheory.nn.layers` own one each.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..spec import ConvSpec
from . import functional_adaptive_pooling as _adaptive_pooling
from . import functional_pooling as _pooling
from ._backend import BACKENDS, _conv_call, _conv_call_backward
from .conv_plan import ConvPlan
# Pooling lives in its own modules; re-exported so that ``functional.max_pool2d``,
# ``functional.adaptive_avg_pool2d`` and friends sit beside the convolutions, as in PyTorch.
from .functional_adaptive_pooling import *  # noqa: F401,F403
from .functional_pooling import *  # noqa: F401,F403
from .functional_transpose import (
    ConvTransposePlan, conv_transpose1d, conv_transpose1d_backward, conv_transpose2d,
    conv_transpose2d_backward, conv_transpose3d, conv_transpose3d_backward)

__all__ = [
    "BACKENDS",
    "ConvPlan",
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "conv3d",
    "conv3d_backward",
]

# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------
_PLANS: OrderedDict = OrderedDict()


def _conv_inputs(ndim, input, weight, bias, conv, backend):
    """Validate a functional conv call; return (x, w, b, plan, unbatched)."""
    return _conv_call(ndim, input, weight, bias, conv, backend, what="conv",
                      weight_layout="C_out, C_in/groups", c_out=lambda w: w.shape[0],
                      c_out_note="", plans=_PLANS,
                      make_plan=lambda w_shape, x_shape: ConvPlan(ConvSpec(w_shape, x_shape, **conv),
                                                                  backend))


def _conv(ndim, input, weight, bias, backend, **conv):
    x, w, b, plan, unbatched = _conv_inputs(ndim, input, weight, bias, conv, backend)
    y = plan.forward(x, w, b)
    return y[0] if unbatched else y


def _conv_backward(ndim, grad_output, input, weight, bias, backend, **conv):
    # The forward pass again: it gathers the input that the weight gradient reads.
    return _conv_call_backward(_conv_inputs(ndim, input, weight, bias, conv, backend),
                               grad_output, bias, lambda plan, x, w, b: plan.forward(x, w, b))


_CONV_DOC = """{d}-D convolution (cross-correlation), as ``torch.nn.functional.conv{d}d``.

    Parameters
    ----------
    input : (N, C_in, {n}) or (C_in, {n}) ndarray of float32 or float64
    weight : (C_out, C_in/groups, {k}) ndarray of the same dtype
    bias : (C_out,) ndarray, optional
    stride, padding, dilation, groups
        As in PyTorch; ``padding`` also takes ``"full"`` and ``(lo, hi)``
        pairs (see :func:`convtheory.resolve_padding`).
    padding_mode : {{"zeros", "circular", "reflect", "replicate", "symmetric"}}
        The boundary mode of ``torch.nn.Conv{d}d``.
    backend : {{"im2col", "matrix"}}
        BLAS over the gathered input, or ``y = M x`` with the explicit matrix.

    Returns
    -------
    (N, C_out, {o}) or (C_out, {o}) ndarray

    Examples
    --------
    {example}
    """

_CONV_BACKWARD_DOC = """Gradients of :func:`conv{d}d` given the gradient at its output.

    Parameters
    ----------
    grad_output : ndarray shaped like ``conv{d}d(input, weight, ...)``
    input, weight, bias, stride, padding, dilation, groups, padding_mode, backend
        As in :func:`conv{d}d`.

    Returns
    -------
    grad_input, grad_weight, grad_bias : ndarray (``grad_bias`` is None without a bias)

    Examples
    --------
    {example}
    """


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", backend="im2col"):
    return _conv(1, input, weight, bias, backend, stride=stride, padding=padding,
                 dilation=dilation, groups=groups, padding_mode=padding_mode)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", backend="im2col"):
    return _conv(2, input, weight, bias, backend, stride=stride, padding=padding,
                 dilation=dilation, groups=groups, padding_mode=padding_mode)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", backend="im2col"):
    return _conv(3, input, weight, bias, backend, stride=stride, padding=padding,
                 dilation=dilation, groups=groups, padding_mode=padding_mode)


def conv1d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1, padding_mode="zeros", backend="im2col"):
    return _conv_backward(1, grad_output, input, weight, bias, backend, stride=stride,
                          padding=padding, dilation=dilation, groups=groups,
                          padding_mode=padding_mode)


def conv2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1, padding_mode="zeros", backend="im2col"):
    return _conv_backward(2, grad_output, input, weight, bias, backend, stride=stride,
                          padding=padding, dilation=dilation, groups=groups,
                          padding_mode=padding_mode)


def conv3d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1, padding_mode="zeros", backend="im2col"):
    return _conv_backward(3, grad_output, input, weight, bias, backend, stride=stride,
                          padding=padding, dilation=dilation, groups=groups,
                          padding_mode=padding_mode)


conv1d.__doc__ = _CONV_DOC.format(d=1, n="n", k="k", o="o", example="""\
>>> x = np.array([[[1.0, 2.0, 4.0, 7.0]]])
    >>> conv1d(x, np.array([[[-1.0, 0.0, 1.0]]]), padding=1)   # central difference
    array([[[ 2.,  3.,  5., -4.]]])""")
conv2d.__doc__ = _CONV_DOC.format(d=2, n="H, W", k="kH, kW", o="oH, oW", example="""\
>>> from scipy.ndimage import correlate
    >>> rng = np.random.default_rng(0)
    >>> x, w = rng.standard_normal((1, 1, 6, 6)), rng.standard_normal((1, 1, 3, 3))
    >>> y = conv2d(x, w, padding="same", padding_mode="reflect")
    >>> np.allclose(y[0, 0], correlate(x[0, 0], w[0, 0], mode="mirror"))
    True
    >>> np.allclose(y, conv2d(x, w, padding="same", padding_mode="reflect", backend="matrix"))
    True""")
conv3d.__doc__ = _CONV_DOC.format(d=3, n="D, H, W", k="kD, kH, kW", o="oD, oH, oW", example="""\
>>> conv3d(np.ones((2, 4, 4, 4)), np.ones((3, 2, 2, 2, 2)), stride=2).shape
    (3, 2, 2, 2)""")
conv1d_backward.__doc__ = _CONV_BACKWARD_DOC.format(d=1, example="""\
>>> x, w = np.array([[[1.0, 2.0, 3.0]]]), np.array([[[1.0, 1.0]]])
    >>> gx, gw, gb = conv1d_backward(np.ones((1, 1, 2)), x, w)
    >>> gx.tolist(), gw.tolist()    # interior inputs feed two outputs
    ([[[1.0, 2.0, 1.0]]], [[[3.0, 5.0]]])""")
conv2d_backward.__doc__ = _CONV_BACKWARD_DOC.format(d=2, example="""\
>>> rng = np.random.default_rng(0)
    >>> x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    >>> g = rng.standard_normal((2, 4, 3, 3))
    >>> fast = conv2d_backward(g, x, w)
    >>> exact = conv2d_backward(g, x, w, backend="matrix")
    >>> all(np.allclose(a, b) for a, b in zip(fast[:2], exact[:2]))
    True""")
conv3d_backward.__doc__ = _CONV_BACKWARD_DOC.format(d=3, example="""\
>>> gx, gw, gb = conv3d_backward(np.ones((1, 1, 1, 1)), np.ones((1, 2, 2, 2)), np.ones((1, 1, 2, 2, 2)))
    >>> gx.ravel().tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]""")

__all__ += _pooling.__all__ + _adaptive_pooling.__all__
