"""The geometry of a convolution as a value: shape-free, then bound to an input.

:class:`ConvGeometry` is everything about a conv except the size of its
input: kernel size, stride, padding (as written: ``"same_upper"`` stays a rule
until an input size resolves it), dilation, groups, boundary mode, flip, and
the channel counts where known.  It is validated once, when it is made, and is
what layers, receptive fields and shape propagation pass around.

:class:`ConvSpec` is a geometry bound to one input shape
(``geometry.bind(input_shape)``): padding resolved to ``(lo, hi)`` pairs,
output shape known, and the per-axis tap tables of :mod:`convtheory.geometry`
built.  Every view of the conv (matrices, operators, graphs, checks) reads a
``ConvSpec``.  Its historical constructor, ``ConvSpec(weight_shape,
input_shape, **conv)``, is the same as ``ConvGeometry(...).bind(...)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .geometry import (
    INPUT_DEPENDENT_PADDING,
    MAX_AXIS_TAPS,
    PADDING_MODES,
    _as_int,
    _as_shape,
    _check_empty_axis,
    _output_length,
    _per_axis,
    axis_taps,
    kernel_extent,
    padding_form,
    resolve_padding,
)

__all__ = ["CONV_OPTIONS", "ConvGeometry", "ConvSpec"]

#: The conv options every builder takes, with their defaults (PyTorch's).
CONV_OPTIONS = dict(stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", flip=False)


def _check_mode_and_flip(padding_mode, flip) -> None:
    if not isinstance(padding_mode, str):
        raise TypeError(f"padding_mode must be a string, got {padding_mode!r}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f"padding_mode must be one of {PADDING_MODES}, got padding_mode={padding_mode!r}"
        )
    _check_flip(flip)


def _check_flip(flip) -> None:
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be a bool, got flip={flip!r}")


def _positive(value, name: str) -> int:
    """``groups`` or a channel count as an int ``>= 1``, or raise naming it."""
    value = _as_int(value, name)
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {name}={value}")
    return value


def _channels(value, name: str):
    return None if value is None else _positive(value, name)


def _check_groups_divide(groups: int, c_in, c_out) -> None:
    """``groups`` divides both channel counts (those known: None is unknown)."""
    if (c_in is not None and c_in % groups) or (c_out is not None and c_out % groups):
        raise ValueError(
            f"groups must divide both C_in and C_out, got groups={groups} with "
            f"C_in={c_in} and C_out={c_out}"
        )


def _set_fields(frozen, **values) -> None:
    """Store the normalised fields of a frozen dataclass from its ``__post_init__``."""
    for name, value in values.items():
        object.__setattr__(frozen, name, value)


def _kernel_and_input_shapes(weight_shape, input_shape, *, input_minimum: int):
    """Both shapes validated, the single-channel shorthand read as unit channel axes.

    When ``len(weight_shape) == len(input_shape)`` they are ``(k1, ..., kd)``
    and ``(n1, ..., nd)``: one input channel, one output channel, one group.
    """
    weight_shape = _as_shape(weight_shape, "weight.shape")
    input_shape = _as_shape(input_shape, "input_shape", minimum=input_minimum)
    if len(weight_shape) == len(input_shape):  # single-channel shorthand
        weight_shape, input_shape = (1, 1) + weight_shape, (1,) + input_shape
    return weight_shape, input_shape


@dataclass(frozen=True)
class ConvGeometry:
    """A validated convolution geometry without an input size.

    Parameters
    ----------
    kernel_size : tuple of int
        ``(k1, ..., kd)``; its length is the number of spatial axes.
    stride, dilation : int or tuple of int
        Stored as per-axis tuples.
    padding : int, tuple, (lo, hi) pairs, or str
        Every form of :func:`~convtheory.geometry.resolve_padding`.  Numeric
        forms are stored as ``(lo, hi)`` pairs; strings are kept as the rule
        they name (``"same_upper"`` and ``"same_lower"`` need the input size).
    groups : int
    padding_mode : {"zeros", "circular", "reflect", "replicate", "symmetric"}
    flip : bool
        ``False`` for cross-correlation, ``True`` for convolution.
    in_channels, out_channels : int or None
        Channel counts, where known (both divisible by ``groups``).

    Raises
    ------
    TypeError, ValueError
        Naming the argument, the value and what is allowed, e.g. for
        ``padding="same"`` with a stride (the message points to
        ``"same_upper"``).

    Examples
    --------
    >>> g = ConvGeometry((3, 3), stride=2, padding="same_upper")
    >>> g.output_shape((7, 8))                 # ceil(n / stride), TensorFlow's SAME
    (4, 4)
    >>> spec = g.replace(in_channels=3, out_channels=16).bind((3, 7, 8))
    >>> spec.output_shape, spec.padding
    ((16, 4, 4), ((1, 1), (0, 1)))
    >>> spec.geometry.bind((3, 20, 20)).output_shape
    (16, 10, 10)
    """

    kernel_size: tuple
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    padding_mode: str = "zeros"
    flip: bool = False
    in_channels: int | None = None
    out_channels: int | None = None

    def __post_init__(self):
        kernel = _as_shape(self.kernel_size, "kernel_size")
        if not kernel:
            raise ValueError(f"kernel_size must have at least one axis, got kernel_size={kernel}")
        ndim = len(kernel)
        groups = _positive(self.groups, "groups")
        c_in = _channels(self.in_channels, "in_channels")
        c_out = _channels(self.out_channels, "out_channels")
        _check_groups_divide(groups, c_in, c_out)
        _check_mode_and_flip(self.padding_mode, self.flip)
        stride = _per_axis(self.stride, ndim, "stride", minimum=1)
        dilation = _per_axis(self.dilation, ndim, "dilation", minimum=1)
        padding = padding_form(self.padding, ndim)
        if padding not in INPUT_DEPENDENT_PADDING:  # the rest resolves now, or refuses now
            resolve_padding(padding, kernel, stride=stride, dilation=dilation)
        _set_fields(self, kernel_size=kernel, stride=stride, dilation=dilation, padding=padding,
                    groups=groups, flip=bool(self.flip), in_channels=c_in, out_channels=c_out)

    @property
    def ndim(self) -> int:
        """Number of spatial axes d."""
        return len(self.kernel_size)

    @property
    def extent(self) -> tuple[int, ...]:
        """Input positions spanned by the dilated kernel, ``d*(k-1) + 1`` per axis."""
        return tuple(kernel_extent(k, d) for k, d in zip(self.kernel_size, self.dilation))

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """``(C_out, C_in/groups, k1, ..., kd)``; needs both channel counts."""
        if self.in_channels is None or self.out_channels is None:
            raise ValueError(
                f"the weight shape needs in_channels and out_channels, got in_channels="
                f"{self.in_channels} and out_channels={self.out_channels}"
            )
        return (self.out_channels, self.in_channels // self.groups) + self.kernel_size

    def pads(self, input_spatial=None) -> tuple[tuple[int, int], ...]:
        """The ``(lo, hi)`` padding per axis; ``input_spatial`` is needed by ``"same_upper"``/``"same_lower"``.

        Examples
        --------
        >>> ConvGeometry((4,), padding="same").pads()
        ((1, 2),)
        >>> ConvGeometry((4,), padding="same_lower").pads((6,))
        ((2, 1),)
        """
        return resolve_padding(self.padding, self.kernel_size, stride=self.stride,
                               dilation=self.dilation, input_spatial=input_spatial)

    def output_shape(self, input_spatial) -> tuple[int, ...]:
        """Spatial output shape ``(o1, ..., od)`` on inputs ``(n1, ..., nd)``, without a tensor.

        Examples
        --------
        >>> ConvGeometry((3, 3), stride=2, padding=1).output_shape((32, 31))
        (16, 16)
        """
        spatial = _as_shape(input_spatial, "input_shape", minimum=0)
        if len(spatial) != self.ndim:
            raise ValueError(
                f"input_shape must have {self.ndim} spatial entries (n1, ..., n{self.ndim}), "
                f"got input_shape={spatial}"
            )
        pads = self.pads(spatial)
        shape = tuple(_output_length(n, k, s, lo, hi, d, axis) for axis, (n, k, s, (lo, hi), d)
                      in enumerate(zip(spatial, self.kernel_size, self.stride, pads, self.dilation)))
        for n, out in zip(spatial, shape):  # as binding refuses it
            _check_empty_axis(n, out, self.padding_mode)
        return shape

    def bind(self, input_shape) -> "ConvSpec":
        """This geometry on one input: ``(C_in, n1, ..., nd)``, or ``(n1, ..., nd)``.

        A spatial-only shape takes ``C_in`` from ``in_channels`` (1 when
        unknown).  An unknown ``out_channels`` is 1 for a single-channel
        conv (``C_in = 1``, one group) and an error otherwise.

        Examples
        --------
        >>> ConvGeometry((3,), padding=1).bind((8,)).matrix_shape
        (8, 8)
        """
        return ConvSpec(self, input_shape)

    def replace(self, **changes) -> "ConvGeometry":
        """A new geometry with some fields changed, re-validated.

        Examples
        --------
        >>> ConvGeometry((3,)).replace(padding="full").pads()
        ((2, 2),)
        """
        return dataclasses.replace(self, **changes)

    def conv_kwargs(self) -> dict:
        """The conv options as keyword arguments for the builders (padding as stored)."""
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.padding_mode, flip=self.flip)

    def _bound_shapes(self, input_shape):
        """(geometry with channels, weight_shape, input_shape) for one input."""
        shape = _as_shape(input_shape, "input_shape", minimum=0)
        if len(shape) == self.ndim:
            shape = (1 if self.in_channels is None else self.in_channels,) + shape
        if len(shape) != self.ndim + 1:
            raise ValueError(
                f"the kernel is {self.ndim}-D, so input_shape must be (C_in, n1, ..., "
                f"n{self.ndim}) with {self.ndim + 1} entries, got input_shape={shape}"
            )
        if shape[0] < 1:
            raise ValueError(f"input_shape[0] must be >= 1, got input_shape={shape}")
        c_in, c_out = shape[0], self.out_channels
        if self.in_channels is not None and self.in_channels != c_in:
            raise ValueError(
                f"channel mismatch: input_shape[0]={c_in}, but the geometry has "
                f"in_channels={self.in_channels}"
            )
        _check_groups_divide(self.groups, c_in, c_out)
        if c_out is None:
            if c_in != 1 or self.groups != 1:
                raise ValueError(
                    f"out_channels is unknown: give ConvGeometry(out_channels=...) to bind "
                    f"it to input_shape={shape}"
                )
            c_out = 1
        geometry = self if (c_in, c_out) == (self.in_channels, self.out_channels) else \
            self.replace(in_channels=c_in, out_channels=c_out)
        return geometry, geometry.weight_shape, shape


# --------------------------------------------------------------------------
# A geometry bound to an input shape
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvSpec:
    """A validated convolution geometry on one input shape, in PyTorch's names and layouts.

    Two constructors give the same spec:

    * ``ConvSpec(geometry, input_shape)`` (or ``geometry.bind(input_shape)``)
      with a :class:`ConvGeometry`;
    * ``ConvSpec(weight_shape, input_shape, **conv)``, the arguments of
      :func:`convtheory.conv_matrix` with shapes instead of arrays.  The
      single-channel shorthand is accepted: when ``len(weight_shape) ==
      len(input_shape)`` the shapes are read as ``(k1, ..., kd)`` and ``(n1,
      ..., nd)`` and stored with unit channel axes prepended.

    After construction every field is normalised: ``stride`` and ``dilation``
    are per-axis tuples and ``padding`` is a tuple of ``(lo, hi)`` pairs
    (resolved for this input); ``geometry`` keeps the padding as written.

    Parameters
    ----------
    weight_shape : tuple of int, or ConvGeometry
        ``(C_out, C_in/groups, k1, ..., kd)``.
    input_shape : tuple of int
        ``(C_in, n1, ..., nd)``; spatial sizes may be 0 (an empty output).
    stride, padding, dilation, groups, padding_mode
        As in ``torch.nn.ConvNd``; see :func:`~convtheory.geometry.resolve_padding`.
        Not given with a ``ConvGeometry``.
    flip : bool
        ``False`` (default) for cross-correlation, ``True`` for convolution.

    Examples
    --------
    >>> spec = ConvSpec((16, 3, 3, 3), (3, 32, 32), stride=2, padding=1)
    >>> spec.output_shape
    (16, 16, 16)
    >>> spec.matrix_shape
    (4096, 3072)
    >>> ConvSpec((3,), (8,), padding="same").padding
    ((1, 1),)
    >>> ConvSpec(spec.geometry, (3, 32, 32)) == spec
    True
    """

    weight_shape: tuple
    input_shape: tuple
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    padding_mode: str = "zeros"
    flip: bool = False
    geometry: ConvGeometry = field(default=None, init=False, repr=False, compare=False)
    _tables: tuple = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if isinstance(self.weight_shape, ConvGeometry):
            given = sorted(name for name, default in CONV_OPTIONS.items()
                           if not (type(getattr(self, name)) is type(default)
                                   and getattr(self, name) == default))
            if given:
                raise TypeError(
                    f"ConvSpec(geometry, input_shape) takes no conv options, got {given}; "
                    f"change the geometry with geometry.replace(...)"
                )
            geometry, weight_shape, input_shape = self.weight_shape._bound_shapes(self.input_shape)
        else:
            geometry, weight_shape, input_shape = self._legacy_geometry()
        spatial = input_shape[1:]
        padding = geometry.pads(spatial)
        axes = list(enumerate(zip(spatial, geometry.kernel_size, geometry.stride, padding,
                                  geometry.dilation)))
        for axis, (n, k, s, p, d) in axes:  # raises, naming the axis, before any table is built
            entries = _output_length(n, k, s, p[0], p[1], d, axis) * k
            if entries > MAX_AXIS_TAPS:
                raise ValueError(
                    f"spatial axis {axis} would have {entries:,} taps (input {n}, kernel {k}), "
                    f"over MAX_AXIS_TAPS={MAX_AXIS_TAPS:,}; no explicit view of a conv this "
                    f"size fits in memory: use a smaller input or scipy.signal.fftconvolve"
                )
        tables = tuple(
            axis_taps(n, k, stride=s, padding=p, dilation=d, padding_mode=geometry.padding_mode)
            for _, (n, k, s, p, d) in axes
        )
        for table in tables:
            table.setflags(write=False)
        _set_fields(self, weight_shape=weight_shape, input_shape=input_shape,
                    stride=geometry.stride, dilation=geometry.dilation, padding=padding,
                    groups=geometry.groups, padding_mode=geometry.padding_mode, flip=geometry.flip,
                    geometry=geometry, _tables=tables)

    def _legacy_geometry(self):
        """Read ``ConvSpec(weight_shape, input_shape, **conv)`` as a geometry and a shape."""
        weight_shape, input_shape = _kernel_and_input_shapes(self.weight_shape, self.input_shape,
                                                             input_minimum=0)
        if len(weight_shape) < 3:
            raise ValueError(
                f"weight must have shape (C_out, C_in/groups, k1, ..., kd) with d >= 1, "
                f"or (k1, ..., kd) with input_shape (n1, ..., nd); got weight.shape={weight_shape} "
                f"and input_shape={input_shape}"
            )
        ndim = len(weight_shape) - 2
        if len(input_shape) != ndim + 1:
            raise ValueError(
                f"weight.shape={weight_shape} is a {ndim}-D kernel, so input_shape must be "
                f"(C_in, n1, ..., n{ndim}) with {ndim + 1} entries, got input_shape={input_shape}"
            )
        if input_shape[0] < 1:
            raise ValueError(f"input_shape[0] must be >= 1, got input_shape={input_shape}")
        groups = _positive(self.groups, "groups")
        c_out, c_in_g = weight_shape[:2]
        c_in = input_shape[0]
        _check_groups_divide(groups, c_in, c_out)
        if c_in_g * groups != c_in:
            raise ValueError(
                f"channel mismatch: weight.shape[1] * groups must equal C_in = input_shape[0], "
                f"got weight.shape[1]={c_in_g}, groups={groups}, input_shape[0]={c_in}"
            )
        geometry = ConvGeometry(weight_shape[2:], stride=self.stride, padding=self.padding,
                                dilation=self.dilation, groups=groups,
                                padding_mode=self.padding_mode, flip=self.flip,
                                in_channels=c_in, out_channels=c_out)
        return geometry, weight_shape, input_shape

    # ---- shapes ---------------------------------------------------------
    @property
    def ndim(self) -> int:
        """Number of spatial axes d."""
        return len(self.weight_shape) - 2

    @property
    def out_channels(self) -> int:
        return self.weight_shape[0]

    @property
    def in_channels(self) -> int:
        return self.input_shape[0]

    @property
    def in_channels_per_group(self) -> int:
        return self.weight_shape[1]

    @property
    def out_channels_per_group(self) -> int:
        return self.weight_shape[0] // self.groups

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return self.weight_shape[2:]

    @property
    def input_spatial(self) -> tuple[int, ...]:
        return self.input_shape[1:]

    @property
    def output_spatial(self) -> tuple[int, ...]:
        return tuple(t.shape[0] for t in self._tables)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """``(C_out, o1, ..., od)``."""
        return (self.out_channels,) + self.output_spatial

    @property
    def matrix_shape(self) -> tuple[int, int]:
        """``(C_out * prod(o), C_in * prod(n))``: the shape of the conv matrix."""
        return (int(np.prod(self.output_shape)), int(np.prod(self.input_shape)))

    @property
    def n_weights(self) -> int:
        """Number of kernel weights, ``C_out * C_in/groups * prod(k)`` (no bias)."""
        return int(np.prod(self.weight_shape))

    # ---- taps -----------------------------------------------------------
    def axis_table(self, axis: int) -> np.ndarray:
        """The read-only tap table of spatial ``axis``; see :func:`~convtheory.geometry.axis_taps`."""
        return self._tables[axis]

    def kernel_order(self, axis: int) -> np.ndarray:
        """Weight index carried by each kernel position on ``axis``.

        ``arange(k)`` for cross-correlation, reversed for ``flip=True``.
        """
        k = self.kernel_size[axis]
        order = np.arange(k, dtype=np.int64)
        return order[::-1].copy() if self.flip else order

    def with_input(self, input_shape) -> "ConvSpec":
        """The same geometry and kernel applied to another input size.

        Examples
        --------
        >>> ConvSpec((3,), (8,)).with_input((1, 20)).output_shape
        (1, 18)
        """
        return self.geometry.bind(input_shape)

    def replace(self, **changes) -> "ConvSpec":
        """A new spec with some arguments changed, re-validated.

        The padding is the geometry's, as written, so a rule such as
        ``"same_upper"`` is resolved again for a new ``input_shape``.

        Examples
        --------
        >>> ConvSpec((3,), (8,)).replace(padding_mode="circular", padding=1).output_shape
        (1, 8)
        """
        args = dict(weight_shape=self.weight_shape, input_shape=self.input_shape,
                    **self.geometry.conv_kwargs())
        unknown = set(changes) - set(args)
        if unknown:
            raise TypeError(f"ConvSpec.replace got unknown arguments {sorted(unknown)}; "
                            f"allowed: {sorted(args)}")
        args.update(changes)
        return ConvSpec(**args)

    def conv_kwargs(self) -> dict:
        """The conv options as keyword arguments for the builders (padding resolved)."""
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.padding_mode, flip=self.flip)
