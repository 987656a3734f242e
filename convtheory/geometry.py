"""Convolution geometry: the one place where conv index arithmetic lives.

A convolution with fixed geometry is a linear map from weights to matrices.
This module resolves padding (:func:`resolve_padding`), computes output
shapes (:func:`output_shape`, the arithmetic of Dumoulin & Visin) and, per
spatial axis, the *tap table*: which input position each output position reads
through each kernel position (:func:`axis_taps`).  The geometry records that
carry these values, the shape-free :class:`~convtheory.spec.ConvGeometry` and
the bound :class:`~convtheory.spec.ConvSpec`, live in :mod:`convtheory.spec`;
the polyphase split of a strided axis (:func:`polyphase_split`,
:func:`polyphase_grids`) lives in :mod:`convtheory.geometry_polyphase` and is
re-exported here.  Every view derives its indices from these tables; none
recomputes ``o*stride + a*dilation - pad``.

Conventions (PyTorch's, because that is what users paste in):

* ``padding`` is an int, a per-axis tuple of ints, a per-axis tuple of
  ``(lo, hi)`` pairs, or one of ``"valid"``, ``"same"``, ``"same_upper"``,
  ``"same_lower"``, ``"full"``.  ``"same"`` follows PyTorch: total
  ``d*(k-1)`` per axis, ``lo = total // 2`` and the extra element on the high
  side; stride 1 only.  ``"same_upper"``/``"same_lower"`` are ONNX's
  ``auto_pad`` rules (TensorFlow's ``SAME`` is ``"same_upper"``): output
  ``ceil(n/s)`` for any stride and dilation, the odd element on the high
  (upper) or low (lower) side.  ``"full"`` pads ``d*(k-1)`` on each side.
* ``padding_mode`` is ``"zeros"``, ``"circular"``, ``"reflect"``,
  ``"replicate"`` or ``"symmetric"`` (the half-sample mirror, numpy's
  ``"symmetric"``): the input is padded, then a valid, strided, dilated
  cross-correlation is taken, exactly as ``torch.nn.ConvNd`` does.  Padding of
  any width extends the signal exactly as ``numpy.pad`` does; where PyTorch
  accepts the padding, that is also PyTorch's answer.
* ``flip=True`` turns cross-correlation into true convolution (the kernel is
  reversed along every spatial axis), as in ``scipy.signal.convolve``.
* An empty spatial axis (size 0) gives an empty output where no output reads
  the signal (as ``scipy.ndimage`` does); zero padding around it reads zeros.
"""

from __future__ import annotations

import numbers

import numpy as np

from .geometry_polyphase import polyphase_grids, polyphase_split
from .validation import MAX_INT, as_int, as_shape, per_axis

__all__ = [
    "MAX_AXIS_TAPS",
    "MAX_INT",
    "PADDING_MODES",
    "PADDING_STRINGS",
    "INPUT_DEPENDENT_PADDING",
    "axis_taps",
    "kernel_extent",
    "output_shape",
    "polyphase_grids",
    "polyphase_split",
    "padding_form",
    "resolve_padding",
]

#: The boundary modes: those of ``torch.nn.ConvNd``, and the half-sample mirror.
PADDING_MODES = ("zeros", "circular", "reflect", "replicate", "symmetric")
#: The padding strings understood by :func:`resolve_padding`.
PADDING_STRINGS = ("valid", "same", "same_upper", "same_lower", "full")
#: The padding strings whose resolution needs the input size.
INPUT_DEPENDENT_PADDING = ("same_upper", "same_lower")
#: Largest per-axis tap table (output length x kernel length) a ConvSpec builds:
#: 2**26 int64 entries, 512 MiB.  Every view of a conv is larger than its tables.
MAX_AXIS_TAPS = 2**26

# Argument normalisation lives in convtheory.validation (one contract for every
# public name); the private aliases keep this module's call sites unchanged.
_as_int = as_int
_as_shape = as_shape
_per_axis = per_axis


def padding_form(padding, ndim: int):
    """Validate ``padding`` without an input: a padding string, or ``(lo, hi)`` pairs.

    Strings stay strings (:data:`PADDING_STRINGS`; their pairs may depend on
    the kernel, the stride and, for ``"same_upper"``/``"same_lower"``, on the
    input size); every numeric form becomes one ``(lo, hi)`` pair per axis.

    Examples
    --------
    >>> padding_form(1, 2)
    ((1, 1), (1, 1))
    >>> padding_form("same_upper", 2)
    'same_upper'
    """
    if isinstance(padding, str):
        if padding not in PADDING_STRINGS:
            raise ValueError(
                f"padding must be an int, a tuple, or one of {PADDING_STRINGS}, "
                f"got padding={padding!r}"
            )
        return padding
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


def _same_auto_pad(n: int, k: int, stride: int, dilation: int, upper: bool) -> tuple[int, int]:
    """ONNX ``auto_pad`` SAME_UPPER/SAME_LOWER (TensorFlow's SAME is SAME_UPPER).

    ``out = ceil(n / s)``, ``total = max((out - 1)*s + (k - 1)*d + 1 - n, 0)``,
    the odd element on the high side (upper) or the low side (lower).
    """
    out = -(-n // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - n, 0)
    small, large = total // 2, total - total // 2
    return (small, large) if upper else (large, small)


def resolve_padding(padding, kernel_spatial, *, stride=1, dilation=1,
                    input_spatial=None) -> tuple[tuple[int, int], ...]:
    """Resolve any accepted ``padding`` form into per-axis ``(lo, hi)`` pairs.

    Parameters
    ----------
    padding : int, tuple of int, tuple of (int, int), or str
        The padding as a user writes it; the strings are

        * ``"valid"``: no padding;
        * ``"same"``: PyTorch's rule, stride 1 only: total ``d*(k-1)``,
          ``lo = total // 2``, the extra element on the high side;
        * ``"same_upper"``, ``"same_lower"``: ONNX's ``auto_pad`` (TensorFlow,
          Keras and JAX call ``"same_upper"`` ``SAME``), any stride and
          dilation: ``out = ceil(n/s)``, ``total = max((out-1)*s + (k-1)*d + 1
          - n, 0)``, the odd element on the high (upper) or low (lower) side;
        * ``"full"``: ``d*(k-1)`` on each side.
    kernel_spatial : tuple of int
        Kernel size per spatial axis.
    stride, dilation : int or tuple of int
        Needed by the strings (the dilated kernel extent ``d*(k-1)+1``).
    input_spatial : tuple of int, optional
        Spatial input size; required by ``"same_upper"`` and ``"same_lower"``.

    Returns
    -------
    pairs : tuple of (int, int)
        ``(lo, hi)`` zero-or-positive padding per spatial axis.

    Raises
    ------
    ValueError
        For ``"same"`` with a stride (use ``"same_upper"``), or
        ``"same_upper"``/``"same_lower"`` without ``input_spatial``.

    Examples
    --------
    >>> resolve_padding("same", (4,))          # even kernel: extra on the high side
    ((1, 2),)
    >>> resolve_padding("full", (3, 3), dilation=2)
    ((4, 4), (4, 4))
    >>> resolve_padding(((0, 1), 2), (3, 3))
    ((0, 1), (2, 2))

    TensorFlow's SAME with a stride: ``ceil(7/2) = 4`` outputs need
    ``(4-1)*2 + 3 - 7 = 2`` padded inputs; ``ceil(8/2) = 4`` need 1, on the
    high side for ``"same_upper"`` and on the low side for ``"same_lower"``:

    >>> resolve_padding("same_upper", (3, 3), stride=2, input_spatial=(7, 8))
    ((1, 1), (0, 1))
    >>> resolve_padding("same_lower", (3, 3), stride=2, input_spatial=(7, 8))
    ((1, 1), (1, 0))
    """
    kernel_spatial = _as_shape(kernel_spatial, "kernel_size")
    ndim = len(kernel_spatial)
    stride = _per_axis(stride, ndim, "stride", minimum=1)
    dilation = _per_axis(dilation, ndim, "dilation", minimum=1)
    form = padding_form(padding, ndim)
    if not isinstance(form, str):
        return form
    if form == "valid":
        return ((0, 0),) * ndim
    if form in INPUT_DEPENDENT_PADDING:
        if input_spatial is None:
            raise ValueError(
                f"padding={form!r} depends on the input size (ONNX's auto_pad): give "
                f"input_spatial, or bind the geometry to an input shape first"
            )
        input_spatial = _as_shape(input_spatial, "input_shape", minimum=0)
        if len(input_spatial) != ndim:
            raise ValueError(
                f"input_shape and kernel_size must have the same number of spatial axes, "
                f"got input_shape={input_spatial} and kernel_size={kernel_spatial}"
            )
        return tuple(_same_auto_pad(n, k, s, d, form == "same_upper")
                     for n, k, s, d in zip(input_spatial, kernel_spatial, stride, dilation))
    totals = [d * (k - 1) for k, d in zip(kernel_spatial, dilation)]
    if form == "full":
        return tuple((t, t) for t in totals)
    if any(s != 1 for s in stride):
        raise ValueError(
            f"padding='same' needs stride 1 on every axis (as in PyTorch), got stride={stride}; "
            f"for TensorFlow's and ONNX's 'same' with a stride (output ceil(n / stride)) use "
            f"padding='same_upper' (or 'same_lower'), or give explicit padding"
        )
    return tuple((t // 2, t - t // 2) for t in totals)


def kernel_extent(k: int, dilation: int) -> int:
    """Input positions spanned by a dilated kernel, ``d*(k-1) + 1``.

    Examples
    --------
    >>> kernel_extent(3, 2)
    5
    """
    return dilation * (k - 1) + 1


def _output_length(n: int, k: int, stride: int, lo: int, hi: int, dilation: int, axis: int) -> int:
    extent = kernel_extent(k, dilation)
    padded = n + lo + hi
    if extent > padded:
        if n == 0:  # an empty axis with no room for the kernel: an empty output, as scipy gives
            return 0
        raise ValueError(
            f"the dilated kernel is larger than the padded input on spatial axis {axis}: "
            f"dilation*(kernel_size-1)+1 = {extent} > input + padding = {n}+{lo}+{hi} = {padded}; "
            f"pad more, or use a smaller kernel or dilation"
        )
    return (padded - extent) // stride + 1


def output_shape(input_spatial, kernel_spatial, *, stride=1, padding=0, dilation=1) -> tuple[int, ...]:
    """Spatial output shape of a convolution (Dumoulin & Visin, 2016).

    Per axis, ``o = floor((n + lo + hi - d*(k-1) - 1) / s) + 1``; an empty
    axis (``n = 0``) whose padding leaves no room for the kernel gives ``o = 0``.

    Parameters
    ----------
    input_spatial, kernel_spatial : tuple of int
        Spatial sizes ``(n1, ..., nd)`` (each ``>= 0``) and ``(k1, ..., kd)``.
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
    >>> output_shape((7, 8), (3, 3), stride=2, padding="same_upper")   # ceil(n / 2)
    (4, 4)
    """
    input_spatial = _as_shape(input_spatial, "input_shape", minimum=0)
    kernel_spatial = _as_shape(kernel_spatial, "kernel_size")
    if len(input_spatial) != len(kernel_spatial):
        raise ValueError(
            f"input_shape and kernel_size must have the same number of spatial axes, "
            f"got input_shape={input_spatial} and kernel_size={kernel_spatial}"
        )
    ndim = len(kernel_spatial)
    stride_t = _per_axis(stride, ndim, "stride", minimum=1)
    dilation_t = _per_axis(dilation, ndim, "dilation", minimum=1)
    pads = resolve_padding(padding, kernel_spatial, stride=stride_t, dilation=dilation_t,
                           input_spatial=input_spatial)
    return tuple(
        _output_length(n, k, s, lo, hi, d, axis)
        for axis, (n, k, s, (lo, hi), d) in enumerate(
            zip(input_spatial, kernel_spatial, stride_t, pads, dilation_t)
        )
    )


# --------------------------------------------------------------------------
# Per-axis tap tables
# --------------------------------------------------------------------------
def _extend(q: np.ndarray, n: int, padding_mode: str) -> np.ndarray:
    """Map padded positions ``q`` into ``[0, n)`` as ``numpy.pad`` extends the signal.

    Each mode is periodic beyond the first reflection, so one ``mod`` covers
    padding of any width: numpy's bounce for reflect (period ``2(n-1)``) and
    symmetric (period ``2n``), its wrap (period ``n``) and its edge.
    """
    if padding_mode == "zeros":
        return np.where((q >= 0) & (q < n), q, -1)
    if padding_mode == "circular":
        return np.mod(q, n)
    if padding_mode == "replicate":
        return np.clip(q, 0, n - 1)
    if padding_mode == "reflect":
        if n == 1:  # numpy.pad repeats a single sample
            return np.zeros_like(q)
        period = 2 * (n - 1)
        r = np.mod(q, period)
        return np.where(r >= n, period - r, r)
    if padding_mode == "symmetric":
        period = 2 * n
        r = np.mod(q, period)
        return np.where(r >= n, period - 1 - r, r)
    raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got padding_mode={padding_mode!r}")


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
    ``[0, n)``, for padding of any width exactly as ``numpy.pad`` extends the
    signal (the same as PyTorch wherever PyTorch accepts the padding):

    ==========  ==============================  ========================
    mode        position q < 0 or q >= n        picture for n=4, pad 2
    ==========  ==============================  ========================
    zeros       none (-1)                       ``- - 0 1 2 3 - -``
    circular    ``q mod n``                     ``2 3 0 1 2 3 0 1``
    reflect     mirror, edge not repeated       ``2 1 0 1 2 3 2 1``
    replicate   clip to the nearest edge        ``0 0 0 1 2 3 3 3``
    symmetric   mirror, edge repeated           ``1 0 0 1 2 3 3 2``
    ==========  ==============================  ========================

    Parameters
    ----------
    n, k : int
        Input length (``>= 0``) and kernel length on this axis.
    stride, dilation : int
    padding : (int, int)
        ``(lo, hi)``.
    padding_mode : str

    Returns
    -------
    table : (o, k) ndarray of int64

    Raises
    ------
    ValueError
        For an empty axis (``n = 0``) with outputs and a mode other than
        ``"zeros"``: there is no signal to extend (numpy.pad refuses too).

    Examples
    --------
    >>> axis_taps(4, 3, padding=(1, 1))
    array([[-1,  0,  1],
           [ 0,  1,  2],
           [ 1,  2,  3],
           [ 2,  3, -1]])
    >>> axis_taps(4, 3, padding=(2, 2), padding_mode="reflect")[:, 0]
    array([2, 1, 0, 1, 2, 3])

    Padding wider than the input bounces as ``numpy.pad`` does:

    >>> q = axis_taps(4, 1, padding=(4, 4), padding_mode="reflect")[:, 0]
    >>> np.array([1, 2, 3, 4])[q].tolist() == np.pad([1, 2, 3, 4], 4, mode="reflect").tolist()
    True
    """
    n = as_int(n, "n", minimum=0)
    k = as_int(k, "k", minimum=1)
    stride = as_int(stride, "stride", minimum=1)
    dilation = as_int(dilation, "dilation", minimum=1)
    if not isinstance(padding, (tuple, list)) or len(padding) != 2:
        raise TypeError(f"padding must be a (lo, hi) pair of ints, got padding={padding!r}")
    lo = as_int(padding[0], "padding[0]", minimum=0)
    hi = as_int(padding[1], "padding[1]", minimum=0)
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got "
                         f"padding_mode={padding_mode!r}")
    out = _output_length(n, k, stride, lo, hi, dilation, 0)
    if out * k > MAX_AXIS_TAPS:
        raise ValueError(f"axis_taps would build a table of {out:,} x {k} = {out * k:,} taps, "
                         f"over MAX_AXIS_TAPS={MAX_AXIS_TAPS:,}; no explicit view of a conv this "
                         f"large fits in memory: use a smaller n")
    q = (np.arange(out, dtype=np.int64)[:, None] * stride
         + np.arange(k, dtype=np.int64)[None, :] * dilation - lo)
    _check_empty_axis(n, out, padding_mode)
    return _extend(q, n, padding_mode)


def _check_empty_axis(n: int, out: int, padding_mode: str) -> None:
    """Only zero padding can make outputs from an empty axis: every other mode copies inputs."""
    if n == 0 and out > 0 and padding_mode in PADDING_MODES and padding_mode != "zeros":
        raise ValueError(
            f"padding_mode={padding_mode!r} cannot extend an empty axis (input size 0) to "
            f"{out} outputs; use padding_mode='zeros', or less padding"
        )


# --------------------------------------------------------------------------
# Transposed convolution (Dumoulin & Visin, section 4)
# --------------------------------------------------------------------------
def _transposed_length(n: int, k: int, stride: int, lo: int, hi: int, dilation: int,
                       output_padding: int, axis: int) -> int:
    """PyTorch's ``(n - 1)*s - lo - hi + d*(k - 1) + output_padding + 1``, or a ValueError."""
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding must be smaller than either stride or dilation (as in PyTorch), "
            f"got output_padding={output_padding}, stride={stride} and dilation={dilation} "
            f"on spatial axis {axis}"
        )
    length = (n - 1) * stride - lo - hi + dilation * (k - 1) + output_padding + 1
    if length < 1:
        raise ValueError(
            f"the transposed conv has no output on spatial axis {axis}: (n-1)*stride - "
            f"padding + dilation*(kernel_size-1) + output_padding + 1 = ({n}-1)*{stride} - "
            f"{lo}-{hi} + {dilation}*({k}-1) + {output_padding} + 1 = {length}; use less padding"
        )
    return length


# --------------------------------------------------------------------------
# Padded buffers
# --------------------------------------------------------------------------
def padded_source_indices(n: int, lo: int, hi: int, padding_mode: str = "zeros") -> np.ndarray:
    """Which input position each position of the padded axis holds.

    The padded axis has ``lo + n + hi`` positions; entry ``p`` is the input
    index that ``numpy.pad``-style padding copies there, ``-1`` for a zero.
    It is the tap table of a one-tap kernel (:func:`axis_taps` with ``k=1``),
    so every boundary mode that :func:`axis_taps` knows works here too: a fast
    path may pad once into a buffer with this table, then read the buffer
    through the tap table of the same conv without padding.

    Examples
    --------
    >>> padded_source_indices(4, 2, 2, "reflect")
    array([2, 1, 0, 1, 2, 3, 2, 1])
    >>> padded_source_indices(3, 1, 2)
    array([-1,  0,  1,  2, -1, -1])
    """
    return axis_taps(n, 1, padding=(lo, hi), padding_mode=padding_mode)[:, 0]
