"""Pooling layers with PyTorch's constructors.

Each layer owns a :class:`~convtheory.nn.functional_pooling.PoolPlan` that
keeps, between forward and backward, what the gradient needs.
"""

from __future__ import annotations

import numpy as np

from ..geometry import _per_axis
from .functional_pooling import PoolPlan
from .module import Module

__all__ = ["AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d"]


class _Pool(Module):
    _kind = ""
    _ndim = 0

    def __init__(self, kernel_size, stride=None, padding=0):
        d = self._ndim
        self.kernel_size = _per_axis(kernel_size, d, "kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else _per_axis(stride, d, "stride", minimum=1)
        self.padding = _per_axis(padding, d, "padding", minimum=0)
        self.dilation = (1,) * d
        self._plan = None

    def forward(self, x):
        d = self._ndim
        if not isinstance(x, np.ndarray) or x.ndim not in (d + 1, d + 2):
            raise ValueError(f"{self!r}: expected input of shape (N, C{', n' * d}) or "
                             f"(C{', n' * d}), got {getattr(x, 'shape', type(x).__name__)}")
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{self!r}: input must be float32 or float64, got dtype {x.dtype}")
        self._unbatched = x.ndim == d + 1
        x = x[None] if self._unbatched else x
        if self._plan is None or self._plan.spec.input_spatial != x.shape[2:]:
            try:
                self._plan = PoolPlan(self._kind, self.kernel_size, self.stride, self.padding,
                                      x.shape[2:])
            except ValueError as err:
                raise ValueError(f"{self!r} cannot take input.shape={x.shape}: {err}") from None
        y = self._plan.forward(np.ascontiguousarray(x))
        return y[0] if self._unbatched else y

    def backward(self, grad_out):
        g = grad_out[None] if self._unbatched else grad_out
        gx = self._plan.backward(np.ascontiguousarray(g))
        return gx[0] if self._unbatched else gx

    def __repr__(self):
        return (f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding})")


class MaxPool1d(_Pool):
    """1-D max pooling layer, as ``torch.nn.MaxPool1d``.

    Examples
    --------
    >>> MaxPool1d(2)(np.array([[[1.0, 3.0, 2.0, 0.0]]]))
    array([[[3., 2.]]])
    """

    _kind, _ndim = "max", 1


class MaxPool2d(_Pool):
    """2-D max pooling layer, as ``torch.nn.MaxPool2d``.

    Examples
    --------
    >>> MaxPool2d(2)(np.ones((1, 3, 8, 8))).shape
    (1, 3, 4, 4)
    """

    _kind, _ndim = "max", 2


class AvgPool1d(_Pool):
    """1-D average pooling layer, as ``torch.nn.AvgPool1d`` (``count_include_pad=True``).

    Examples
    --------
    >>> AvgPool1d(2)(np.array([[[1.0, 3.0, 2.0, 0.0]]]))
    array([[[2., 1.]]])
    """

    _kind, _ndim = "avg", 1


class AvgPool2d(_Pool):
    """2-D average pooling layer, as ``torch.nn.AvgPool2d`` (``count_include_pad=True``).

    Examples
    --------
    >>> AvgPool2d(2, stride=1)(np.ones((1, 3, 3))).shape
    (1, 2, 2)
    """

    _kind, _ndim = "avg", 2
