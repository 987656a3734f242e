"""Convolution geometry: the one place where conv index arithmetic lives.

A convolution with fixed geometry is a linear map from weights to matrices.
This module validates that geometry (:class:`ConvSpec`), computes output
shapes (:func:`output_shape`, the arithmetic of Dumoulin & Visin) and, per
spatial axis, the *tap table*: which input position each output position reads
through each kernel position (:func:`axis_taps`).  Every other module derives
its indices from these tables; none recomputes ``o*stride + a*dilation - pad``.

Conventions (PyTorch's, because that is what users paste in):

* ``padding`` is an int, a per-axis tuple of ints, a per-axis tuple of
  ``(lo, hi)`` pairs, or one of ``"valid"``, ``"same"``, ``"full"``.
  ``"same"`` follows PyTorch: total ``d*(k-1)`` per axis, ``lo = total // 2``
  and the extra element on the high side; stride 1 only.  ``"full"`` pads
  ``d*(k-1)`` on each side.
* ``padding_mode`` is ``"zeros"``, ``"circular"``, ``"reflect"`` or
  ``"replicate"``: the input is padded, then a valid, strided, dilated
  cross-correlation is taken, exactly as ``torch.nn.ConvNd`` does.
* ``flip=True`` turns cross-correlation into true convolution (the kernel is
  reversed along every spatial axis), as in ``scipy.signal.convolve``.
"""

from __future__ import annotations

import numbers
import operator
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MAX_AXIS_TAPS",
    "MAX_INT",
    "PADDING_MODES",
    "PADDING_STRINGS",
    "ConvSpec",
    "axis_taps",
    "onnx_auto_pad",
    "output_shape",
    "resolve_padding",
]

#: The boundary modes of ``torch.nn.ConvNd``.
PADDING_MODES = ("zeros", "circular", "reflect", "replicate")
#: The padding strings understood by :func:`resolve_padding`.
PADDING_STRINGS = ("valid", "same", "full")
#: Largest per-axis tap table (output length x kernel length) a ConvSpec builds:
#: 2**26 int64 entries, 512 MiB.  Every view of a conv is larger than its tables.
MAX_AXIS_TAPS = 2**26

#: Bound (exclusive) on the magnitude of every integer of a ConvSpec: indices
#: are computed in int64, so larger values would overflow, not fail cleanly.
MAX_INT = 2**62


# --------------------------------------------------------------------------
# Argument normalisation
# --------------------------------------------------------------------------
def _as_int(value, name: str) -> int:
    """Return ``value`` as a Python int, or raise a TypeError naming ``name``.

    Booleans are refused: ``stride=True`` is a bug, not a stride of 1.
    Integral floats (``3.0``) are refused too, because shapes are counts.
    Magnitudes of :data:`MAX_INT` or more are refused with a ValueError: the
    index arithmetic is int64, and no real geometry comes near.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer, got {value!r} of type {type(value).__name__}"
        )
    value = operator.index(value)
    if abs(value) >= MAX_INT:
        raise ValueError(f"{name} must be less than 2**62 in magnitude, got {name}={value}")
    return value


def _as_shape(value, name: str, *, minimum: int = 1) -> tuple[int, ...]:
    """Validate a shape: a sequence of integers, each ``>= minimum``."""
    if isinstance(value, (numbers.Integral, str)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence of integers, got {value!r}")
    shape = tuple(_as_int(v, f"{name}[{i}]") for i, v in enumerate(value))
    for i, v in enumerate(shape):
        if v < minimum:
            raise ValueError(f"{name}[{i}] must be >= {minimum}, got {name}={shape}")
    return shape


def _per_axis(value, ndim: int, name: str, *, minimum: int) -> tuple[int, ...]:
    """Broadcast an int or validate a per-axis tuple of ints (stride, dilation)."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        values = (_as_int(value, name),) * ndim
    elif isinstance(value, (tuple, list)):
        if len(value) != ndim:
            raise ValueError(
                f"{name} must be an int or a tuple of {ndim} ints (one per spatial "
                f"axis), got {name}={value!r}"
            )
        values = tuple(_as_int(v, f"{name}[{i}]") for i, v in enumerate(value))
    else:
        raise TypeError(
            f"{name} must be an int or a tuple of {ndim} ints, got {value!r} "
            f"of type {type(value).__name__}"
        )
    for v in values:
        if v < minimum:
            raise ValueError(f"{name} must be >= {minimum} on every axis, got {name}={value!r}")
    return values


def resolve_padding(padding, kernel_spatial, *, stride=1, dilation=1) -> tuple[tuple[int, int], ...]:
    """Resolve any accepted ``padding`` form into per-axis ``(lo, hi)`` pairs.

    Parameters
    ----------
    padding : int, tuple of int, tuple of (int, int), or {"valid", "same", "full"}
        The padding as a user writes it.
    kernel_spatial : tuple of int
        Kernel size per spatial axis.
    stride, dilation : int or tuple of int
        Needed for ``"same"`` (stride 1 only) and for ``"same"``/``"full"``
        (the dilated kernel extent ``d*(k-1)+1``).

    Returns
    -------
    pairs : tuple of (int, int)
        ``(lo, hi)`` zero-or-positive padding per spatial axis.

    Examples
    --------
    >>> resolve_padding("same", (4,))          # even kernel: extra on the high side
    ((1, 2),)
    >>> resolve_padding("full", (3, 3), dilation=2)
    ((4, 4), (4, 4))
    >>> resolve_padding(((0, 1), 2), (3, 3))
    ((0, 1), (2, 2))
    """
    kernel_spatial = _as_shape(kernel_spatial, "kernel_size")
    ndim = len(kernel_spatial)
    stride = _per_axis(stride, ndim, "stride", minimum=1)
    dilation = _per_axis(dilation, ndim, "dilation", minimum=1)
    if isinstance(padding, str):
        if padding not in PADDING_STRINGS:
            raise ValueError(
                f"padding must be an int, a tuple, or one of {PADDING_STRINGS}, "
                f"got padding={padding!r}"
            )
        if padding == "valid":
            return ((0, 0),) * ndim
        totals = [d * (k - 1) for k, d in zip(kernel_spatial, dilation)]
        if padding == "full":
            return tuple((t, t) for t in totals)
        if any(s != 1 for s in stride):
            raise ValueError(
                f"padding='same' needs stride 1 on every axis (as in PyTorch), "
                f"got stride={stride}; give explicit padding for strided convs"
            )
        return tuple((t // 2, t - t // 2) for t in totals)
    if isinstance(padding, (numbers.Integral, np.integer)) and not isinstance(padding, bool):
        p = _as_int(padding, "padding")
        pairs = ((p, p),) * ndim
    elif isinstance(padding, (tuple, list)):
        if len(padding) != ndim:
            raise ValueError(
                f"padding must have one entry per spatial axis ({ndim}), got padding={padding!r}"
            )
        pairs = []
        for i, entry in enumerate(padding):
            if isinstance(entry, (tuple, list)):
                if len(entry) != 2:
                    raise ValueError(
                        f"padding[{i}] must be an int or a (lo, hi) pair, got {entry!r}"
                    )
                pairs.append(
                    (_as_int(entry[0], f"padding[{i}][0]"), _as_int(entry[1], f"padding[{i}][1]"))
                )
            else:
                p = _as_int(entry, f"padding[{i}]")
                pairs.append((p, p))
        pairs = tuple(pairs)
    else:
        raise TypeError(
            f"padding must be an int, a tuple, or one of {PADDING_STRINGS}, "
            f"got {padding!r} of type {type(padding).__name__}"
        )
    for lo, hi in pairs:
        if lo < 0 or hi < 0:
            raise ValueError(f"padding must be >= 0, got padding={padding!r}")
    return pairs


def _output_length(n: int, k: int, stride: int, lo: int, hi: int, dilation: int, axis: int) -> int:
    extent = dilation * (k - 1) + 1
    padded = n + lo + hi
    if extent > padded:
        raise ValueError(
            f"the dilated kernel is larger than the padded input on spatial axis {axis}: "
            f"dilation*(kernel_size-1)+1 = {extent} > input + padding = {n}+{lo}+{hi} = {padded}; "
            f"pad more, or use a smaller kernel or dilation"
        )
    return (padded - extent) // stride + 1


def output_shape(input_spatial, kernel_spatial, *, stride=1, padding=0, dilation=1) -> tuple[int, ...]:
    """Spatial output shape of a convolution (Dumoulin & Visin, 2016).

    Per axis, ``o = floor((n + lo + hi - d*(k-1) - 1) / s) + 1``.

    Parameters
    ----------
    input_spatial, kernel_spatial : tuple of int
        Spatial sizes ``(n1, ..., nd)`` and ``(k1, ..., kd)``.
    stride, padding, dilation
        As in ``torch.nn.ConvNd``; ``padding`` takes every form of
        :func:`resolve_padding`.

    Returns
    -------
    tuple of int
        ``(o1, ..., od)``.

    Examples
    --------
    >>> output_shape((5, 5), (3, 3))
    (3, 3)
    >>> output_shape((5, 5), (3, 3), stride=2, padding=1)
    (3, 3)
    >>> output_shape((7,), (3,), dilation=2, padding="same")
    (7,)
    >>> output_shape((6,), (4,), padding="full")
    (9,)
    """
    input_spatial = _as_shape(input_spatial, "input_shape")
    kernel_spatial = _as_shape(kernel_spatial, "kernel_size")
    if len(input_spatial) != len(kernel_spatial):
        raise ValueError(
            f"input_shape and kernel_size must have the same number of spatial axes, "
            f"got input_shape={input_spatial} and kernel_size={kernel_spatial}"
        )
    ndim = len(kernel_spatial)
    stride_t = _per_axis(stride, ndim, "stride", minimum=1)
    dilation_t = _per_axis(dilation, ndim, "dilation", minimum=1)
    pads = resolve_padding(padding, kernel_spatial, stride=stride_t, dilation=dilation_t)
    return tuple(
        _output_length(n, k, s, lo, hi, d, axis)
        for axis, (n, k, s, (lo, hi), d) in enumerate(
            zip(input_spatial, kernel_spatial, stride_t, pads, dilation_t)
        )
    )


# --------------------------------------------------------------------------
# Per-axis tap tables
# --------------------------------------------------------------------------
def axis_taps(n: int, k: int, *, stride: int = 1, padding=(0, 0), dilation: int = 1,
              padding_mode: str = "zeros") -> np.ndarray:
    """Tap table of one spatial axis: which input position each tap reads.

    ``table[o, a]`` is the input index that output position ``o`` reads
    through kernel *position* ``a`` (positions are in input order; with
    ``flip=True`` position ``a`` carries weight ``k-1-a``, see
    :attr:`ConvSpec.kernel_order`).  ``-1`` marks a tap that lands in zero
    padding.  This function is the only place where
    ``o*stride + a*dilation - pad`` is computed.

    Boundary modes map the padded position ``q = o*s + a*d - lo`` back into
    ``[0, n)``:

    ==========  ===============================  =====================
    mode        position q < 0 or q >= n         picture for n=4, pad 2
    ==========  ===============================  =====================
    zeros       none (-1)                        ``- - 0 1 2 3 - -``
    circular    ``q mod n``                      ``2 3 0 1 2 3 0 1``
    reflect     mirror, edge not repeated        ``2 1 0 1 2 3 2 1``
    replicate   clip to the nearest edge         ``0 0 0 1 2 3 3 3``
    ==========  ===============================  =====================

    Parameters
    ----------
    n, k : int
        Input length and kernel length on this axis.
    stride, dilation : int
    padding : (int, int)
        ``(lo, hi)``.
    padding_mode : str

    Returns
    -------
    table : (o, k) ndarray of int64

    Examples
    --------
    >>> axis_taps(4, 3, padding=(1, 1))
    array([[-1,  0,  1],
           [ 0,  1,  2],
           [ 1,  2,  3],
           [ 2,  3, -1]])
    >>> axis_taps(4, 3, padding=(2, 2), padding_mode="reflect")[:, 0]
    array([2, 1, 0, 1, 2, 3])
    """
    lo, hi = padding
    out = _output_length(n, k, stride, lo, hi, dilation, 0)
    q = (np.arange(out, dtype=np.int64)[:, None] * stride
         + np.arange(k, dtype=np.int64)[None, :] * dilation - lo)
    if padding_mode == "zeros":
        return np.where((q >= 0) & (q < n), q, -1)
    if padding_mode == "circular":
        return np.mod(q, n)
    if padding_mode == "replicate":
        return np.clip(q, 0, n - 1)
    if padding_mode == "reflect":
        # One reflection suffices because ConvSpec requires lo, hi < n.
        q = np.abs(q)
        return np.where(q >= n, 2 * (n - 1) - q, q)
    raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got padding_mode={padding_mode!r}")


# --------------------------------------------------------------------------
# The validated specification
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvSpec:
    """A validated convolution geometry, in PyTorch's names and layouts.

    Construct it with the same arguments as :func:`convtheory.conv_matrix`,
    giving shapes rather than arrays.  The single-channel shorthand is
    accepted: when ``len(weight_shape) == len(input_shape)`` the shapes are
    read as ``(k1, ..., kd)`` and ``(n1, ..., nd)`` and stored with unit
    channel axes prepended.  After construction every field is normalised:
    ``stride`` and ``dilation`` are per-axis tuples and ``padding`` is a tuple
    of ``(lo, hi)`` pairs.

    Parameters
    ----------
    weight_shape : tuple of int
        ``(C_out, C_in/groups, k1, ..., kd)``.
    input_shape : tuple of int
        ``(C_in, n1, ..., nd)``.
    stride, padding, dilation, groups, padding_mode
        As in ``torch.nn.ConvNd``; see :func:`resolve_padding`.
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
    """

    weight_shape: tuple
    input_shape: tuple
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    padding_mode: str = "zeros"
    flip: bool = False
    _tables: tuple = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        weight_shape = _as_shape(self.weight_shape, "weight.shape")
        input_shape = _as_shape(self.input_shape, "input_shape")
        if len(weight_shape) == len(input_shape):  # single-channel shorthand
            weight_shape = (1, 1) + weight_shape
            input_shape = (1,) + input_shape
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
        groups = _as_int(self.groups, "groups")
        if groups < 1:
            raise ValueError(f"groups must be >= 1, got groups={groups}")
        c_out, c_in_g = weight_shape[:2]
        c_in = input_shape[0]
        if c_in % groups or c_out % groups:
            raise ValueError(
                f"groups must divide both C_in and C_out, got groups={groups} with "
                f"C_in={c_in} and C_out={c_out}"
            )
        if c_in_g * groups != c_in:
            raise ValueError(
                f"channel mismatch: weight.shape[1] * groups must equal C_in = input_shape[0], "
                f"got weight.shape[1]={c_in_g}, groups={groups}, input_shape[0]={c_in}"
            )
        if not isinstance(self.padding_mode, str):
            raise TypeError(f"padding_mode must be a string, got {self.padding_mode!r}")
        if self.padding_mode not in PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {PADDING_MODES}, got padding_mode={self.padding_mode!r}"
            )
        if not isinstance(self.flip, (bool, np.bool_)):
            raise TypeError(f"flip must be a bool, got flip={self.flip!r}")
        kernel = weight_shape[2:]
        stride = _per_axis(self.stride, ndim, "stride", minimum=1)
        dilation = _per_axis(self.dilation, ndim, "dilation", minimum=1)
        padding = resolve_padding(self.padding, kernel, stride=stride, dilation=dilation)
        spatial = input_shape[1:]
        if self.padding_mode == "reflect":
            for axis, (n, (lo, hi)) in enumerate(zip(spatial, padding)):
                if lo >= n or hi >= n:
                    raise ValueError(
                        f"reflect padding must be smaller than the input on every axis "
                        f"(as in PyTorch), got padding ({lo}, {hi}) for size {n} on spatial "
                        f"axis {axis}; use padding_mode='replicate' or a smaller padding"
                    )
        axes = list(enumerate(zip(spatial, kernel, stride, padding, dilation)))
        for axis, (n, k, s, p, d) in axes:  # raises, naming the axis, before any table is built
            entries = _output_length(n, k, s, p[0], p[1], d, axis) * k
            if entries > MAX_AXIS_TAPS:
                raise ValueError(
                    f"spatial axis {axis} would have {entries:,} taps (input {n}, kernel {k}), "
                    f"over MAX_AXIS_TAPS={MAX_AXIS_TAPS:,}; no explicit view of a conv this "
                    f"size fits in memory: use a smaller input or scipy.signal.fftconvolve"
                )
        tables = tuple(
            axis_taps(n, k, stride=s, padding=p, dilation=d, padding_mode=self.padding_mode)
            for _, (n, k, s, p, d) in axes
        )
        for table in tables:
            table.setflags(write=False)
        set_ = object.__setattr__
        set_(self, "weight_shape", weight_shape)
        set_(self, "input_shape", input_shape)
        set_(self, "stride", stride)
        set_(self, "dilation", dilation)
        set_(self, "padding", padding)
        set_(self, "groups", groups)
        set_(self, "flip", bool(self.flip))
        set_(self, "_tables", tables)

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
        """The read-only tap table of spatial ``axis``; see :func:`axis_taps`."""
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
        return ConvSpec(self.weight_shape, input_shape, stride=self.stride,
                        padding=self.padding, dilation=self.dilation, groups=self.groups,
                        padding_mode=self.padding_mode, flip=self.flip)

    def replace(self, **changes) -> "ConvSpec":
        """A new spec with some arguments changed, re-validated.

        Examples
        --------
        >>> ConvSpec((3,), (8,)).replace(padding_mode="circular", padding=1).output_shape
        (1, 8)
        """
        args = dict(weight_shape=self.weight_shape, input_shape=self.input_shape,
                    stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.padding_mode, flip=self.flip)
        unknown = set(changes) - set(args)
        if unknown:
            raise TypeError(f"ConvSpec.replace got unknown arguments {sorted(unknown)}; "
                            f"allowed: {sorted(args)}")
        args.update(changes)
        return ConvSpec(**args)

    def conv_kwargs(self) -> dict:
        """The conv options as keyword arguments for the builders."""
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.padding_mode, flip=self.flip)


def onnx_auto_pad(auto_pad: str, input_spatial, kernel_spatial, *, stride=1, dilation=1):
    """Resolve ONNX's ``auto_pad`` into per-axis ``(lo, hi)`` pairs for an input size.

    ``SAME_UPPER``/``SAME_LOWER`` pad so that ``output = ceil(n / stride)``:
    the total ``max(0, (output - 1) * stride + d*(k-1) + 1 - n)`` is split
    with the odd unit at the end (``SAME_UPPER``) or the beginning
    (``SAME_LOWER``); ``VALID`` pads nothing (ONNX operator docs, Conv).

    Examples
    --------
    >>> onnx_auto_pad("SAME_UPPER", (5,), (4,)), onnx_auto_pad("SAME_LOWER", (5,), (4,))
    (((1, 2),), ((2, 1),))
    >>> onnx_auto_pad("SAME_UPPER", (7,), (3,), stride=2)   # output ceil(7/2) = 4
    ((1, 1),)
    """
    input_spatial = _as_shape(input_spatial, "input_spatial")
    ndim = len(input_spatial)
    kernel_spatial = _per_axis(kernel_spatial, ndim, "kernel_size", minimum=1)
    stride = _per_axis(stride, ndim, "stride", minimum=1)
    dilation = _per_axis(dilation, ndim, "dilation", minimum=1)
    if auto_pad == "VALID":
        return ((0, 0),) * ndim
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise ValueError(f"auto_pad must be one of ('SAME_UPPER', 'SAME_LOWER', 'VALID'), "
                         f"got auto_pad={auto_pad!r}")
    pairs = []
    for n, k, s, d in zip(input_spatial, kernel_spatial, stride, dilation):
        total = max(0, (-(-n // s) - 1) * s + d * (k - 1) + 1 - n)
        small, large = total // 2, total - total // 2
        pairs.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
    return tuple(pairs)
