"""Receptive fields of a black box, inferred by probing it with impulses.

:func:`receptive_field_map` pushes each input position up, then down, by a
large amount and records the output positions that move: a
:class:`~convtheory.receptive_field_map.ReceptiveFieldMap` of boxes, with the
unclipped (border-free) outputs marked.  ``mode="interior"`` of
:func:`~convtheory.testing.assert_translation_equivariant` compares only
those outputs when no geometry is given.
"""

from __future__ import annotations

import math

import numpy as np

from ..receptive_field_map import ReceptiveFieldMap
from ..validation import as_int as _as_int, as_shape as _as_shape
from ..verdict import as_compared
from .error_map import DEFAULT_MAX_BYTES, _check_budget, _spatial_ndim

__all__ = ["DEFAULT_MAX_CALLS", "receptive_field_map"]

#: Default ceiling on the calls :func:`receptive_field_map` makes (two per spatial position).
DEFAULT_MAX_CALLS = 2**15


def receptive_field_map(f, input_shape, *, ndim: int | None = None, seed: int = 0,
                        max_calls: int = DEFAULT_MAX_CALLS,
                        max_bytes: int = DEFAULT_MAX_BYTES) -> ReceptiveFieldMap:
    """Infer the receptive fields of a black box by probing it with impulses.

    Each input position (all leading batch and channel entries at once) is
    pushed up, then down, by a large amount, and the output positions that
    move are its dependents.  Costs ``2 * prod(spatial input)`` calls of
    ``f``; pass :meth:`ReceptiveFieldMap.from_spec` instead when the geometry is
    known.

    Parameters
    ----------
    f : callable
        ``ndarray -> ndarray``; the trailing ``ndim`` axes of input and
        output are spatial.
    input_shape : tuple of int
    ndim : int, optional
        Number of trailing spatial axes; default 1 for a 1-D input, else 2.
    seed : int
        Seed of the random base point.
    max_calls : int
        Refuse, before calling ``f``, when ``2 * prod(spatial input)``
        exceeds this (default :data:`DEFAULT_MAX_CALLS`).
    max_bytes : int
        Refuse, before calling ``f``, when :func:`estimate_bytes` of one
        sample exceeds this (default :data:`DEFAULT_MAX_BYTES`).

    Returns
    -------
    ReceptiveFieldMap
        ``clean`` marks the outputs whose box has the most common extent on
        every axis (the unclipped footprint; border outputs are clipped,
        folded or wrapped).  This needs an image larger than twice the
        border.

    Examples
    --------
    >>> from scipy.ndimage import correlate1d
    >>> rf = receptive_field_map(lambda x: correlate1d(x, [1.0, 2, 3], mode="constant"), (6,))
    >>> rf.lo[:, 0].tolist(), rf.hi[:, 0].tolist()
    ([0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 5, 5])
    >>> rf.clean.tolist()
    [False, True, True, True, True, False]
    """
    input_shape = _as_shape(input_shape, "input_shape")
    d = _spatial_ndim(ndim, input_shape)
    spatial = input_shape[-d:]
    calls = 2 * math.prod(spatial)
    if calls > _as_int(max_calls, "max_calls"):
        raise ValueError(
            f"receptive_field_map would call f {calls:,} times (twice per spatial position of "
            f"{spatial}), over max_calls={max_calls:,}; probe a smaller input_shape, pass the "
            f"geometry (ReceptiveFieldMap.from_spec(spec)), or raise max_calls"
        )
    _check_budget("receptive_field_map", input_shape, 1, max_bytes)
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(input_shape)
    y0 = _finite(f(x0), "f(x)")
    if y0.ndim < d:
        raise ValueError(f"f(x).shape={y0.shape} has fewer than ndim={d} spatial axes")
    out_spatial = y0.shape[-d:]
    big = 100.0 * (1.0 + np.abs(x0).max())
    lo = np.full(out_spatial + (d,), np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(out_spatial + (d,), -1, dtype=np.int64)
    for j in np.ndindex(*spatial):
        moved = np.zeros(out_spatial, dtype=bool)
        for sign in (1.0, -1.0):
            x = x0.copy()
            x[(Ellipsis,) + j] += sign * big
            y = _finite(f(x), f"f(x + impulse at {j})")
            if y.shape != y0.shape:
                raise ValueError(f"f(x + impulse at {j}).shape={y.shape} differs from "
                                 f"f(x).shape={y0.shape}")
            delta = np.abs(y - y0).reshape((-1,) + out_spatial).max(axis=0)
            # Relative to this impulse's largest response: FFT-based callables leave ~1e-16 noise.
            moved |= delta > 1e-9 * delta.max() if delta.max() > 0 else False
        lo[moved] = np.minimum(lo[moved], j)
        hi[moved] = np.maximum(hi[moved], j)
    empty = hi[..., 0] < 0
    lo[empty] = -1
    extent = np.where(empty[..., None], 0, hi - lo + 1)
    clean = ~empty
    for axis in range(d):
        values, counts = np.unique(extent[..., axis][~empty], return_counts=True)
        if len(values):
            clean &= extent[..., axis] == values[np.argmax(counts)]
    return ReceptiveFieldMap(lo, hi, clean, spatial)


def _finite(value, what: str) -> np.ndarray:
    """A numeric output with only finite entries: NaN would hide where an impulse arrives."""
    out = as_compared(value, what)
    if not np.all(np.isfinite(out)):
        at = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise ValueError(f"{what} holds {out[at]} at {at}; a receptive field is read from finite "
                         f"responses only")
    return out
