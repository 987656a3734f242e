"""Layers with PyTorch's constructors, weight layouts and initialisation.

Each layer's forward sits next to its backward.  Conv layers run on a
:class:`~convtheory.nn.functional.ConvPlan`, so ``backend="matrix"`` makes a
layer literally multiply by its explicit sparse matrix.

Initialisation is PyTorch's default (``kaiming_uniform_(a=sqrt(5))``): weights
and biases uniform in ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]`` with ``fan_in =
C_in/groups * prod(kernel_size)`` (``in_features`` for :class:`Linear`),
drawn from ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import math

import numpy as np

from ..geometry import PADDING_MODES
from ..matrices import DEFAULT_MAX_BYTES, conv_matrix
from ..spec import ConvGeometry, ConvSpec
from ..validation import as_int, check_budget
from ..validation import per_axis as _per_axis
from .functional import BACKENDS, ConvPlan
from .module import Module, Parameter
# The pool layers live in their own module; re-exported so that old imports keep working.
from .pooling import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "Flatten",
    "Linear",
    "MaxPool1d",
    "MaxPool2d",
    "ReLU",
    "Sequential",
]


def _check_dtype(layer, x, dtype) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{layer!r}: input must be an ndarray, got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(
            f"{layer!r}: input has dtype {x.dtype} but the layer's parameters are {np.dtype(dtype)}; "
            f"convert with x.astype(np.{np.dtype(dtype).name})"
        )
    return x


def _uniform(rng, bound, shape, dtype):
    # The float64 draw, its cast, and the gradient the Parameter will hold.
    check_budget(3 * 8 * int(np.prod(shape, dtype=object)), DEFAULT_MAX_BYTES,
                 f"a parameter of shape {shape}",
                 "use fewer channels or features (a layer this size does not fit in memory)")
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class _ConvLayer(Module):
    """What the conv and transposed conv layers share: options, parameters, forward, backward.

    A subclass states only what differs: ``_plan_type`` (the functional plan
    its forward runs on), the padding modes it takes, its geometry (``spec``)
    and its weight layout.  The fan-in of PyTorch's initialisation is read
    from ``weight.shape[1:]`` in both layouts, as torch does.
    """

    _ndim = 0
    _plan_type = None

    def _init_options(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                      groups, padding_mode, dtype, backend) -> None:
        d = self._ndim
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels),
                           ("groups", groups)):
            as_int(value, arg, minimum=1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: groups must divide in_channels and out_channels, got groups={groups}, "
                f"in_channels={in_channels}, out_channels={out_channels}"
            )
        self._check_padding_mode(padding_mode)
        if backend not in BACKENDS:
            raise ValueError(f"{name}: backend must be one of {BACKENDS}, got backend={backend!r}")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise TypeError(f"{name}: dtype must be float32 or float64, got dtype={dtype!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _per_axis(kernel_size, d, "kernel_size", minimum=1)
        self.stride = _per_axis(stride, d, "stride", minimum=1)
        self.dilation = _per_axis(dilation, d, "dilation", minimum=1)
        self.padding = padding if isinstance(padding, str) else \
            (tuple(tuple(p) if isinstance(p, (tuple, list)) else p for p in padding)
             if _is_pairs(padding)
             else _per_axis(padding, d, "padding", minimum=0))
        self.padding_mode = padding_mode
        self.backend = backend
        self.dtype = np.dtype(dtype)

    def _init_parameters(self, weight_shape, bias, seed) -> None:
        rng = np.random.default_rng(seed)
        # fan_in, as torch reads it; a Python int, which a huge kernel cannot overflow to 0
        bound = 1.0 / math.sqrt(math.prod(weight_shape[1:]))
        self.weight = Parameter(_uniform(rng, bound, weight_shape, self.dtype))
        self.bias = Parameter(_uniform(rng, bound, (self.out_channels,),
                                       self.dtype)) if bias else None
        self._plan = None
        self._unbatched = False

    def forward(self, x):
        d = self._ndim
        x = _check_dtype(self, x, self.dtype)
        if x.ndim not in (d + 1, d + 2) or x.shape[-d - 1] != self.in_channels:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_channels}{', n' * d}) or "
                f"({self.in_channels}{', n' * d}), got input.shape={x.shape}"
            )
        self._unbatched = x.ndim == d + 1
        if self._unbatched:
            x = x[None]
        if self._plan is None or self._plan.spec.input_shape != x.shape[1:]:
            try:
                spec = self.spec(x.shape[1:])
            except ValueError as err:
                raise ValueError(f"{self!r} cannot take input.shape={x.shape}: {err}") from None
            self._plan = self._plan_type(spec, self.backend)
        self._batch = x.shape[0]
        y = self._plan.forward(np.ascontiguousarray(x), self.weight.data,
                               None if self.bias is None else self.bias.data)
        return y[0] if self._unbatched else y

    def backward(self, grad_out):
        if self._plan is None:
            raise RuntimeError(f"{self!r}: backward needs a forward pass first")
        expected = (() if self._unbatched else (self._batch,)) + self._plan.spec.output_shape
        if np.shape(grad_out) != expected:
            raise ValueError(f"{self!r}: grad_out must have shape {expected} (the last output's), "
                             f"got {np.shape(grad_out)}")
        g = grad_out[None] if self._unbatched else grad_out
        gx, gw, gb = self._plan.backward(np.ascontiguousarray(g, dtype=self.dtype), self.weight.data)
        self.weight.grad += gw
        if self.bias is not None:
            self.bias.grad += gb
        return gx[0] if self._unbatched else gx

    def _repr_options(self):
        # (name, value, default) in PyTorch's order; repr shows those that differ.
        d = self._ndim
        return [("padding", self.padding, (0,) * d), ("dilation", self.dilation, (1,) * d),
                ("groups", self.groups, 1), ("bias", self.bias is not None, True)]

    def __repr__(self) -> str:
        s = (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
             f"kernel_size={self.kernel_size}, stride={self.stride}")
        for name, value, default in self._repr_options():
            if value != default:
                s += f", {name}={value!r}"
        return s + ")"


class _ConvNd(_ConvLayer):
    _plan_type = ConvPlan

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=np.float64, seed=None,
                 backend="im2col"):
        self._init_options(in_channels, out_channels, kernel_size, stride, padding, dilation,
                           groups, padding_mode, dtype, backend)
        # Validated once, here: every spec of this layer is this geometry bound to an input.
        self.geometry = ConvGeometry(self.kernel_size, stride=self.stride, padding=self.padding,
                                     dilation=self.dilation, groups=groups,
                                     padding_mode=padding_mode, in_channels=in_channels,
                                     out_channels=out_channels)
        self._init_parameters((out_channels, in_channels // groups) + self.kernel_size, bias, seed)

    def _check_padding_mode(self, padding_mode) -> None:
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{type(self).__name__}: padding_mode must be one of {PADDING_MODES}, "
                             f"got padding_mode={padding_mode!r}")

    def spec(self, input_shape) -> ConvSpec:
        """The :class:`ConvSpec` of this layer on one input of ``(C_in, n1, ..., nd)``."""
        return self.geometry.bind(tuple(input_shape))

    def matrix(self, input_shape):
        """The layer's weights as the explicit sparse matrix on inputs of ``(C_in, n1, ..., nd)``.

        ``layer(x).ravel() == M @ x.ravel() + bias`` (bias repeated over
        positions): the conv layer is a sparse dense layer with tied weights.

        Examples
        --------
        >>> conv = Conv2d(2, 3, 3, padding=1, bias=False, seed=0)
        >>> x = np.random.default_rng(0).standard_normal((2, 5, 5))
        >>> M = conv.matrix(x.shape)
        >>> M.shape, np.allclose(M @ x.ravel(), conv(x).ravel())
        ((75, 50), True)
        """
        return conv_matrix(self.weight.data, self.spec(input_shape))

    def _repr_options(self):
        return super()._repr_options() + [("padding_mode", self.padding_mode, "zeros")]


def _is_pairs(padding) -> bool:
    return isinstance(padding, (tuple, list)) and any(isinstance(p, (tuple, list)) for p in padding)


_CONV_DOC = """{d}-D convolution layer, as ``torch.nn.Conv{d}d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, dilation : int or tuple
        ``padding`` also takes ``"valid"``, ``"same"``, ``"same_upper"``,
        ``"same_lower"``, ``"full"`` and ``(lo, hi)`` pairs.
    groups : int
    bias : bool
    padding_mode : {{"zeros", "circular", "reflect", "replicate", "symmetric"}}
    dtype : {{np.float64, np.float32}}
    seed : int or None
        Seed of the initialisation.
    backend : {{"im2col", "matrix"}}

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels/groups, {k})
    bias : Parameter of shape (out_channels,) or None
    kernel_size, stride, dilation : tuple of int
    padding : tuple of int, or the string given
    geometry : ConvGeometry
        The validated, shape-free geometry; ``spec(input_shape)`` binds it.

    Examples
    --------
    {example}
    """


class Conv1d(_ConvNd):
    _ndim = 1


class Conv2d(_ConvNd):
    _ndim = 2


class Conv3d(_ConvNd):
    _ndim = 3


Conv1d.__doc__ = _CONV_DOC.format(d=1, k="k", example="""\
>>> conv = Conv1d(2, 4, 3, padding="same", seed=0)
    >>> conv(np.ones((5, 2, 10))).shape
    (5, 4, 10)""")
Conv2d.__doc__ = _CONV_DOC.format(d=2, k="kH, kW", example="""\
>>> conv = Conv2d(3, 16, 3, stride=2, padding=1, seed=0)
    >>> conv
    Conv2d(3, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
    >>> x = np.random.default_rng(0).standard_normal((8, 3, 32, 32))
    >>> y = conv(x)
    >>> y.shape
    (8, 16, 16, 16)
    >>> conv.backward(np.ones_like(y)).shape, conv.weight.grad.shape
    ((8, 3, 32, 32), (16, 3, 3, 3))""")
Conv3d.__doc__ = _CONV_DOC.format(d=3, k="kD, kH, kW", example="""\
>>> Conv3d(1, 2, 3, seed=0)(np.ones((1, 5, 5, 5))).shape
    (2, 3, 3, 3)""")


class Linear(Module):
    """The dense layer ``y = x W^T + b``, as ``torch.nn.Linear``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    dtype : {np.float64, np.float32}
    seed : int or None

    Examples
    --------
    >>> lin = Linear(4, 2, seed=0)
    >>> lin.weight.shape, lin(np.ones((3, 4))).shape
    ((2, 4), (3, 2))
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float64, seed=None):
        for arg, value in (("in_features", in_features), ("out_features", out_features)):
            as_int(value, arg, minimum=1)
        self.in_features, self.out_features = in_features, out_features
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Parameter(_uniform(rng, bound, (out_features, in_features), self.dtype))
        self.bias = Parameter(_uniform(rng, bound, (out_features,), self.dtype)) if bias else None

    def forward(self, x):
        x = _check_dtype(self, x, self.dtype)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input of shape (..., {self.in_features}), "
                             f"got input.shape={x.shape}")
        self._x = x
        y = x @ self.weight.data.T
        return y + self.bias.data if self.bias is not None else y

    def backward(self, grad_out):
        x2 = self._x.reshape(-1, self.in_features)
        g2 = grad_out.reshape(-1, self.out_features)
        self.weight.grad += g2.T @ x2
        if self.bias is not None:
            self.bias.grad += g2.sum(axis=0)
        return grad_out @ self.weight.data

    def __repr__(self):
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


class ReLU(Module):
    """``max(x, 0)``; the gradient passes where the input was positive.

    Examples
    --------
    >>> r = ReLU()
    >>> r(np.array([-1.0, 2.0])), r.backward(np.array([5.0, 5.0]))
    (array([0., 2.]), array([0., 5.]))
    """

    def forward(self, x):
        self._mask = x > 0
        return np.where(self._mask, x, 0).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        return np.where(self._mask, grad_out, 0).astype(grad_out.dtype, copy=False)


class Flatten(Module):
    """Flatten axes ``start_dim..end_dim`` into one, as ``torch.nn.Flatten``.

    Examples
    --------
    >>> Flatten()(np.ones((2, 3, 4, 5))).shape
    (2, 60)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim, self.end_dim = as_int(start_dim, "start_dim"), as_int(end_dim, "end_dim")

    def forward(self, x):
        self._shape = x.shape
        start = self.start_dim % x.ndim
        end = self.end_dim % x.ndim
        return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])

    def backward(self, grad_out):
        return grad_out.reshape(self._shape)


class Sequential(Module):
    """Modules applied in order; backward runs them in reverse.

    Examples
    --------
    >>> net = Sequential(Conv2d(1, 4, 3, padding=1, seed=0), ReLU(), MaxPool2d(2),
    ...                  Flatten(), Linear(4 * 4 * 4, 10, seed=1))
    >>> x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    >>> net(x).shape
    (2, 10)
    >>> net.backward(np.ones((2, 10))).shape
    (2, 1, 8, 8)
    >>> len(net.parameters())
    4
    """

    def __init__(self, *modules):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(m).__name__}")
        self.modules = list(modules)

    def forward(self, x):
        for m in self.modules:
            x = m(x)
        return x

    def backward(self, grad_out):
        for m in reversed(self.modules):
            grad_out = m.backward(grad_out)
        return grad_out

    def __getitem__(self, i):
        return self.modules[i]

    def __len__(self):
        return len(self.modules)

    def __iter__(self):
        return iter(self.modules)

    def __repr__(self):
        inner = "".join(f"\n  ({i}): {m!r}" for i, m in enumerate(self.modules))
        return f"Sequential({inner}\n)"
