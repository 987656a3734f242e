"""Max and average pooling as functions, each next to its gradient.

The pools have ``torch.nn.functional.max_pool2d``'s and ``avg_pool2d``'s
semantics; every function has a ``*_backward`` twin.  :class:`PoolPlan` keeps
what the backward pass needs; the pool layers of :mod:`convtheory.nn.pooling`
own one each.  Everything here is re-exported by :mod:`convtheory.nn.functional`.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..geometry import ConvSpec, _per_axis
from ..im2col import Im2col
from .functional import _cached, _float_array, _frozen

__all__ = [
    "PoolPlan",
    "avg_pool1d",
    "avg_pool1d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
]


# --------------------------------------------------------------------------
class PoolPlan:
    """Max or average pooling over windows read from the tap tables.

    A pool is a depthwise geometry: one channel, kernel ``kernel_size``, run
    on every ``(sample, channel)`` plane.  Windows are gathered with
    :class:`~convtheory.im2col.Im2col`; padded taps read ``-inf`` (max) or
    ``0`` (average, PyTorch's ``count_include_pad=True``).

    Parameters
    ----------
    kind : {"max", "avg"}
    kernel_size, stride, padding
        As in ``torch.nn.MaxPool2d``; ``stride=None`` means ``kernel_size``.
    input_spatial : tuple of int

    Examples
    --------
    >>> plan = PoolPlan("max", (2,), None, 0, (4,))
    >>> plan.forward(np.array([[[1.0, 3.0, 2.0, 0.0]]]))
    array([[[3., 2.]]])
    """

    def __init__(self, kind: str, kernel_size, stride, padding, input_spatial):
        if kind not in ("max", "avg"):
            raise ValueError(f"kind must be 'max' or 'avg', got kind={kind!r}")
        ndim = len(input_spatial)
        k = _per_axis(kernel_size, ndim, "kernel_size", minimum=1)
        s = k if stride is None else _per_axis(stride, ndim, "stride", minimum=1)
        p = _per_axis(padding, ndim, "padding", minimum=0)
        for axis, (ka, pa) in enumerate(zip(k, p)):
            if 2 * pa > ka:  # PyTorch's rule: every window must see a real input
                raise ValueError(
                    f"padding should be at most half of kernel_size (as in PyTorch), got "
                    f"padding={padding!r} and kernel_size={kernel_size!r} on spatial axis {axis}"
                )
        self.kind = kind
        self.kernel_size, self.stride, self.padding = k, s, p
        self.spec = ConvSpec((1, 1) + k, (1,) + tuple(input_spatial), stride=s, padding=p)
        self._gather = Im2col(self.spec, fill_value=-np.inf if kind == "max" else 0.0)
        self.k_vol = int(np.prod(k))
        self._saved = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Pool a batch ``x`` of shape ``(N, C) + input_spatial``."""
        n, c = x.shape[:2]
        planes = x.reshape((n * c, 1) + x.shape[2:])
        windows = self._gather(planes)[0]  # (K, N*C, P)
        if self.kind == "max":
            # argmax takes the first maximum in kernel (C) order, as PyTorch does.
            where = windows.argmax(axis=0)
            y = np.take_along_axis(windows, where[None], axis=0)[0]
            self._saved = (x.shape, where)
        else:
            y = windows.sum(axis=0) / self.k_vol
            self._saved = (x.shape, None)
        return y.reshape((n, c) + self.spec.output_spatial)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Gradient with respect to the input of the last ``forward``."""
        if self._saved is None:
            raise RuntimeError("PoolPlan.backward needs a forward pass first")
        shape, where = self._saved
        n, c = shape[:2]
        g = grad_output.reshape(n * c, -1)
        if self.kind == "max":
            gcols = np.zeros((self.k_vol,) + g.shape, dtype=g.dtype)
            np.put_along_axis(gcols, where[None], g[None], axis=0)
        else:
            gcols = np.broadcast_to(g / self.k_vol, (self.k_vol,) + g.shape)
        gx = self._gather.adjoint(gcols[None].reshape((1, self.k_vol) + g.shape))
        return gx.reshape(shape)


_POOLS: OrderedDict = OrderedDict()


def _pool_plan(kind, ndim, input, kernel_size, stride, padding):
    x = _float_array(input, "input")
    if x.ndim not in (ndim + 1, ndim + 2):
        raise ValueError(
            f"input must have shape (N, C{', n' * ndim}) or (C{', n' * ndim}) for a "
            f"{ndim}-D pool, got input.shape={x.shape}"
        )
    unbatched = x.ndim == ndim + 1
    x = x[None] if unbatched else x
    key = (kind, x.shape[2:], _frozen(kernel_size), _frozen(stride), _frozen(padding))
    plan = _cached(_POOLS, key, lambda: PoolPlan(kind, kernel_size, stride, padding, x.shape[2:]),
                   size=4)
    return np.ascontiguousarray(x), plan, unbatched


def _pool(kind, ndim, input, kernel_size, stride, padding):
    x, plan, unbatched = _pool_plan(kind, ndim, input, kernel_size, stride, padding)
    y = plan.forward(x)
    return y[0] if unbatched else y


def _pool_backward(kind, ndim, grad_output, input, kernel_size, stride, padding):
    x, plan, unbatched = _pool_plan(kind, ndim, input, kernel_size, stride, padding)
    y = plan.forward(x)
    g = _float_array(grad_output, "grad_output")
    g = g[None] if unbatched else g
    if g.shape != y.shape:
        raise ValueError(f"grad_output must have shape {y.shape}, got grad_output.shape={g.shape}")
    gx = plan.backward(np.ascontiguousarray(g, dtype=x.dtype))
    return gx[0] if unbatched else gx


def max_pool1d(x, kernel_size, stride=None, padding=0):
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``.

    Parameters
    ----------
    x : (N, C, L) or (C, L) ndarray
    kernel_size, stride, padding : int or tuple
        ``stride=None`` means ``kernel_size``; padding (at most half the
        kernel) never wins the max.

    Examples
    --------
    >>> max_pool1d(np.array([[1.0, 5.0, 2.0, 4.0, 3.0]]), 2, stride=1)
    array([[5., 5., 4., 4.]])
    """
    return _pool("max", 1, x, kernel_size, stride, padding)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Examples
    --------
    >>> max_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)
    array([[[ 5.,  7.],
            [13., 15.]]])
    """
    return _pool("max", 2, x, kernel_size, stride, padding)


def avg_pool1d(x, kernel_size, stride=None, padding=0):
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d`` (padding counts as zeros).

    Examples
    --------
    >>> avg_pool1d(np.array([[2.0, 4.0, 6.0]]), 2, stride=1, padding=1)
    array([[1., 3., 5., 3.]])
    """
    return _pool("avg", 1, x, kernel_size, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d`` (padding counts as zeros).

    Examples
    --------
    >>> avg_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    """
    return _pool("avg", 2, x, kernel_size, stride, padding)


def max_pool1d_backward(grad_output, x, kernel_size, stride=None, padding=0):
    """Gradient of :func:`max_pool1d`: each window's gradient goes to its (first) maximum.

    Examples
    --------
    >>> max_pool1d_backward(np.array([[1.0, 1.0]]), np.array([[1.0, 5.0, 2.0]]), 2, stride=1)
    array([[0., 2., 0.]])
    """
    return _pool_backward("max", 1, grad_output, x, kernel_size, stride, padding)


def max_pool2d_backward(grad_output, x, kernel_size, stride=None, padding=0):
    """Gradient of :func:`max_pool2d`.

    Examples
    --------
    >>> max_pool2d_backward(np.ones((1, 1, 1)), np.arange(4.0).reshape(1, 2, 2), 2)
    array([[[0., 0.],
            [0., 1.]]])
    """
    return _pool_backward("max", 2, grad_output, x, kernel_size, stride, padding)


def avg_pool1d_backward(grad_output, x, kernel_size, stride=None, padding=0):
    """Gradient of :func:`avg_pool1d`: each window spreads its gradient evenly.

    Examples
    --------
    >>> avg_pool1d_backward(np.array([[1.0, 1.0]]), np.zeros((1, 3)), 2, stride=1)
    array([[0.5, 1. , 0.5]])
    """
    return _pool_backward("avg", 1, grad_output, x, kernel_size, stride, padding)


def avg_pool2d_backward(grad_output, x, kernel_size, stride=None, padding=0):
    """Gradient of :func:`avg_pool2d`.

    Examples
    --------
    >>> avg_pool2d_backward(np.ones((1, 1, 1)), np.zeros((1, 2, 2)), 2)
    array([[[0.25, 0.25],
            [0.25, 0.25]]])
    """
    return _pool_backward("avg", 2, grad_output, x, kernel_size, stride, padding)
