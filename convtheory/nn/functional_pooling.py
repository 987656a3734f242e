"""Max, average, adaptive and global pooling as functions, each next to its gradient.

Every function has ``torch.nn.functional``'s name, arguments and semantics
(``ceil_mode``, ``dilation``, ``count_include_pad``, ``divisor_override``,
``-inf`` padding for the maximum, PyTorch's rule for ties) and a
``*_backward`` twin that returns the gradient with respect to the input.
The windows are read from the tap tables of :mod:`convtheory.geometry`
(:func:`~convtheory.pool_spec.pool_spec`,
:func:`~convtheory.pool_spec.adaptive_axis_taps`) by
:class:`~convtheory.pool_windows.PoolWindows`.

:class:`PoolPlan` keeps what the backward pass needs; the layers of
:mod:`convtheory.nn.pooling` own one each.  The adaptive and global pools
live in :mod:`convtheory.nn.functional_adaptive_pooling` and are re-exported
here; everything here is re-exported by :mod:`convtheory.nn.functional`.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict

import numpy as np

from ..pool_spec import avg_pool_divisors, pool_spec
from ..pool_windows import PoolWindows
from ._backend import _cached, _float_array, _frozen
from ._planes import MAX_COST, map_blocks, plane_blocks

__all__ = [
    "PoolPlan",
    "avg_pool1d",
    "avg_pool1d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "avg_pool3d",
    "avg_pool3d_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_pool3d",
    "max_pool3d_backward",
]

_KINDS = ("max", "avg")


def _check_kind(kind):
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'max' or 'avg', got kind={kind!r}")


class _WindowPlan:
    """Shared forward/backward over :class:`PoolWindows`; subclasses set the windows.

    Large batches are pooled in blocks of planes on several threads
    (:mod:`convtheory.nn._planes`); each block keeps its own winners for
    the backward pass.
    """

    kind: str
    windows: PoolWindows
    divisor = None  # avg only: ndarray broadcastable to the output, or a number

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Pool a batch ``x`` of shape ``(N, C) + input_spatial``."""
        n, c = x.shape[:2]
        planes = x.reshape((n * c,) + x.shape[2:])
        work = planes.size * (MAX_COST if self.kind == "max" else 1)
        if self.kind == "max" and self.windows.stacked:
            # The uneven adaptive max makes many small numpy calls per cache block,
            # so two threads mostly wait for the GIL: measured slower than one
            # (6.1 against 3.8 ms for AdaptiveMaxPool2d(5) on 16x64x28x28).
            work = 0
        blocks = plane_blocks(n * c, work)
        out_shape = (n, c) + self.windows.output_spatial
        if len(blocks) == 1:
            y, args = self._forward_block(planes)
            self._saved = (x.shape, [(blocks[0], args)])
            return y.reshape(out_shape)
        y = np.empty((n * c,) + self.windows.output_spatial, dtype=x.dtype)

        def run(start, stop):
            block, args = self._forward_block(planes[start:stop])
            y[start:stop] = block
            return args

        self._saved = (x.shape, list(zip(blocks, map_blocks(run, blocks))))
        return y.reshape(out_shape)

    def _forward_block(self, planes):
        if self.kind == "max":
            return self.windows.max(planes)
        y = self.windows.sum(planes)
        y /= self.divisor
        return y, None

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Gradient with respect to the input of the last ``forward``."""
        if getattr(self, "_saved", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs a forward pass first")
        shape, saved = self._saved
        g = grad_output.reshape((shape[0] * shape[1],) + self.windows.output_spatial)
        if len(saved) == 1:
            return self._backward_block(g, saved[0][1]).reshape(shape)
        gx = np.empty((shape[0] * shape[1],) + self.windows.input_spatial, dtype=g.dtype)
        args = dict(saved)

        def run(start, stop):
            self._backward_block(g[start:stop], args[start, stop], out=gx[start:stop])

        map_blocks(run, list(args))
        return gx.reshape(shape)

    def _backward_block(self, g, args, out=None):
        if self.kind == "max":
            return self.windows.max_adjoint(g, args, out=out)
        # In the gradient's own precision, as PyTorch (a float32 quotient rounded once
        # from float64 is the float32 quotient: 53 >= 2*24 + 2 bits).
        return self.windows.sum_adjoint(np.divide(g, self.divisor).astype(g.dtype, copy=False),
                                        out=out)


class PoolPlan(_WindowPlan):
    """Max or average pooling of one geometry, with PyTorch's options.

    The windows are the taps of :func:`~convtheory.pool_spec.pool_spec`;
    padding reads ``-inf`` (max) or ``0`` (average).

    Parameters
    ----------
    kind : {"max", "avg"}
    kernel_size, stride, padding
        As in ``torch.nn.MaxPool2d``; ``stride=None`` means ``kernel_size``.
    input_spatial : tuple of int
    dilation : int or tuple
        Max pooling only (PyTorch's average pools have none).
    ceil_mode : bool
    count_include_pad : bool
        Average only: padding counts in the divisor (the overhang of
        ``ceil_mode`` never does).
    divisor_override : int or None
        Average only: divide every window by this instead.

    Examples
    --------
    >>> plan = PoolPlan("max", (2,), None, 0, (5,), ceil_mode=True)
    >>> plan.forward(np.array([[[1.0, 3.0, 2.0, 0.0, 4.0]]]))
    array([[[3., 2., 4.]]])
    """

    def __init__(self, kind: str, kernel_size, stride, padding, input_spatial, *, dilation=1,
                 ceil_mode=False, count_include_pad=True, divisor_override=None):
        _check_kind(kind)
        if kind == "avg" and dilation not in (1, (1,) * len(input_spatial)):
            raise ValueError(f"average pooling has no dilation (as in PyTorch), got dilation={dilation!r}")
        if not isinstance(count_include_pad, (bool, np.bool_)):
            raise TypeError(f"count_include_pad must be a bool, got count_include_pad={count_include_pad!r}")
        if divisor_override is not None and (
                isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral)):
            raise TypeError(f"divisor_override must be an int or None, got "
                            f"divisor_override={divisor_override!r}")
        if divisor_override is not None and divisor_override == 0:
            raise ValueError("divisor_override must not be zero, got divisor_override=0")
        self.kind = kind
        self.spec = pool_spec(input_spatial, kernel_size, stride=stride, padding=padding,
                              dilation=dilation, ceil_mode=ceil_mode)
        self.kernel_size, self.stride = self.spec.kernel_size, self.spec.stride
        self.padding = tuple(lo for lo, _ in self.spec.padding)
        self.dilation, self.ceil_mode = self.spec.dilation, bool(ceil_mode)
        self.windows = PoolWindows([self.spec.axis_table(i) for i in range(self.spec.ndim)],
                                   self.spec.input_spatial)
        if kind == "avg":
            if divisor_override is not None:
                self.divisor = float(divisor_override)
            else:
                per_axis = avg_pool_divisors(input_spatial, kernel_size, stride=stride,
                                             padding=padding, ceil_mode=ceil_mode,
                                             count_include_pad=count_include_pad)
                self.divisor = _outer(per_axis)
        self._saved = None


def _outer(per_axis) -> np.ndarray:
    """The product of per-axis divisors, as a float array of the output's spatial shape."""
    out = np.ones((), dtype=np.float64)
    for d in per_axis:
        out = np.multiply.outer(out, np.asarray(d, dtype=np.float64))
    return out


_POOLS: OrderedDict = OrderedDict()


def _batch(ndim, input, what):
    x = _float_array(input, "input")
    if x.ndim not in (ndim + 1, ndim + 2):
        raise ValueError(
            f"input must have shape (N, C{', n' * ndim}) or (C{', n' * ndim}) for a "
            f"{ndim}-D {what}, got input.shape={x.shape}"
        )
    unbatched = x.ndim == ndim + 1
    x = x[None] if unbatched else x
    return np.ascontiguousarray(x), unbatched


def _plan(kind, ndim, input, options):
    x, unbatched = _batch(ndim, input, "pool")
    key = (kind, x.shape[2:]) + tuple((k, _frozen(v)) for k, v in sorted(options.items()))
    opts = dict(options)
    k, s, p = opts.pop("kernel_size"), opts.pop("stride"), opts.pop("padding")
    plan = _cached(_POOLS, key, lambda: PoolPlan(kind, k, s, p, x.shape[2:], **opts), size=8)
    return x, plan, unbatched


def _run(x, plan, unbatched):
    y = plan.forward(x)
    return y[0] if unbatched else y


def _run_backward(grad_output, x, plan, unbatched):
    y = plan.forward(x)
    g = _float_array(grad_output, "grad_output")
    g = g[None] if unbatched else g
    if g.shape != y.shape:
        shape = y.shape[1:] if unbatched else y.shape
        raise ValueError(f"grad_output must have shape {shape}, "
                         f"got grad_output.shape={np.shape(grad_output)}")
    gx = plan.backward(np.ascontiguousarray(g, dtype=x.dtype))
    return gx[0] if unbatched else gx


def _max_pool(ndim, x, kernel_size, stride, padding, dilation, ceil_mode):
    return _run(*_plan("max", ndim, x, dict(kernel_size=kernel_size, stride=stride,
                                            padding=padding, dilation=dilation,
                                            ceil_mode=ceil_mode)))


def _max_pool_backward(ndim, g, x, kernel_size, stride, padding, dilation, ceil_mode):
    return _run_backward(g, *_plan("max", ndim, x, dict(kernel_size=kernel_size, stride=stride,
                                                        padding=padding, dilation=dilation,
                                                        ceil_mode=ceil_mode)))


def _avg_options(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    return dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                count_include_pad=count_include_pad, divisor_override=divisor_override)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``.

    Parameters
    ----------
    x : (N, C, L) or (C, L) ndarray of float32 or float64
    kernel_size, stride, padding, dilation : int or tuple
        ``stride=None`` means ``kernel_size``; padding (at most half the
        kernel) reads ``-inf``, so it never wins the max.
    ceil_mode : bool
        Keep a last, partial window (PyTorch's rule: it must start inside
        the input or the left padding).

    Examples
    --------
    >>> max_pool1d(np.array([[1.0, 5.0, 2.0, 4.0, 3.0]]), 2, stride=1)
    array([[5., 5., 4., 4.]])
    >>> max_pool1d(np.array([[1.0, 5.0, 2.0, 4.0, 3.0]]), 2, ceil_mode=True)
    array([[5., 4., 3.]])
    """
    return _max_pool(1, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``; see :func:`max_pool1d`.

    Examples
    --------
    >>> max_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)
    array([[[ 5.,  7.],
            [13., 15.]]])
    """
    return _max_pool(2, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """3-D max pooling, as ``torch.nn.functional.max_pool3d``; see :func:`max_pool1d`.

    Examples
    --------
    >>> max_pool3d(np.arange(8.0).reshape(1, 2, 2, 2), 2).ravel()
    array([7.])
    """
    return _max_pool(3, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool1d_backward(grad_output, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """Gradient of :func:`max_pool1d`: each window's gradient goes to its (first) maximum.

    Examples
    --------
    >>> max_pool1d_backward(np.array([[1.0, 1.0]]), np.array([[1.0, 5.0, 2.0]]), 2, stride=1)
    array([[0., 2., 0.]])
    """
    return _max_pool_backward(1, grad_output, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_backward(grad_output, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """Gradient of :func:`max_pool2d`.

    Examples
    --------
    >>> max_pool2d_backward(np.ones((1, 1, 1)), np.arange(4.0).reshape(1, 2, 2), 2)
    array([[[0., 0.],
            [0., 1.]]])
    """
    return _max_pool_backward(2, grad_output, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d_backward(grad_output, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """Gradient of :func:`max_pool3d`.

    Examples
    --------
    >>> max_pool3d_backward(np.ones((1, 1, 1, 1)), np.arange(8.0).reshape(1, 2, 2, 2), 2).ravel()
    array([0., 0., 0., 0., 0., 0., 0., 1.])
    """
    return _max_pool_backward(3, grad_output, x, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d``.

    Parameters
    ----------
    x : (N, C, L) or (C, L) ndarray of float32 or float64
    kernel_size, stride, padding : int or tuple
    ceil_mode : bool
    count_include_pad : bool
        Padding counts in the divisor (the overhang of ``ceil_mode`` never
        does); ``False`` divides by the number of inputs in the window.
    divisor_override : int or None
        Divide every window's sum by this instead.

    Examples
    --------
    >>> avg_pool1d(np.array([[2.0, 4.0, 6.0]]), 2, stride=1, padding=1)
    array([[1., 3., 5., 3.]])
    >>> avg_pool1d(np.array([[2.0, 4.0, 6.0]]), 2, stride=1, padding=1, count_include_pad=False)
    array([[2., 3., 5., 6.]])
    """
    return _run(*_plan("avg", 1, x, _avg_options(kernel_size, stride, padding, ceil_mode,
                                                 count_include_pad, divisor_override)))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``; see :func:`avg_pool1d`.

    Examples
    --------
    >>> avg_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    """
    return _run(*_plan("avg", 2, x, _avg_options(kernel_size, stride, padding, ceil_mode,
                                                 count_include_pad, divisor_override)))


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling, as ``torch.nn.functional.avg_pool3d``; see :func:`avg_pool1d`.

    Examples
    --------
    >>> avg_pool3d(np.arange(8.0).reshape(1, 2, 2, 2), 2, divisor_override=1).ravel()
    array([28.])
    """
    return _run(*_plan("avg", 3, x, _avg_options(kernel_size, stride, padding, ceil_mode,
                                                 count_include_pad, divisor_override)))


def avg_pool1d_backward(grad_output, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of :func:`avg_pool1d`: each window spreads its gradient over its inputs.

    Examples
    --------
    >>> avg_pool1d_backward(np.array([[1.0, 1.0]]), np.zeros((1, 3)), 2, stride=1)
    array([[0.5, 1. , 0.5]])
    """
    return _run_backward(grad_output, *_plan("avg", 1, x, _avg_options(
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)))


def avg_pool2d_backward(grad_output, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of :func:`avg_pool2d`.

    Examples
    --------
    >>> avg_pool2d_backward(np.ones((1, 1, 1)), np.zeros((1, 2, 2)), 2)
    array([[[0.25, 0.25],
            [0.25, 0.25]]])
    """
    return _run_backward(grad_output, *_plan("avg", 2, x, _avg_options(
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)))


def avg_pool3d_backward(grad_output, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of :func:`avg_pool3d`.

    Examples
    --------
    >>> avg_pool3d_backward(np.ones((1, 1, 1, 1)), np.zeros((1, 2, 2, 2)), 2).ravel()
    array([0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125])
    """
    return _run_backward(grad_output, *_plan("avg", 3, x, _avg_options(
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)))
