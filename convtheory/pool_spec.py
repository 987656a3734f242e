"""The geometry of pooling: PyTorch's output sizes, windows as tap tables, adaptive windows.

A pool reads windows exactly as a one-channel convolution does, so its taps
are a :class:`~convtheory.spec.ConvSpec`'s tap tables (:func:`pool_spec`).
PyTorch's ``ceil_mode`` rule (the last window must start inside the input or
the left padding), the divisors of average pooling, and the windows of
adaptive pooling (``start = floor(i*n/o)``, ``end = ceil((i+1)*n/o)``) are
computed here and nowhere else; with :mod:`convtheory.geometry` this module is
part of the geometry core.
"""

from __future__ import annotations

import numpy as np

from .geometry import MAX_AXIS_TAPS, _as_int, _as_shape, _per_axis, axis_taps
from .spec import ConvSpec

__all__ = ["adaptive_axis_taps", "adaptive_output_size", "adaptive_pool_windows", "avg_pool_divisors",
           "blur_pool_padding", "pool_output_shape", "pool_spec"]


# A pool reads windows exactly as a one-channel convolution does, so its taps
# are a ConvSpec's tap tables: ``pool_spec`` binds the pool's options to one.
# ``ceil_mode`` adds windows that hang over the high padding; those taps land
# outside the input and read as -1, like any padding tap.  Adaptive pools have
# windows of varying length, laid out as a tap table padded with -1.
def _pool_arguments(input_spatial, kernel_size, stride, padding, dilation):
    """Validate pool arguments (PyTorch's forms: an int or one int per axis)."""
    input_spatial = _as_shape(input_spatial, "input_shape", minimum=1)
    ndim = len(input_spatial)
    k = _per_axis(kernel_size, ndim, "kernel_size", minimum=1)
    s = k if stride is None else _per_axis(stride, ndim, "stride", minimum=1)
    p = _per_axis(padding, ndim, "padding", minimum=0)
    d = _per_axis(dilation, ndim, "dilation", minimum=1)
    for axis, (ka, pa) in enumerate(zip(k, p)):
        if 2 * pa > ka:  # PyTorch's rule: a window is never only padding
            raise ValueError(
                f"padding should be at most half of kernel_size (as in PyTorch), got "
                f"padding={padding!r} and kernel_size={kernel_size!r} on spatial axis {axis}"
            )
    return input_spatial, k, s, p, d


def _pool_length(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool, axis: int) -> int:
    extent = d * (k - 1) + 1
    span = n + 2 * p - extent
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window must start inside the input or the left padding
    if out < 1:
        raise ValueError(
            f"the pooling window is larger than the padded input on spatial axis {axis}: "
            f"dilation*(kernel_size-1)+1 = {extent} > input + padding = {n}+2*{p} = {n + 2 * p}; "
            f"use a smaller kernel_size or dilation, or more padding"
        )
    return out


def pool_output_shape(input_spatial, kernel_size, *, stride=None, padding=0, dilation=1,
                      ceil_mode=False) -> tuple[int, ...]:
    """Spatial output shape of a max or average pool, as in ``torch.nn.MaxPoolNd``.

    Per axis, ``o = floor((n + 2p - d*(k-1) - 1) / s) + 1``, or with
    ``ceil_mode=True`` the ceiling, less one when the last window would start
    beyond the input and the left padding (``(o-1)*s >= n + p``): PyTorch's
    rule, so that every window reads at least one input.

    Parameters
    ----------
    input_spatial : tuple of int
        ``(n1, ..., nd)``.
    kernel_size, stride, padding, dilation : int or tuple of int
        As in ``torch.nn.MaxPool2d``; ``stride=None`` means ``kernel_size``,
        and ``padding`` is at most half of ``kernel_size``.
    ceil_mode : bool

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        When padding is over half the kernel, or no window fits.

    Examples
    --------
    >>> pool_output_shape((5,), 2)                   # floor: the last input is dropped
    (2,)
    >>> pool_output_shape((5,), 2, ceil_mode=True)   # ceil: a half window keeps it
    (3,)
    >>> pool_output_shape((5,), 2, padding=1, ceil_mode=True)  # a 4th window would read only padding
    (3,)
    """
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"ceil_mode must be a bool, got ceil_mode={ceil_mode!r}")
    n, k, s, p, d = _pool_arguments(input_spatial, kernel_size, stride, padding, dilation)
    return tuple(_pool_length(*args, bool(ceil_mode), axis)
                 for axis, args in enumerate(zip(n, k, s, p, d)))


def pool_spec(input_spatial, kernel_size, *, stride=None, padding=0, dilation=1,
              ceil_mode=False) -> ConvSpec:
    """The one-channel :class:`ConvSpec` whose taps are a pool's windows.

    The low padding is ``padding``; the high padding is ``padding``, or more
    with ``ceil_mode`` when the last window hangs over it.  Taps that land
    outside the input (``-1`` in the tap tables) are padding: a max pool reads
    them as ``-inf``, an average pool as ``0``.

    Parameters
    ----------
    input_spatial, kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`pool_output_shape`.

    Returns
    -------
    ConvSpec
        Weight ``(1, 1, k1, ..., kd)`` on input ``(1, n1, ..., nd)``.

    Examples
    --------
    >>> spec = pool_spec((5,), 2, ceil_mode=True)
    >>> spec.padding, spec.output_spatial
    (((0, 1),), (3,))
    >>> spec.axis_table(0).tolist()          # the last window hangs over the end
    [[0, 1], [2, 3], [4, -1]]
    """
    out = pool_output_shape(input_spatial, kernel_size, stride=stride, padding=padding,
                            dilation=dilation, ceil_mode=ceil_mode)
    n, k, s, p, d = _pool_arguments(input_spatial, kernel_size, stride, padding, dilation)
    pads = tuple((pa, max(pa, (o - 1) * sa + da * (ka - 1) + 1 - na - pa))
                 for na, ka, sa, pa, da, o in zip(n, k, s, p, d, out))
    return ConvSpec((1, 1) + k, (1,) + n, stride=s, padding=pads, dilation=d)


def avg_pool_divisors(input_spatial, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True) -> tuple[np.ndarray, ...]:
    """Per-axis divisors of ``torch.nn.AvgPoolNd``; a window's divisor is their product.

    On each axis a window starts at ``o*s - p`` and its counted length ends
    at ``min(start + k, n + p)``: padding counts (``count_include_pad=True``),
    the overhang of ``ceil_mode`` does not.  With ``count_include_pad=False``
    the window is clipped to the input ``[0, n)``.

    Returns
    -------
    tuple of (o,) int64 ndarray

    Examples
    --------
    >>> avg_pool_divisors((6,), 3, stride=2, padding=1, ceil_mode=True)  # overhang not counted
    (array([3, 3, 3, 2]),)
    >>> avg_pool_divisors((5,), 3, stride=2, padding=1, count_include_pad=False)
    (array([2, 3, 2]),)
    """
    spec = pool_spec(input_spatial, kernel_size, stride=stride, padding=padding,
                     ceil_mode=ceil_mode)
    divisors = []
    for axis in range(spec.ndim):
        n, k, s = spec.input_spatial[axis], spec.kernel_size[axis], spec.stride[axis]
        p = spec.padding[axis][0]
        start = np.arange(spec.output_spatial[axis], dtype=np.int64) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        divisors.append(end - start)
    return tuple(divisors)


def adaptive_pool_windows(n: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``[start, end)`` of an adaptive pool from ``n`` inputs to ``out`` outputs.

    ``start = floor(i*n/out)`` and ``end = ceil((i+1)*n/out)``, as in
    ``torch.nn.AdaptiveAvgPool1d``; windows overlap when ``out`` does not
    divide ``n``.

    Examples
    --------
    >>> adaptive_pool_windows(5, 3)
    (array([0, 1, 3]), array([2, 4, 5]))
    """
    n = _as_int(n, "input size")
    out = _as_int(out, "output_size")
    if n < 1 or out < 1:
        raise ValueError(f"adaptive pooling needs input size and output_size >= 1, "
                         f"got input size {n} and output_size={out}")
    if out > MAX_AXIS_TAPS:
        raise ValueError(f"output_size={out:,} is over MAX_AXIS_TAPS={MAX_AXIS_TAPS:,} windows "
                         f"per axis; no explicit view of a pool this large fits in memory")
    i = np.arange(out, dtype=np.int64)
    return (i * n) // out, -((-(i + 1) * n) // out)


def adaptive_axis_taps(n: int, out: int) -> np.ndarray:
    """Tap table of one axis of an adaptive pool: window ``i`` reads ``table[i, :len_i]``.

    The table has as many columns as the longest window; shorter windows
    are filled with ``-1`` (no tap), as padding is in :func:`axis_taps`.

    Examples
    --------
    >>> adaptive_axis_taps(5, 3).tolist()
    [[0, 1, -1], [1, 2, 3], [3, 4, -1]]
    """
    start, end = adaptive_pool_windows(n, out)
    width = int((end - start).max())
    if out * width > MAX_AXIS_TAPS:
        raise ValueError(f"an adaptive pool from {n:,} to {out:,} positions has windows of up to "
                         f"{width:,}: {out * width:,} taps, over MAX_AXIS_TAPS={MAX_AXIS_TAPS:,}; "
                         f"no explicit view of a pool this large fits in memory")
    table = start[:, None] + np.arange(width, dtype=np.int64)[None, :]
    return np.where(table < end[:, None], table, -1)


def adaptive_output_size(input_spatial, output_size) -> tuple[int, ...]:
    """Resolve ``output_size`` of an adaptive pool (an int, or a tuple with ``None`` = keep).

    Examples
    --------
    >>> adaptive_output_size((7, 9), (3, None))
    (3, 9)
    """
    input_spatial = _as_shape(input_spatial, "input_shape", minimum=1)
    ndim = len(input_spatial)
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != ndim:
            raise ValueError(f"output_size must be an int or a tuple of {ndim} ints or None, "
                             f"got output_size={output_size!r}")
        sizes = tuple(n if o is None else _as_int(o, f"output_size[{i}]")
                      for i, (n, o) in enumerate(zip(input_spatial, output_size)))
    else:
        sizes = (_as_int(output_size, "output_size"),) * ndim
    for o in sizes:
        if o < 1:
            raise ValueError(f"output_size must be >= 1 on every axis, got output_size={output_size!r}")
    return sizes


def blur_pool_padding(filter_size: int) -> tuple[int, int]:
    """Padding ``(lo, hi)`` of a blur pool's axis, as the paper's code pads it.

    Zhang (2019), ``antialiased_cnns.BlurPool``: ``floor((k-1)/2)`` before and
    ``ceil((k-1)/2)`` after, so an even filter puts its extra sample on the
    high side, and a stride-``s`` blur pool has ``ceil(n/s)`` outputs.

    Examples
    --------
    >>> blur_pool_padding(3), blur_pool_padding(4)
    ((1, 1), (1, 2))
    """
    k = _as_int(filter_size, "filter_size")
    if k < 1:
        raise ValueError(f"filter_size must be >= 1, got filter_size={k}")
    return (k - 1) // 2, (k - 1) - (k - 1) // 2
