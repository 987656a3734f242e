"""The geometry of a transposed convolution, read back as the conv it is the adjoint of.

A transposed convolution (PyTorch's ``ConvTransposeNd``; Dumoulin & Visin,
"A guide to convolution arithmetic for deep learning", 2016, section 4) of an
input of size ``n`` is the adjoint of the conv whose input has the transposed
output size.  :class:`ConvTransposeSpec` validates the geometry and holds that
conv as :attr:`ConvTransposeSpec.adjoint`, so every view of a transposed conv
reads the same taps as the conv; the output-length arithmetic is
:func:`convtheory.geometry._transposed_length`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import _per_axis, _transposed_length, resolve_padding
from .spec import ConvSpec, _check_flip, _kernel_and_input_shapes, _positive, _set_fields

__all__ = ["ConvTransposeSpec", "conv_transpose_output_shape"]


def conv_transpose_output_shape(input_spatial, kernel_spatial, *, stride=1, padding=0,
                                output_padding=0, dilation=1) -> tuple[int, ...]:
    """Spatial output shape of a transposed convolution (PyTorch's ``ConvTransposeNd``).

    Per axis, ``o = (n - 1)*s - 2p + d*(k - 1) + output_padding + 1``
    (``- lo - hi`` for a ``(lo, hi)`` pair): the input size of the
    convolution whose adjoint this is, with ``output_padding`` choosing among
    the ``s`` input sizes that a strided conv maps to the same ``n``.

    Parameters
    ----------
    input_spatial, kernel_spatial : tuple of int
    stride, padding, dilation : int or tuple
        ``padding`` is an int, a per-axis tuple, or ``(lo, hi)`` pairs; the
        padding strings have no transposed meaning and are refused.
    output_padding : int or tuple of int
        Extra length on the high side, smaller than the stride or the
        dilation on each axis (PyTorch's rule).

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> conv_transpose_output_shape((3, 3), (3, 3), stride=2, padding=1)
    (5, 5)
    >>> conv_transpose_output_shape((3, 3), (3, 3), stride=2, padding=1, output_padding=1)
    (6, 6)
    >>> output_shape((6, 6), (3, 3), stride=2, padding=1)   # both map back to 3 x 3
    (3, 3)
    """
    return ConvTransposeSpec((1, 1) + tuple(kernel_spatial), (1,) + tuple(input_spatial),
                             stride=stride, padding=padding, output_padding=output_padding,
                             dilation=dilation).output_spatial


@dataclass(frozen=True)
class ConvTransposeSpec:
    """A validated transposed-convolution geometry, as ``torch.nn.ConvTransposeNd``.

    The transposed conv of an input of size ``n`` is the adjoint of the conv
    (same weight tensor, same stride, padding, dilation and groups) whose
    input has the transposed output size ``o``.  That conv is :attr:`adjoint`,
    a :class:`ConvSpec`, so every view of a transposed conv reads its taps:
    no index arithmetic is derived again.  When ``output_padding`` exceeds
    the high padding, the last ``output_padding - hi`` output positions of
    an axis are read by no tap; :attr:`adjoint` then covers only the first
    :attr:`covered` positions, and the rest of the output is zero (bias
    aside), as in PyTorch.

    Parameters
    ----------
    weight_shape : tuple of int
        ``(C_in, C_out/groups, k1, ..., kd)``, PyTorch's ``ConvTranspose``
        layout; or ``(k1, ..., kd)`` with ``input_shape = (n1, ..., nd)``.
    input_shape : tuple of int
        ``(C_in, n1, ..., nd)``.
    stride, padding, output_padding, dilation, groups
        As in ``torch.nn.ConvTransposeNd``; ``padding`` also takes ``(lo, hi)``
        pairs.
    flip : bool
        The transpose of the ``flip=True`` conv.

    Examples
    --------
    >>> t = ConvTransposeSpec((4, 2, 3, 3), (4, 5, 5), stride=2, padding=1, output_padding=1)
    >>> t.output_shape, t.matrix_shape
    ((2, 10, 10), (200, 100))
    >>> t.adjoint.input_shape, t.adjoint.output_shape     # the conv it is the adjoint of
    ((2, 10, 10), (4, 5, 5))
    >>> t = ConvTransposeSpec((3,), (2,), dilation=3, output_padding=2)
    >>> t.output_spatial, t.covered     # the last 2 positions are read by no tap
    ((10,), (8,))
    """

    weight_shape: tuple
    input_shape: tuple
    stride: object = 1
    padding: object = 0
    output_padding: object = 0
    dilation: object = 1
    groups: int = 1
    flip: bool = False
    adjoint: ConvSpec = field(default=None, init=False, repr=False, compare=False)
    output_spatial: tuple = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        weight_shape, input_shape = _kernel_and_input_shapes(self.weight_shape, self.input_shape,
                                                             input_minimum=1)
        if len(weight_shape) < 3 or len(input_shape) != len(weight_shape) - 1:
            raise ValueError(
                f"a transposed conv needs weight.shape (C_in, C_out/groups, k1, ..., kd) and "
                f"input_shape (C_in, n1, ..., nd), got weight.shape={weight_shape} and "
                f"input_shape={input_shape}"
            )
        ndim = len(weight_shape) - 2
        groups = _positive(self.groups, "groups")
        if weight_shape[0] != input_shape[0] or input_shape[0] % groups:
            raise ValueError(
                f"channel mismatch: a transposed conv's weight is (C_in, C_out/groups, k...) "
                f"with C_in = input_shape[0] divisible by groups, got weight.shape="
                f"{weight_shape}, input_shape={input_shape}, groups={groups}"
            )
        if isinstance(self.padding, str):
            raise ValueError(
                f"padding of a transposed conv must be an int, a tuple of ints or (lo, hi) "
                f"pairs (as in PyTorch), got padding={self.padding!r}"
            )
        _check_flip(self.flip)
        kernel, spatial = weight_shape[2:], input_shape[1:]
        stride = _per_axis(self.stride, ndim, "stride", minimum=1)
        dilation = _per_axis(self.dilation, ndim, "dilation", minimum=1)
        output_padding = _per_axis(self.output_padding, ndim, "output_padding", minimum=0)
        padding = resolve_padding(self.padding, kernel, stride=stride, dilation=dilation)
        lengths = tuple(
            _transposed_length(n, k, s, lo, hi, d, op, axis)
            for axis, (n, k, s, (lo, hi), d, op) in enumerate(
                zip(spatial, kernel, stride, padding, dilation, output_padding)))
        # The conv read back: output_padding beyond the high padding adds output
        # positions no tap reads (they stay zero); the rest shortens the high padding.
        # Either way the conv of the covered length maps back to exactly n.
        extra = tuple(max(op - hi, 0) for op, (_, hi) in zip(output_padding, padding))
        covered = tuple(m - e for m, e in zip(lengths, extra))
        for axis, c in enumerate(covered):
            if c < 1:
                raise ValueError(
                    f"every tap of the transposed conv lands in the padding on spatial axis "
                    f"{axis} (padding={padding[axis]}, input {spatial[axis]}); use less padding"
                )
        conv_padding = tuple((lo, hi - op + e)
                             for (lo, hi), op, e in zip(padding, output_padding, extra))
        adjoint = ConvSpec(weight_shape, (weight_shape[1] * groups,) + covered, stride=stride,
                           padding=conv_padding, dilation=dilation, groups=groups,
                           flip=bool(self.flip))
        assert adjoint.output_spatial == spatial, (adjoint, spatial)  # the arithmetic above
        _set_fields(self, weight_shape=weight_shape, input_shape=input_shape, stride=stride,
                    padding=padding, output_padding=output_padding, dilation=dilation,
                    groups=groups, flip=bool(self.flip), adjoint=adjoint, output_spatial=lengths)

    @property
    def ndim(self) -> int:
        return len(self.weight_shape) - 2

    @property
    def in_channels(self) -> int:
        return self.input_shape[0]

    @property
    def out_channels(self) -> int:
        return self.weight_shape[1] * self.groups

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return self.weight_shape[2:]

    @property
    def input_spatial(self) -> tuple[int, ...]:
        return self.input_shape[1:]

    @property
    def output_shape(self) -> tuple[int, ...]:
        """``(C_out, o1, ..., od)``."""
        return (self.out_channels,) + self.output_spatial

    @property
    def matrix_shape(self) -> tuple[int, int]:
        """``(C_out * prod(o), C_in * prod(n))``: the transpose of :attr:`adjoint`'s."""
        return (int(np.prod(self.output_shape)), int(np.prod(self.input_shape)))

    @property
    def covered(self) -> tuple[int, ...]:
        """Per axis, the output positions some tap can reach (the adjoint conv's input)."""
        return self.adjoint.input_spatial

    @property
    def is_covered(self) -> bool:
        """True when every output position is the adjoint conv's input (no zero tail)."""
        return self.covered == self.output_spatial

    def covered_slices(self) -> tuple:
        """Basic slices of an ``(..., C_out, o1, ..., od)`` array onto the covered region."""
        return (Ellipsis, slice(None)) + tuple(slice(0, c) for c in self.covered)

    def covered_index(self) -> np.ndarray:
        """Flat C-order indices, into ``(C_out, o1, ..., od)``, of the covered positions.

        Examples
        --------
        >>> ConvTransposeSpec((2,), (2,), stride=3, output_padding=2).covered_index()
        array([0, 1, 2, 3, 4])
        """
        return np.arange(int(np.prod(self.output_shape)), dtype=np.int64).reshape(
            self.output_shape)[self.covered_slices()].ravel()

    def zero_insertion(self) -> tuple[tuple[int, int, int], ...]:
        """Dumoulin & Visin's direct-conv view: per axis ``(stretched, lo, hi)``.

        The transposed conv equals a stride-1 cross-correlation, dilation
        ``d``, with the flipped kernel (channels swapped) over the input with
        ``s - 1`` zeros inserted between samples (length ``stretched =
        (n-1)*s + 1``), padded by ``lo = d*(k-1) - p_lo`` and ``hi =
        d*(k-1) - p_hi + output_padding``.  A negative pad crops.

        Examples
        --------
        >>> ConvTransposeSpec((3,), (4,), stride=2, padding=1, output_padding=1).zero_insertion()
        ((7, 1, 2),)
        """
        return tuple(((n - 1) * s + 1, d * (k - 1) - lo, d * (k - 1) - hi + op)
                     for n, s, d, k, (lo, hi), op in zip(
                         self.input_spatial, self.stride, self.dilation, self.kernel_size,
                         self.padding, self.output_padding))

    def zero_insert(self, x: np.ndarray) -> np.ndarray:
        """``x`` (``(..., n1, ..., nd)``) with ``s - 1`` zeros between samples, then padded or cropped.

        Examples
        --------
        >>> ConvTransposeSpec((3,), (3,), stride=2).zero_insert(np.array([1.0, 2.0, 3.0]))
        array([0., 0., 1., 0., 2., 0., 3., 0., 0.])
        """
        x = np.asarray(x)
        lead = x.shape[:x.ndim - self.ndim]
        table = self.zero_insertion()
        z = np.zeros(lead + tuple(t[0] for t in table), dtype=x.dtype)
        z[(Ellipsis,) + tuple(slice(None, None, s) for s in self.stride)] = x
        widths = [(0, 0)] * len(lead) + [(max(lo, 0), max(hi, 0)) for _, lo, hi in table]
        z = np.pad(z, widths)
        crop = tuple(slice(max(-lo, 0), z.shape[len(lead) + i] - max(-hi, 0))
                     for i, (_, lo, hi) in enumerate(table))
        return z[(Ellipsis,) + crop]

    def direct_weight(self, weight: np.ndarray) -> np.ndarray:
        """The direct conv's kernel: channels swapped within each group, flipped in space.

        ``(C_in, C_out/g, k...)`` becomes ``(C_out, C_in/g, k...)``.

        Examples
        --------
        >>> ConvTransposeSpec((1, 2, 3), (1, 4)).direct_weight(np.arange(6.0).reshape(1, 2, 3))
        array([[[2., 1., 0.]],
        <BLANKLINE>
               [[5., 4., 3.]]])
        """
        g = self.groups
        w = np.asarray(weight).reshape(self.weight_shape)
        c_in_g, c_out_g = self.in_channels // g, self.weight_shape[1]
        w = w.reshape((g, c_in_g, c_out_g) + self.kernel_size).swapaxes(1, 2)
        w = w.reshape((self.out_channels, c_in_g) + self.kernel_size)
        if not self.flip:  # the transpose of a flipped conv correlates with the kernel as is
            w = w[(Ellipsis,) + (slice(None, None, -1),) * self.ndim]
        return np.ascontiguousarray(w)
