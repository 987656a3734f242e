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
from .functional_transpose import ConvTransposePlan
from .layers import _ConvLayer

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


class _ConvTransposeNd(_ConvLayer):
    _plan_type = ConvTransposePlan
    transposed = True  # as torch's ConvTransposeNd: read by receptive_field

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=np.float64, seed=None, backend="im2col"):
        d = self._ndim
        self._init_options(in_channels, out_channels, kernel_size, stride, padding, dilation,
                           groups, padding_mode, dtype, backend)
        self.output_padding = _per_axis(output_padding, d, "output_padding", minimum=0)
        # Validate the options once, on a nominal input large enough for the padding.
        pads = np.ravel(self.padding) if not isinstance(padding, str) else [0]
        self.spec((in_channels,) + (2 + 2 * int(max(pads)),) * d)
        self._init_parameters((in_channels, out_channels // groups) + self.kernel_size, bias, seed)

    def _check_padding_mode(self, padding_mode) -> None:
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported "
                             f"(as in PyTorch), got padding_mode={padding_mode!r}")

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

    def _repr_options(self):
        options = super()._repr_options()
        options.insert(1, ("output_padding", self.output_padding, (0,) * self._ndim))
        return options


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
