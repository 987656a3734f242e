"""Transposed convolution layers with PyTorch's constructors, layouts and initialisation.

``ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros")``
as in PyTorch.  The weight is ``(in_channels, out_channels/groups, k...)``
and PyTorch's default initialisation (``kaiming_uniform_(a=sqrt(5))``) reads
its fan-in from that layout, ``out_channels/groups * prod(kernel_size)``:
weights and biases are uniform in ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``.
"""

from __future__ import annotations

import numpy as np

from ..geometry import _per_axis
from ..transposed_spec import ConvTransposeSpec
from ..transposed import conv_transpose_matrix
from .functional import BACKENDS
from .functional_transpose import ConvTransposePlan
from .layers import _check_dtype, _is_pairs, _uniform
from .module import Module, Parameter

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


class _ConvTransposeNd(Module):
    _ndim = 0
    transposed = True  # as torch's ConvTransposeNd: read by receptive_field

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=np.float64, seed=None, backend="im2col"):
        d = self._ndim
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels),
                           ("groups", groups)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {arg}={value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: groups must divide in_channels and out_channels, got groups={groups}, "
                f"in_channels={in_channels}, out_channels={out_channels}"
            )
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported (as in PyTorch), "
                             f"got padding_mode={padding_mode!r}")
        if backend not in BACKENDS:
            raise ValueError(f"{name}: backend must be one of {BACKENDS}, got backend={backend!r}")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise TypeError(f"{name}: dtype must be float32 or float64, got dtype={dtype!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _per_axis(kernel_size, d, "kernel_size", minimum=1)
        self.stride = _per_axis(stride, d, "stride", minimum=1)
        self.dilation = _per_axis(dilation, d, "dilation", minimum=1)
        self.output_padding = _per_axis(output_padding, d, "output_padding", minimum=0)
        self.padding = (tuple(tuple(p) for p in padding) if _is_pairs(padding)
                        else _per_axis(padding, d, "padding", minimum=0)
                        if not isinstance(padding, str) else padding)
        self.padding_mode = padding_mode
        self.backend = backend
        self.dtype = np.dtype(dtype)
        c_out_g = out_channels // groups
        # Validate the options once, on a nominal input large enough for the padding.
        pads = np.ravel(self.padding) if not isinstance(padding, str) else [0]
        self.spec((in_channels,) + (2 + 2 * int(max(pads)),) * d)
        rng = np.random.default_rng(seed)
        fan_in = c_out_g * int(np.prod(self.kernel_size))  # torch reads it from weight.shape[1:]
        bound = 1.0 / np.sqrt(fan_in)
        self.weight = Parameter(_uniform(rng, bound, (in_channels, c_out_g) + self.kernel_size,
                                         self.dtype))
        self.bias = Parameter(_uniform(rng, bound, (out_channels,), self.dtype)) if bias else None
        self._plan = None
        self._unbatched = False

    def spec(self, input_shape) -> ConvTransposeSpec:
        """The :class:`ConvTransposeSpec` of this layer on one input ``(C_in, n1, ..., nd)``."""
        return ConvTransposeSpec(
            (self.in_channels, self.out_channels // self.groups) + self.kernel_size,
            tuple(input_shape), stride=self.stride, padding=self.padding,
            output_padding=self.output_padding, dilation=self.dilation, groups=self.groups)

    def matrix(self, input_shape):
        """The layer's weights as the explicit sparse matrix on inputs ``(C_in, n1, ..., nd)``.

        Examples
        --------
        >>> up = ConvTranspose2d(2, 3, 3, stride=2, bias=False, seed=0)
        >>> x = np.random.default_rng(0).standard_normal((2, 4, 4))
        >>> M = up.matrix(x.shape)
        >>> M.shape, np.allclose(M @ x.ravel(), up(x).ravel())
        ((243, 32), True)
        """
        return conv_transpose_matrix(self.weight.data, self.spec(input_shape))

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
            self._plan = ConvTransposePlan(spec, self.backend)
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
        gx, gw, gb = self._plan.backward(np.ascontiguousarray(g, dtype=self.dtype),
                                         self.weight.data)
        self.weight.grad += gw
        if self.bias is not None:
            self.bias.grad += gb
        return gx[0] if self._unbatched else gx

    def __repr__(self) -> str:
        d = self._ndim
        s = (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
             f"kernel_size={self.kernel_size}, stride={self.stride}")
        if self.padding != (0,) * d:
            s += f", padding={self.padding!r}"
        if self.output_padding != (0,) * d:
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1,) * d:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s + ")"


_DOC = """{d}-D transposed convolution layer, as ``torch.nn.ConvTranspose{d}d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, output_padding, dilation : int or tuple
        As in PyTorch; ``output_padding`` must be smaller than the stride or
        the dilation.  ``padding`` also takes ``(lo, hi)`` pairs.
    groups : int
    bias : bool
    padding_mode : {{"zeros"}}
        The only mode PyTorch's transposed convs have.
    dtype : {{np.float64, np.float32}}
    seed : int or None
        Seed of the initialisation.
    backend : {{"im2col", "matrix"}}

    Attributes
    ----------
    weight : Parameter of shape (in_channels, out_channels/groups, {k})
    bias : Parameter of shape (out_channels,) or None

    Examples
    --------
    {example}
    """


class ConvTranspose1d(_ConvTransposeNd):
    _ndim = 1


class ConvTranspose2d(_ConvTransposeNd):
    _ndim = 2


class ConvTranspose3d(_ConvTransposeNd):
    _ndim = 3


ConvTranspose1d.__doc__ = _DOC.format(d=1, k="k", example="""\
>>> ConvTranspose1d(4, 2, 4, stride=2, padding=1, seed=0)(np.ones((3, 4, 10))).shape
    (3, 2, 20)""")
ConvTranspose2d.__doc__ = _DOC.format(d=2, k="kH, kW", example="""\
>>> up = ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1, seed=0)
    >>> up
    ConvTranspose2d(16, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))
    >>> y = up(np.random.default_rng(0).standard_normal((2, 16, 8, 8)))
    >>> y.shape
    (2, 8, 16, 16)
    >>> up.backward(np.ones_like(y)).shape, up.weight.grad.shape
    ((2, 16, 8, 8), (16, 8, 3, 3))""")
ConvTranspose3d.__doc__ = _DOC.format(d=3, k="kD, kH, kW", example="""\
>>> ConvTranspose3d(1, 2, 2, stride=2, seed=0)(np.ones((1, 3, 3, 3))).shape
    (2, 6, 6, 6)""")
