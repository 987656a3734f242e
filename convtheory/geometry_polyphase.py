"""Polyphase decomposition of a strided axis: the geometry core's multirate tables.

A stride-``s`` conv is a sum of stride-1 convs, one per polyphase component
of its input (:func:`polyphase_split` gives each position's component and
shift); :func:`polyphase_grids` gives the grids on which the components of a
circular conv all have the same size.  Both belong to the geometry core, like
:mod:`convtheory.geometry`, which re-exports them.
"""

from __future__ import annotations

import numpy as np

from .validation import as_int

__all__ = ["polyphase_grids", "polyphase_split"]


def polyphase_split(positions, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Split positions on a stride-``s`` axis into polyphase class and shift: ``c = s*shift + phase``.

    A stride-``s`` conv reads position ``o*s + c`` for output ``o``; writing
    ``c = s*u + p`` with ``0 <= p < s`` makes it a stride-1 conv of the
    polyphase component ``p`` (the inputs ``x[s*j + p]``) shifted by ``u``
    (Vaidyanathan, *Multirate Systems and Filter Banks*, 1993, ch. 4).
    Negative positions get a negative shift (floor division).

    Parameters
    ----------
    positions : array_like of int
    stride : int

    Returns
    -------
    phase, shift : ndarray of int64, the shape of ``positions``

    Examples
    --------
    >>> phase, shift = polyphase_split([-1, 0, 1, 2, 3], 2)
    >>> phase.tolist(), shift.tolist()
    ([1, 0, 1, 0, 1], [-1, 0, 0, 1, 1])
    >>> bool(np.all(2 * shift + phase == [-1, 0, 1, 2, 3]))
    True
    """
    stride = as_int(stride, "stride", minimum=1)
    c = np.asarray(positions, dtype=np.int64)
    return np.mod(c, stride), np.floor_divide(c, stride)


def polyphase_grids(base, stride, count: int = 1) -> list[tuple[int, ...]]:
    """The ``count`` smallest grids ``m >= base`` whose every axis is divisible by its stride.

    A stride-``s`` circular conv on such a grid splits into ``s^d`` polyphase
    components of equal size ``m / s`` (see :func:`polyphase_split`); the
    ``e``-th grid adds ``e`` strides to every axis.

    Examples
    --------
    >>> polyphase_grids((7, 9), (2, 1), count=2)
    [(8, 9), (10, 10)]
    """
    base = tuple(as_int(n, "base", minimum=1) for n in base)
    stride = tuple(as_int(s, "stride", minimum=1) for s in stride)
    count = as_int(count, "count", minimum=1)
    first = tuple(-(-n // s) * s for n, s in zip(base, stride))
    return [tuple(m + e * s for m, s in zip(first, stride)) for e in range(count)]
