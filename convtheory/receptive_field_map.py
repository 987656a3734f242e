"""Receptive fields of one convolution, per output position.

:class:`ReceptiveFieldMap` is read off a conv's tap tables: the box of input
positions each output position reads, whether that box is the full, unwrapped
footprint, and which outputs a translation moves without meeting a border.
The equivariance checks and the ``convtheory.testing`` assertions both use
it.  The receptive field of a whole network, in closed form, is
:func:`convtheory.receptive_field.receptive_field`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import ConvSpec

__all__ = ["ReceptiveFieldMap"]


@dataclass(frozen=True, eq=False)
class ReceptiveFieldMap:
    """Which input positions each output position depends on, as boxes.

    Attributes
    ----------
    lo, hi : (o1, ..., od, d) int arrays
        Bounding box of the receptive field of each output position, per
        spatial axis (``lo = hi = -1`` where the output depends on nothing).
    clean : (o1, ..., od) bool array
        True where the receptive field is the full, unwrapped, unfolded
        footprint: the outputs a translation moves without meeting a border.
    input_spatial : tuple of int
    axis_clean : tuple of 1-D bool arrays, optional
        Per spatial axis, ``clean`` of that axis alone (``clean`` is their
        outer product).  Known for a convolution (:meth:`from_spec`): its
        tap tables act on each axis separately, so :meth:`interior` can
        judge each axis on its own.
    periodic : tuple of bool, optional
        Per spatial axis, True where the conv is circular and its outputs
        cover the circle (``output * stride == input``): a shift by a
        multiple of the stride meets no border there at all.

    Examples
    --------
    >>> rf = ReceptiveFieldMap.from_spec(ConvSpec((3,), (6,), padding=1))
    >>> rf.clean.tolist()
    [False, True, True, True, True, False]
    >>> rf.interior((1,), (1,)).tolist()
    [False, True, True, True, False, False]
    """

    lo: np.ndarray
    hi: np.ndarray
    clean: np.ndarray
    input_spatial: tuple
    axis_clean: tuple | None = None
    periodic: tuple | None = None

    @property
    def output_spatial(self) -> tuple:
        return self.clean.shape

    @classmethod
    def from_spec(cls, spec: ConvSpec) -> "ReceptiveFieldMap":
        """Exact receptive fields of a convolution, from its tap tables.

        An output is clean on an axis when it reads only real inputs (no
        zero padding) in strictly increasing order (no wrap, no reflection,
        no replicated edge).  Circular axes whose outputs cover the circle
        are ``periodic``.
        """
        if not isinstance(spec, ConvSpec):
            raise TypeError(f"spec must be a ConvSpec, got {type(spec).__name__}")
        d = spec.ndim
        shape = spec.output_spatial
        lo = np.empty(shape + (d,), dtype=np.int64)
        hi = np.empty(shape + (d,), dtype=np.int64)
        clean = np.ones(shape, dtype=bool)
        per_axis_clean, periodic = [], []
        for axis in range(d):
            table = spec.axis_table(axis)
            valid = table >= 0
            masked = np.where(valid, table, np.iinfo(np.int64).max)
            axis_lo = masked.min(axis=1)
            axis_hi = np.where(valid, table, -1).max(axis=1)
            axis_clean = valid.all(axis=1) & np.all(np.diff(table, axis=1) > 0, axis=1)
            view = [1] * d
            view[axis] = len(table)
            lo[..., axis] = axis_lo.reshape(view)
            hi[..., axis] = axis_hi.reshape(view)
            clean &= axis_clean.reshape(view)
            per_axis_clean.append(axis_clean)
            periodic.append(spec.padding_mode == "circular"
                            and len(table) * spec.stride[axis] == spec.input_spatial[axis])
        return cls(lo, hi, clean, spec.input_spatial, tuple(per_axis_clean), tuple(periodic))

    def interior(self, shift, output_shift) -> np.ndarray:
        """Output positions ``q`` whose comparison under ``shift`` is border-free.

        ``q`` is compared with ``q + output_shift`` of the shifted input; it
        qualifies when its receptive field is clean and stays inside the
        input after moving by ``shift``, and ``q + output_shift`` exists.
        For a conv (:meth:`from_spec`) each axis is judged on its own: an
        axis the shift leaves alone, or a ``periodic`` one, has no border.

        Examples
        --------
        Row 1 moves down to row 2 without meeting the top or bottom padding;
        the columns do not move, so their padding does not matter:

        >>> spec = ConvSpec((3, 3), (4, 5), padding=1)
        >>> ReceptiveFieldMap.from_spec(spec).interior((1, 0), (1, 0)).astype(int)
        array([[0, 0, 0, 0, 0],
               [1, 1, 1, 1, 1],
               [0, 0, 0, 0, 0],
               [0, 0, 0, 0, 0]])
        >>> circular = ConvSpec((3,), (6,), padding=1, padding_mode="circular")
        >>> bool(ReceptiveFieldMap.from_spec(circular).interior((2,), (2,)).all())
        True
        """
        shift, output_shift = np.asarray(shift), np.asarray(output_shift)
        if self.axis_clean is not None:
            return self._interior_per_axis(shift, output_shift)
        n = np.asarray(self.input_spatial)
        empty = self.hi[..., 0] < 0
        inside = np.all((self.lo + shift >= 0) & (self.hi + shift <= n - 1), axis=-1)
        q = np.stack(np.indices(self.output_spatial), axis=-1)
        o = np.asarray(self.output_spatial)
        exists = np.all((q + output_shift >= 0) & (q + output_shift < o), axis=-1)
        return ((self.clean & inside) | empty) & exists

    def _interior_per_axis(self, shift, output_shift) -> np.ndarray:
        """:meth:`interior` for a conv, whose tap tables act on each axis separately.

        An axis that the shift leaves alone reads the same inputs (or the
        same padding) on both sides; a periodic axis has no border; any
        other axis needs a clean footprint that stays inside after the shift,
        and an output to compare with.
        """
        n = self.input_spatial
        grid = np.ones((), dtype=bool)
        for axis, (t, u) in enumerate(zip(shift.tolist(), output_shift.tolist())):
            o = self.output_spatial[axis]
            index = [0] * len(n)
            index[axis] = slice(None)
            lo = self.lo[tuple(index) + (axis,)]
            hi = self.hi[tuple(index) + (axis,)]
            if (t == 0 and u == 0) or self.periodic[axis]:
                ok = np.ones(o, dtype=bool)
            else:
                q = np.arange(o)
                ok = (self.axis_clean[axis] & (lo + t >= 0) & (hi + t <= n[axis] - 1)
                      & (q + u >= 0) & (q + u < o))
            grid = np.multiply.outer(grid, ok)
        return grid.astype(bool)
