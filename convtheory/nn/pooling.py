"""Pooling layers with PyTorch's constructors: max, average, adaptive, global and blur.

Each layer owns a plan (:class:`~convtheory.nn.functional_pooling.PoolPlan`,
:class:`~convtheory.nn.functional_pooling.AdaptivePoolPlan`, or for the blur
pool the separable windows of its depthwise conv's taps) that keeps,
between forward and backward, what the gradient needs.  Pools have no
parameters.
"""

from __future__ import annotations

import numpy as np

from ..geometry import _per_axis
from ..pool_windows import PoolWindows
from ..pooling import binomial_filter, blur_kernel, blur_pool_spec
from . import functional_adaptive_pooling as FAP
from . import functional_pooling as FP
from ._planes import map_blocks, plane_blocks
from .functional_adaptive_pooling import AdaptivePoolPlan
from .functional_pooling import PoolPlan
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "BlurPool1d",
    "BlurPool2d",
    "GlobalAvgPool",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
]


class _SpatialLayer(Module):
    """Input checks shared by the pools: ``(N, C, n...)`` or ``(C, n...)``, float."""

    _ndim = 0

    def _batch(self, x):
        d = self._ndim
        if not isinstance(x, np.ndarray) or x.ndim not in (d + 1, d + 2):
            raise ValueError(f"{self!r}: expected input of shape (N, C{', n' * d}) or "
                             f"(C{', n' * d}), got {getattr(x, 'shape', type(x).__name__)}")
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{self!r}: input must be float32 or float64, got dtype {x.dtype}")
        self._unbatched = x.ndim == d + 1
        return np.ascontiguousarray(x[None] if self._unbatched else x)

    def _unbatch(self, y):
        return y[0] if self._unbatched else y

    def _grad(self, grad_out):
        if getattr(self, "_plan", None) is None or getattr(self._plan, "_saved", 1) is None:
            raise RuntimeError(f"{self!r}: backward needs a forward pass first")
        return np.ascontiguousarray(grad_out[None] if self._unbatched else grad_out)


class _Pool(_SpatialLayer):
    _kind = ""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        d = self._ndim
        self.kernel_size = _per_axis(kernel_size, d, "kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else _per_axis(stride, d, "stride", minimum=1)
        self.padding = _per_axis(padding, d, "padding", minimum=0)
        self.dilation = _per_axis(dilation, d, "dilation", minimum=1)
        if not isinstance(ceil_mode, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: ceil_mode must be a bool, got ceil_mode={ceil_mode!r}")
        self.ceil_mode = bool(ceil_mode)
        self._options = dict(dilation=self.dilation, ceil_mode=self.ceil_mode)
        if self._kind == "avg":
            self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
            self._options = dict(ceil_mode=self.ceil_mode, count_include_pad=count_include_pad,
                                 divisor_override=divisor_override)
            # Validate the options now, on a nominal input large enough for the kernel.
            PoolPlan(self._kind, self.kernel_size, self.stride, 0, self.kernel_size, **self._options)
        self._plan = None

    def forward(self, x):
        x = self._batch(x)
        if self._plan is None or self._plan.spec.input_spatial != x.shape[2:]:
            try:
                self._plan = PoolPlan(self._kind, self.kernel_size, self.stride, self.padding,
                                      x.shape[2:], **self._options)
            except ValueError as err:
                raise ValueError(f"{self!r} cannot take input.shape={x.shape}: {err}") from None
        return self._unbatch(self._plan.forward(x))

    def backward(self, grad_out):
        g = self._grad(grad_out)
        return self._unbatch(self._plan.backward(g))

    def __repr__(self):
        s = (f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, "
             f"padding={self.padding}")
        if self._kind == "max" and self.dilation != (1,) * self._ndim:
            s += f", dilation={self.dilation}"
        if self.ceil_mode:
            s += ", ceil_mode=True"
        if self._kind == "avg" and not self.count_include_pad:
            s += ", count_include_pad=False"
        if self._kind == "avg" and self.divisor_override is not None:
            s += f", divisor_override={self.divisor_override}"
        return s + ")"


class _MaxPool(_Pool):
    _kind = "max"

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)


class _AvgPool(_Pool):
    _kind = "avg"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode, count_include_pad,
                         divisor_override)


class MaxPool1d(_MaxPool):
    """1-D max pooling layer, as ``torch.nn.MaxPool1d`` (padding reads ``-inf``).

    Examples
    --------
    >>> MaxPool1d(2)(np.array([[[1.0, 3.0, 2.0, 0.0]]]))
    array([[[3., 2.]]])
    >>> MaxPool1d(2, ceil_mode=True)(np.array([[[1.0, 3.0, 2.0, 0.0, 5.0]]]))
    array([[[3., 2., 5.]]])
    """

    _ndim = 1


class MaxPool2d(_MaxPool):
    """2-D max pooling layer, as ``torch.nn.MaxPool2d``.

    Examples
    --------
    >>> MaxPool2d(2)(np.ones((1, 3, 8, 8))).shape
    (1, 3, 4, 4)
    >>> MaxPool2d(3, stride=2, ceil_mode=True)(np.ones((1, 3, 8, 8))).shape   # MTCNN's P-Net
    (1, 3, 4, 4)
    """

    _ndim = 2


class MaxPool3d(_MaxPool):
    """3-D max pooling layer, as ``torch.nn.MaxPool3d``.

    Examples
    --------
    >>> MaxPool3d(2, dilation=2)(np.ones((1, 1, 5, 5, 5))).shape
    (1, 1, 2, 2, 2)
    """

    _ndim = 3


class AvgPool1d(_AvgPool):
    """1-D average pooling layer, as ``torch.nn.AvgPool1d``.

    Examples
    --------
    >>> AvgPool1d(2)(np.array([[[1.0, 3.0, 2.0, 0.0]]]))
    array([[[2., 1.]]])
    >>> AvgPool1d(2, padding=1, count_include_pad=False)(np.array([[[1.0, 3.0, 2.0]]]))
    array([[[1. , 2.5]]])
    """

    _ndim = 1


class AvgPool2d(_AvgPool):
    """2-D average pooling layer, as ``torch.nn.AvgPool2d``.

    Examples
    --------
    >>> AvgPool2d(2, stride=1)(np.ones((1, 3, 3))).shape
    (1, 2, 2)
    """

    _ndim = 2


class AvgPool3d(_AvgPool):
    """3-D average pooling layer, as ``torch.nn.AvgPool3d``.

    Examples
    --------
    >>> AvgPool3d(2, divisor_override=1)(np.ones((1, 2, 2, 2))).ravel()
    array([8.])
    """

    _ndim = 3


class _AdaptivePool(_SpatialLayer):
    _kind = ""

    def __init__(self, output_size):
        self.output_size = output_size
        self._plan = None

    def forward(self, x):
        x = self._batch(x)
        if self._plan is None or self._plan.windows.input_spatial != x.shape[2:]:
            try:
                self._plan = AdaptivePoolPlan(self._kind, self.output_size, x.shape[2:])
            except ValueError as err:
                raise ValueError(f"{self!r} cannot take input.shape={x.shape}: {err}") from None
        return self._unbatch(self._plan.forward(x))

    def backward(self, grad_out):
        g = self._grad(grad_out)
        return self._unbatch(self._plan.backward(g))

    def __repr__(self):
        return f"{type(self).__name__}(output_size={self.output_size!r})"


_ADAPTIVE_DOC = """{d}-D adaptive {kind} pooling, as ``torch.nn.Adaptive{Kind}Pool{d}d``.

    Window ``i`` of an axis of length ``n`` is ``[floor(i*n/o), ceil((i+1)*n/o))``.

    Examples
    --------
    >>> Adaptive{Kind}Pool{d}d({size})(np.ones({shape})).shape
    {out}
    """


class AdaptiveAvgPool1d(_AdaptivePool):
    _kind, _ndim = "avg", 1


class AdaptiveAvgPool2d(_AdaptivePool):
    _kind, _ndim = "avg", 2


class AdaptiveAvgPool3d(_AdaptivePool):
    _kind, _ndim = "avg", 3


class AdaptiveMaxPool1d(_AdaptivePool):
    _kind, _ndim = "max", 1


class AdaptiveMaxPool2d(_AdaptivePool):
    _kind, _ndim = "max", 2


class AdaptiveMaxPool3d(_AdaptivePool):
    _kind, _ndim = "max", 3


for _cls, _size, _shape, _out in [
    (AdaptiveAvgPool1d, 3, (2, 3, 10), (2, 3, 3)),
    (AdaptiveAvgPool2d, "(2, None)", (3, 7, 9), (3, 2, 9)),
    (AdaptiveAvgPool3d, 1, (1, 2, 4, 4, 4), (1, 2, 1, 1, 1)),
    (AdaptiveMaxPool1d, 4, (1, 7), (1, 4)),
    (AdaptiveMaxPool2d, "(3, 5)", (2, 1, 7, 7), (2, 1, 3, 5)),
    (AdaptiveMaxPool3d, 2, (1, 3, 5, 5), (1, 2, 2, 2)),
]:
    _cls.__doc__ = _ADAPTIVE_DOC.format(d=_cls._ndim, kind=_cls._kind,
                                        Kind=_cls._kind.capitalize(), size=_size,
                                        shape=_shape, out=_out)


class GlobalAvgPool(Module):
    """The mean over every spatial axis, ``(N, C, n1, ..., nd)`` to ``(N, C)``.

    ``keepdim=True`` keeps unit spatial axes, as ``AdaptiveAvgPoolNd(1)``.

    Examples
    --------
    >>> GlobalAvgPool()(np.ones((4, 8, 7, 7))).shape
    (4, 8)
    >>> GlobalAvgPool(keepdim=True)(np.ones((4, 8, 7, 7))).shape
    (4, 8, 1, 1)
    """

    def __init__(self, keepdim=False):
        if not isinstance(keepdim, (bool, np.bool_)):
            raise TypeError(f"GlobalAvgPool: keepdim must be a bool, got keepdim={keepdim!r}")
        self.keepdim = bool(keepdim)
        self._x = None

    def forward(self, x):
        y = FAP.global_avg_pool(x, keepdim=self.keepdim)
        self._x = np.asarray(x)  # kept once validated: backward reads its shape
        return y

    def backward(self, grad_out):
        if self._x is None:
            raise RuntimeError(f"{self!r}: backward needs a forward pass first")
        x = self._x
        expected = x.shape[:2] + ((1,) * (x.ndim - 2) if self.keepdim else ())
        if np.shape(grad_out) != expected:
            raise ValueError(f"{self!r}: grad_out must have shape {expected} (the last output's), "
                             f"got {np.shape(grad_out)}")
        return FAP.global_avg_pool_backward(grad_out, x, keepdim=self.keepdim)

    def __repr__(self):
        return f"GlobalAvgPool(keepdim={self.keepdim})"


class _BlurPool(_SpatialLayer):
    def __init__(self, channels, filter_size=3, stride=2, padding_mode="reflect"):
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ValueError(f"{type(self).__name__}: channels must be a positive int, "
                             f"got channels={channels!r}")
        self.channels, self.filter_size = int(channels), filter_size
        self.stride = _per_axis(stride, self._ndim, "stride", minimum=1)
        self.padding_mode = padding_mode
        # Validates filter_size and padding_mode on a nominal input.
        blur_pool_spec((channels,) + (filter_size + 1,) * self._ndim, filter_size=filter_size,
                       stride=self.stride, padding_mode=padding_mode)
        # Fixed, not learned: the depthwise weight of blur_pool_matrix, for reference.
        self.weight = blur_kernel(self.channels, filter_size, self._ndim)
        self._plan = None

    def forward(self, x):
        x = self._batch(x)
        if x.shape[1] != self.channels:
            raise ValueError(f"{self!r}: expected {self.channels} channels, got input.shape={x.shape}")
        if self._plan is None or self._plan.spec.input_shape != x.shape[1:]:
            try:
                spec = blur_pool_spec(x.shape[1:], filter_size=self.filter_size,
                                      stride=self.stride, padding_mode=self.padding_mode)
            except ValueError as err:
                raise ValueError(f"{self!r} cannot take input.shape={x.shape}: {err}") from None
            # The binomial kernel is an outer product: blur one axis at a time along
            # the depthwise conv's own tap tables (its reflect borders included).
            self._plan = PoolWindows([spec.axis_table(i) for i in range(spec.ndim)],
                                     spec.input_spatial)
            self._plan.spec = spec
        self._shape = x.shape
        n, c = x.shape[:2]
        w = (binomial_filter(self.filter_size).astype(x.dtype),) * self._ndim
        planes = x.reshape((n * c,) + x.shape[2:])
        blocks = plane_blocks(n * c, planes.size)
        if len(blocks) == 1:
            y = self._plan.sum(planes, w)
        else:  # blocks of planes side by side; each plane alone, so the same result
            y = np.empty((n * c,) + self._plan.output_spatial, dtype=x.dtype)

            def run(start, stop):
                y[start:stop] = self._plan.sum(planes[start:stop], w)

            map_blocks(run, blocks)
        return self._unbatch(y.reshape((n, c) + self._plan.output_spatial))

    def backward(self, grad_out):
        if self._plan is None:
            raise RuntimeError(f"{self!r}: backward needs a forward pass first")
        g = np.ascontiguousarray(grad_out[None] if self._unbatched else grad_out)
        n, c = self._shape[:2]
        w = (binomial_filter(self.filter_size).astype(g.dtype),) * self._ndim
        g = g.reshape((n * c,) + g.shape[2:])
        blocks = plane_blocks(n * c, int(np.prod(self._shape)))
        if len(blocks) == 1:
            return self._unbatch(self._plan.sum_adjoint(g, w).reshape(self._shape))
        gx = np.empty((n * c,) + self._shape[2:], dtype=g.dtype)
        map_blocks(lambda start, stop: self._plan.sum_adjoint(g[start:stop], w,
                                                                  out=gx[start:stop]), blocks)
        return self._unbatch(gx.reshape(self._shape))

    def __repr__(self):
        return (f"{type(self).__name__}({self.channels}, filter_size={self.filter_size}, "
                f"stride={self.stride}, padding_mode={self.padding_mode!r})")


class BlurPool1d(_BlurPool):
    """Anti-aliased downsampling (Zhang, 2019): a binomial blur per channel, then stride.

    As ``antialiased_cnns.BlurPool1D``: pad by ``((k-1)//2, ceil((k-1)/2))`` in
    ``padding_mode``, correlate each channel with the normalised binomial
    filter of ``filter_size`` (1 to 7) taps at ``stride``; ``ceil(n/stride)``
    outputs.  Its matrix is :func:`convtheory.blur_pool_matrix`.

    Examples
    --------
    >>> BlurPool1d(1)(np.array([[[0.0, 0.0, 4.0, 0.0, 0.0, 0.0]]]))
    array([[[0., 2., 0.]]])
    """

    _ndim = 1


class BlurPool2d(_BlurPool):
    """2-D anti-aliased downsampling (Zhang, 2019); see :class:`BlurPool1d`.

    Examples
    --------
    >>> BlurPool2d(3, filter_size=5)(np.ones((2, 3, 9, 9))).shape
    (2, 3, 5, 5)
    """

    _ndim = 2
