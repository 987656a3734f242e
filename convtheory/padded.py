"""Padding once into a buffer, and its adjoint (folding the border back).

Every boundary mode is "pad the input, then take a valid conv" (PyTorch's
definition).  The fast paths use exactly that: :class:`Padder` writes the
input into a buffer of the padded size, filling the border from
:func:`~convtheory.geometry.padded_source_indices` (the geometry core's table
of which input position each padded position holds), and the conv is then a
valid conv on the buffer, read through the tap tables of
:meth:`Padder.valid_spec` (all slices: block copies, no index arrays).  The
adjoint of padding is :meth:`Padder.fold`: every border entry is added back
onto the input position it was copied from.  Nothing here computes an index
from stride, padding or dilation, so a boundary mode added to the geometry
works here unchanged.
"""

from __future__ import annotations

import numpy as np

from .geometry import padded_source_indices
from .spec import ConvSpec

__all__ = ["Padder"]


def _interior(table: np.ndarray, n: int) -> int:
    """Start of the run of the padded axis that holds the input unchanged (``arange(n)``)."""
    if n == 0:  # an empty axis: every padded position is border (and there are no outputs)
        return 0
    ramp = np.arange(n)
    for start in np.flatnonzero(table == 0):
        if start + n <= len(table) and np.array_equal(table[start:start + n], ramp):
            return int(start)
    raise ValueError("a padded axis must hold the input once, in order")  # every mode does


class Padder:
    """Pad ``(..., n1, ..., nd)`` arrays as ``spec`` pads its input, and fold them back.

    Parameters
    ----------
    spec : ConvSpec

    Examples
    --------
    >>> spec = ConvSpec((3,), (4,), padding=2, padding_mode="reflect")
    >>> p = Padder(spec)
    >>> p.pad(np.array([1.0, 2.0, 3.0, 4.0]))
    array([3., 2., 1., 2., 3., 4., 3., 2.])
    >>> np.allclose(p.pad(np.arange(4.0)), np.pad(np.arange(4.0), 2, mode="reflect"))
    True
    >>> p.fold(np.ones(8))  # the adjoint: how often each input is copied
    array([1., 3., 3., 1.])
    """

    def __init__(self, spec: ConvSpec):
        self.spec = spec
        self.tables = tuple(
            padded_source_indices(n, lo, hi, spec.padding_mode)
            for n, (lo, hi) in zip(spec.input_spatial, spec.padding)
        )
        self.padded_spatial = tuple(len(t) for t in self.tables)
        self.input_spatial = spec.input_spatial
        # Per axis: the interior slice and the border positions with their sources.
        self.interior = []
        self.borders = []
        for n, table in zip(spec.input_spatial, self.tables):
            start = _interior(table, n)
            self.interior.append(slice(start, start + n))
            border = [p for p in range(len(table)) if not start <= p < start + n]
            self.borders.append([(p, int(table[p]) + start if table[p] >= 0 else -1) for p in border])
        self.trivial = all(not b for b in self.borders)

    def valid_spec(self) -> ConvSpec:
        """The same conv on the padded buffer, with no padding: its tap tables are all slices."""
        s = self.spec
        return s.replace(input_shape=(s.in_channels,) + self.padded_spatial, padding=0,
                         padding_mode="zeros")

    def pad(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``x`` of shape ``(..., n1, ..., nd)`` padded to ``(..., p1, ..., pd)``, in ``out`` if given."""
        d = len(self.tables)
        lead = x.shape[:x.ndim - d]
        if out is None:
            out = np.empty(lead + self.padded_spatial, dtype=x.dtype)
        out[(Ellipsis,) + tuple(self.interior)] = x
        # Axis by axis: the border of axis i spans the full (already padded) range of
        # the axes before it and the interior of those after it, so corners come out
        # as the product of the per-axis maps, as numpy.pad makes them.
        for i, border in enumerate(self.borders):
            pre = (Ellipsis,) + (slice(None),) * i
            post = tuple(self.interior[i + 1:])
            for p, src in border:
                if src < 0:
                    out[pre + (p,) + post] = 0
                else:
                    out[pre + (p,) + post] = out[pre + (src,) + post]
        return out

    def fold(self, xp: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The adjoint of :meth:`pad`: border entries are added onto their sources.

        ``xp`` (``(..., p1, ..., pd)``) is overwritten in its border.  Returns
        ``(..., n1, ..., nd)``, a copy (in ``out`` if given).
        """
        d = len(self.tables)
        for i in reversed(range(d)):
            pre = (Ellipsis,) + (slice(None),) * i
            post = tuple(self.interior[i + 1:])
            for p, src in self.borders[i]:
                if src >= 0:
                    xp[pre + (src,) + post] += xp[pre + (p,) + post]
        inner = xp[(Ellipsis,) + tuple(self.interior)]
        if out is None:
            return inner.copy()
        out[...] = inner
        return out
