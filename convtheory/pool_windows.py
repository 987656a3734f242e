"""Pooling windows read from tap tables, one spatial axis at a time.

A box window is a product of per-axis windows, and both reductions a pool
takes over it are separable: the maximum of a box is the maximum over the
last axis, then over the one before, and so on; a sum likewise, and PyTorch's
average divisors are products of per-axis lengths.  So a pool never gathers
its windows (``prod(k)`` copies of the input); it folds the tap tables of
:mod:`convtheory.geometry` in axis by axis, ``k`` strided slices per axis.

Nothing here computes an index from stride, padding or dilation: each tap
table column (one kernel position) becomes a slice of outputs and a slice of
inputs where it is an arithmetic progression, as it always is for plain
pools; otherwise it is split into a few such runs (the mirrored borders of a
blur pool, the windows of an adaptive pool), or read with index arrays when
it would take too many.  ``-1`` (padding, or no
tap) is never read: padding reads as ``-inf`` for the maximum and ``0`` for
the sum, which is PyTorch's semantics.

Ties follow PyTorch's CPU kernels: the window is scanned in row-major order
and a value replaces the running maximum when it is strictly greater or NaN,
so the first maximum wins and NaN propagates (the last NaN wins).  Folding
the last axis first and then the earlier ones selects the same element.

The windows of an adaptive pool whose output size does not divide the input
are no progression: each kernel position would split into runs of one or two
outputs.  Such windows are ranges, though, and the maximum reads them as
ranges (:meth:`PoolWindows.max`): with the planes moved last, a window is a
slab of whole lines, folded by one maximum per window, and the winner is
found afterwards, slab by slab, among the ``k`` candidates of each axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AxisWindows", "PoolWindows"]


@dataclass(frozen=True)
class _Move:
    """Kernel position ``tap`` of one axis: outputs ``dst`` read inputs ``src``."""

    tap: int
    dst: object      # slice or int64 index array into the outputs
    src: object      # slice or int64 index array into the inputs
    unique: bool     # no input read twice through this position (plain += is exact)


class AxisWindows:
    """The windows of one axis, from its tap table.

    Parameters
    ----------
    table : (o, k) int array
        ``table[o, a]`` is the input read by output ``o`` through kernel
        position ``a``, or ``-1`` (padding, or a shorter window).
    n : int
        Input length on this axis.

    Examples
    --------
    >>> from convtheory.pool_spec import pool_spec
    >>> w = AxisWindows(pool_spec((5,), 2, ceil_mode=True).axis_table(0), 5)
    >>> [(m.dst, m.src) for m in w.moves]
    [(slice(0, 3, None), slice(0, 5, 2)), (slice(0, 2, None), slice(1, 4, 2))]
    >>> w.first_tap.tolist()
    [0, 0, 0]
    """

    def __init__(self, table: np.ndarray, n: int):
        table = np.asarray(table, dtype=np.int64)
        self.table, self.n, self.out = table, int(n), table.shape[0]
        valid = table >= 0
        # A dilated window can read only padding: its maximum is -inf (as in PyTorch)
        # and its first tap, 0 here, is no move, so no gradient reaches the input.
        self.first_tap = valid.argmax(axis=1)
        moves = []
        for a in range(table.shape[1]):
            col = table[:, a]
            dst = np.flatnonzero(col >= 0)
            if len(dst) == 0:
                continue
            moves.extend(_column_moves(a, dst, col[dst]))
        self.moves = tuple(moves)
        # One window over the whole axis, in order: a global pool on this axis.
        self.whole_axis = self.out == 1 and table.shape[1] == self.n \
            and bool(np.array_equal(table[0], np.arange(self.n)))
        # Windows whose starts are no progression (an adaptive pool that does not
        # divide) split each kernel position into runs of one or two outputs; the
        # folds above would then make many tiny moves.  PoolWindows.max reads such
        # windows as ranges of inputs instead, when every window is one.
        self.irregular = len(self.moves) > int(valid.any(axis=0).sum()) \
            or any(not isinstance(m.dst, slice) for m in self.moves)
        counts = valid.sum(axis=1)
        start = table[:, 0]
        consecutive = start[:, None] + np.arange(table.shape[1])
        self.ranges = None  # (start, stop) of each window, when each reads consecutive inputs
        if counts.min() > 0 and np.array_equal(valid, np.arange(table.shape[1]) < counts[:, None]) \
                and np.array_equal(np.where(valid, table, -1), np.where(valid, consecutive, -1)):
            self.ranges = (start, start + counts)
        # The windows as a full (o, k) table: a window shorter than k repeats its last
        # input, which changes no maximum and maps back to the same input,
        # whichever of the copies a tie rule picks.
        self.stack = None if self.ranges is None else \
            np.minimum(consecutive, (start + counts - 1)[:, None])


#: A column split into more runs than this is read with one index array instead.
_MAX_RUNS = 16

#: An axis of ranges with up to this many windows folds one slab per window;
#: beyond, one gather per kernel position (fewer calls when windows are many).
_MAX_SLABS = 64

#: Bytes of input pooled at a time by the uneven adaptive max: a block that stays
#: in the cache from its transposition to the gathers of its winners, so that
#: the input is read from memory once.
_CACHE_BYTES = 1 << 20


def _column_moves(tap: int, dst: np.ndarray, src: np.ndarray) -> list:
    """Moves of one kernel position: maximal-enough runs where ``dst`` is contiguous and
    ``src`` an increasing progression become slice pairs (block copies); reflect and
    replicate borders split off as short runs.  Too many runs: one index-array move."""
    if len(dst) > 1:
        dd, ds = np.diff(dst), np.diff(src)
        cut = (dd != 1) | (ds <= 0)
        cut[1:] |= ds[1:] != ds[:-1]
        starts = np.concatenate(([0], np.flatnonzero(cut) + 1))
    else:
        starts = np.array([0])
    if len(starts) > _MAX_RUNS:
        return [_Move(tap, dst, src, len(np.unique(src)) == len(src))]
    ends = np.concatenate((starts[1:], [len(dst)]))
    moves = []
    for i, j in zip(starts.tolist(), ends.tolist()):
        step = int(src[i + 1] - src[i]) if j - i > 1 else 1
        moves.append(_Move(tap, slice(int(dst[i]), int(dst[j - 1]) + 1),
                           slice(int(src[i]), int(src[j - 1]) + 1, step), True))
    return moves


def _at(axis: int, index) -> tuple:
    return (slice(None),) * axis + (index,)


def _zeros(shape, dtype, out=None) -> np.ndarray:
    """Zeros of ``shape``: a new array, or ``out`` (checked) cleared."""
    if out is None:
        return np.zeros(shape, dtype=dtype)
    if out.shape != tuple(shape) or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {np.dtype(dtype)} array of shape "
                         f"{tuple(shape)}, got out.shape={out.shape}, dtype {out.dtype}")
    out[...] = 0
    return out


class PoolWindows:
    """Max and sum over box windows, and their adjoints, folded axis by axis.

    Arrays are ``(B, n1, ..., nd)``: any leading batch of planes (samples
    times channels), then the spatial axes of the tap tables.

    Parameters
    ----------
    tables : sequence of (o_i, k_i) int arrays
        One tap table per spatial axis.
    input_spatial : tuple of int

    Examples
    --------
    >>> from convtheory.pool_spec import pool_spec
    >>> spec = pool_spec((4, 4), 2)
    >>> pw = PoolWindows([spec.axis_table(i) for i in range(2)], (4, 4))
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> y, args = pw.max(x)
    >>> y
    array([[[ 5.,  7.],
            [13., 15.]]])
    >>> pw.sum(x)
    array([[[10., 18.],
            [42., 50.]]])
    >>> pw.max_adjoint(np.ones_like(y), args)[0]
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.],
           [0., 0., 0., 0.],
           [0., 1., 0., 1.]])
    """

    def __init__(self, tables, input_spatial):
        self.input_spatial = tuple(int(n) for n in input_spatial)
        if len(tables) != len(self.input_spatial):
            raise ValueError(f"need one tap table per spatial axis ({len(self.input_spatial)}), "
                             f"got {len(tables)}")
        self.axes = tuple(AxisWindows(t, n) for t, n in zip(tables, self.input_spatial))
        self.output_spatial = tuple(ax.out for ax in self.axes)
        # A global pool (one window over everything): numpy reduces the flattened planes.
        self.is_global = all(ax.whole_axis for ax in self.axes)
        # Irregular windows on some axis, and ranges on every axis: max by ranges.
        self.stacked = any(ax.irregular for ax in self.axes) \
            and all(ax.ranges is not None for ax in self.axes)

    # The spatial axes of a (B, n1, ..., nd) array are 1..d; fold the last first.
    def _order(self):
        return range(len(self.axes) - 1, -1, -1)

    def sum(self, x: np.ndarray, weights=None) -> np.ndarray:
        """Window sums of ``x`` (padding reads 0).

        ``weights``, one array of ``k_i`` per axis, weighs each kernel position:
        a separable correlation (a blur pool's binomial filter is one).
        """
        if weights is None and self.is_global:
            return x.sum(axis=tuple(range(1, x.ndim)), keepdims=True)
        for i in self._order():
            ax, axis = self.axes[i], i + 1
            w = None if weights is None else weights[i]
            shape = x.shape[:axis] + (ax.out,) + x.shape[axis + 1:]
            out = np.zeros(shape, dtype=x.dtype)
            for m in ax.moves:
                v = x[_at(axis, m.src)]
                out[_at(axis, m.dst)] += v if w is None else w[m.tap] * v
            x = out
        return x

    def sum_adjoint(self, g: np.ndarray, weights=None, out=None) -> np.ndarray:
        """The adjoint of :meth:`sum`: every output's value added back onto its window.

        ``out``, a C-contiguous array of the input's shape and dtype, receives the
        result (it is overwritten), as it would a numpy ufunc's.
        """
        if weights is None and self.is_global:
            full = np.broadcast_to(g, g.shape[:1] + self.input_spatial)
            if out is None:
                return full.copy()
            out[...] = full
            return out
        last = len(self.axes) - 1
        result = out
        for i in range(len(self.axes)):
            ax, axis = self.axes[i], i + 1
            w = None if weights is None else weights[i]
            shape = g.shape[:axis] + (ax.n,) + g.shape[axis + 1:]
            out = _zeros(shape, g.dtype, result if i == last else None)
            for m in ax.moves:
                block = g[_at(axis, m.dst)]
                if w is not None:
                    block = w[m.tap] * block
                if m.unique:
                    out[_at(axis, m.src)] += block
                else:  # two outputs' windows start at one input (adaptive, n < o)
                    np.add.at(out, _at(axis, m.src), block)
            g = out
        return g

    def max(self, x: np.ndarray):
        """Window maxima of ``x`` (padding reads ``-inf``) and the winning taps.

        Returns
        -------
        y : ndarray
        args : tuple
            What :meth:`max_adjoint` and :meth:`argmax` read: per spatial axis,
            the kernel position that won at each point of that axis's fold
            (int16 arrays; int64 for windows over 32767 long), or
            ``("flat", winners)`` with each output's winner as a flat index
            into its plane (a global pool; windows that are no progression).
        """
        if self.stacked:
            return self._max_stacked(x)
        check_nan = bool(np.isnan(x).any()) if x.dtype.kind == "f" else False
        if self.is_global and not check_nan:
            # argmax of the flattened (row-major) plane: PyTorch's first maximum.
            flat = x.reshape(x.shape[0], int(np.prod(self.input_spatial)))  # an empty batch too
            idx = flat.argmax(axis=1)
            y = np.take_along_axis(flat, idx[:, None], axis=1)
            shape = (x.shape[0],) + (1,) * len(self.axes)
            return y.reshape(shape), ("flat", idx.reshape(shape))
        args = [None] * len(self.axes)
        source = x
        for i in self._order():
            ax, axis = self.axes[i], i + 1
            shape = x.shape[:axis] + (ax.out,) + x.shape[axis + 1:]
            out = np.full(shape, -np.inf, dtype=x.dtype)
            # Until a value beats -inf, the first input of the window is the winner (PyTorch).
            tap_type = np.int16 if ax.table.shape[1] <= np.iinfo(np.int16).max else np.int64
            arg = np.empty(shape, dtype=tap_type)
            arg[...] = ax.first_tap.reshape((-1,) + (1,) * (x.ndim - axis - 1)).astype(tap_type)
            first = ax.moves[0].tap if ax.moves else None
            for m in ax.moves:
                v = x[_at(axis, m.src)]
                d = _at(axis, m.dst)
                if m.tap == first:
                    # The first kernel position is the first tap of every window it
                    # reads: it is the running maximum there, whatever its value.
                    out[d] = v
                    continue
                cur = out[d]
                # Masked copies are slow (a branch per element); arithmetic is not.
                # Taps come in increasing order, so the winner is the largest tap
                # at which the value went up: arg = max(arg, tap * went_up).
                upd = np.greater(v, cur)
                if check_nan:
                    upd |= np.isnan(v)
                if isinstance(m.dst, slice):  # views: update in place
                    np.maximum(cur, v, out=cur)
                    a_d = arg[d]
                    np.maximum(a_d, np.multiply(upd, m.tap, dtype=tap_type), out=a_d)
                else:
                    out[d] = np.maximum(cur, v)
                    arg[d] = np.maximum(arg[d], np.multiply(upd, m.tap, dtype=tap_type))
            args[i] = arg
            x = out
        return _winners_zeros(x, source, self, tuple(args)), tuple(args)

    def max_adjoint(self, g: np.ndarray, args, out=None) -> np.ndarray:
        """The gradient of :meth:`max`: each output's gradient goes to its winner.

        ``out`` as in :meth:`sum_adjoint`.
        """
        if isinstance(args[0], str):  # ("flat", each output's winner in its plane)
            b, n_in = g.shape[0], int(np.prod(self.input_spatial))
            gx = _zeros(g.shape[:1] + self.input_spatial, g.dtype, out)
            n_out = int(np.prod(self.output_spatial))
            winners = args[1].reshape(b, n_out) + (np.arange(b, dtype=np.int64) * n_in)[:, None]
            # Overlapping windows can share a winner: add, in the outputs' row-major
            # order, as PyTorch's backward does.
            np.add.at(gx.reshape(-1), winners.ravel(), g.reshape(-1))
            return gx
        last = len(self.axes) - 1
        result = out
        for i in range(len(self.axes)):
            ax, axis, arg = self.axes[i], i + 1, args[i]
            shape = g.shape[:axis] + (ax.n,) + g.shape[axis + 1:]
            out = _zeros(shape, g.dtype, result if i == last else None)
            for m in ax.moves:
                d = _at(axis, m.dst)
                block = np.multiply(g[d], np.equal(arg[d], m.tap), dtype=g.dtype)
                if m.unique:
                    out[_at(axis, m.src)] += block
                else:
                    np.add.at(out, _at(axis, m.src), block)
            g = out
        return g

    def argmax(self, args) -> np.ndarray:
        """Flat spatial input index of each output's winner, shape ``(B,) + output_spatial``.

        ``-1`` where a (dilated) window reads only padding.

        Examples
        --------
        >>> from convtheory.pool_spec import pool_spec
        >>> spec = pool_spec((4,), 2)
        >>> pw = PoolWindows([spec.axis_table(0)], (4,))
        >>> pw.argmax(pw.max(np.array([[1.0, 3.0, 2.0, 2.0]]))[1])
        array([[1, 2]])
        """
        if isinstance(args[0], str):  # flat winners already
            return args[1].reshape((-1,) + self.output_spatial).astype(np.int64)
        d = len(self.axes)
        b = args[0].shape[0]
        shape = (b,) + self.output_spatial
        # Broadcastable output coordinates (batch, o1, ..., od).
        grid = np.ix_(np.arange(b), *[np.arange(o) for o in self.output_spatial])
        strides = np.cumprod((1,) + self.input_spatial[::-1])[::-1][1:]
        flat = np.zeros(shape, dtype=np.int64)
        padding_only = np.zeros(shape, dtype=bool)
        coords = []
        # args[i] is shaped (B, n1, ..., n_i-1, o_i, ..., o_d): the folds ran last axis
        # first, so the axes before i were still input-sized.  Index those by the winners
        # already found on them, outermost first.
        for i in range(d):
            tap = args[i][(grid[0],) + tuple(coords) + grid[i + 1:]].astype(np.int64)
            coord = self.axes[i].table[grid[i + 1], tap]
            padding_only |= coord < 0
            coord = np.maximum(coord, 0)
            coords.append(coord)
            flat += coord * int(strides[i])
        return np.where(padding_only, -1, flat)

    def _max_stacked(self, x: np.ndarray):
        """:meth:`max` for windows that are ranges but no progression (adaptive pools).

        The planes go last, ``(n1, ..., nd, B)``, so that every window of
        every axis is a slab of whole lines of ``B`` contiguous values.
        Values: each axis, last first, is folded by a maximum over each
        window's slab (one pass over the data whatever the windows), in
        blocks of planes that stay in the cache from their transposition to
        the gathers of their winners.  Winners: PyTorch
        scans a window in row-major order, so the winner lies in the first
        slab along the first axis whose maximum equals the window's (the
        last slab holding a NaN, when the maximum is NaN), then in the first
        such slab along the next axis inside it, and so on; only ``k`` values
        per output and axis are read to find it.  Returns flat winners in
        each plane, ``("flat", (B, o...))``.
        """
        x = np.ascontiguousarray(x)
        b = x.shape[0]
        chunk = max(1, _CACHE_BYTES // max(1, x[:1].nbytes))
        if b <= chunk:
            return self._max_stacked_block(x)
        y = np.empty((b,) + self.output_spatial, dtype=x.dtype)
        flat = np.empty((b,) + self.output_spatial, dtype=np.int64)
        for start in range(0, b, chunk):
            y[start:start + chunk], (_, flat[start:start + chunk]) = \
                self._max_stacked_block(x[start:start + chunk])
        return y, ("flat", flat)

    def _max_stacked_block(self, x: np.ndarray):
        # One block of planes, small enough that its data stay in the cache from the
        # transposition to the gathers of the winners.
        d, b = len(self.axes), x.shape[0]
        folds = [None] * d  # folds[i]: the input folded over the axes after i
        folds[-1] = x       # the input keeps its planes first
        y = np.empty(x.shape[1:-1] + (self.axes[-1].out, b), dtype=x.dtype)
        _fold_max(np.ascontiguousarray(np.moveaxis(x, 0, -1)), self.axes[-1], d - 1, y)
        for i in range(d - 2, -1, -1):
            folds[i] = y
            y = np.empty(y.shape[:i] + (self.axes[i].out,) + y.shape[i + 1:], dtype=x.dtype)
            _fold_max(folds[i], self.axes[i], i, y)
        nan = x.dtype.kind == "f" and bool(np.isnan(y).any())
        grid = np.ix_(*[np.arange(n) for n in y.shape])  # (o1, ..., od, B)
        coords = []
        for i in range(d):
            fold, stack = folds[i], self.axes[i].stack
            if i == 0 and d > 1:  # every later axis folded: the slabs are whole blocks
                slabs = np.take(fold, stack.T, axis=0)               # (k_1, o..., B)
            else:
                step = [s // fold.itemsize for s in fold.strides]  # C-contiguous
                # x has its planes first, the folds after it last.
                plane_step, step = (step[0], step[1:]) if i == d - 1 else (step[-1], step[:-1])
                # Flat offsets in fold of each window's slabs along axis i, taps
                # first, at the winners found on the axes before i: (k_i, o..., B).
                base = sum(c * st for c, st in zip(coords, step)) + grid[d] * plane_step \
                    + sum(g * st for g, st in zip(grid[i + 1:d], step[i + 1:d]))
                taps = (stack.T * step[i]).reshape((stack.shape[1],) + grid[i].shape)
                slabs = np.take(fold.reshape(-1), base + taps)
            tap = _first_true(np.equal(slabs, y))                      # the first maximum
            if nan:  # NaN beats everything and the last NaN wins (PyTorch's `>` or isnan)
                last_nan = stack.shape[1] - 1 - _first_true(np.isnan(slabs)[::-1])
                tap = np.where(np.isnan(y), last_nan, tap)
            coords.append(stack[grid[i], tap])
        plane = np.cumprod((1,) + self.input_spatial[::-1])[::-1]
        flat = sum(c * int(st) for c, st in zip(coords, plane[1:]))
        flat = np.ascontiguousarray(np.moveaxis(np.broadcast_to(flat, y.shape), -1, 0))
        # The winner's own value (a -0.0 that tied with 0.0 stays -0.0, as in PyTorch).
        offsets = (np.arange(b, dtype=np.int64) * int(plane[0])).reshape((b,) + (1,) * d)
        return np.take(x.reshape(-1), flat + offsets), ("flat", flat)


def _winners_zeros(y: np.ndarray, x: np.ndarray, windows: PoolWindows, args) -> np.ndarray:
    """``y`` with each zero taken from its winner: ``np.maximum`` does not say which of
    ``0.0`` and ``-0.0`` it keeps on a tie (x86 keeps its second operand), PyTorch keeps
    the first maximum's own value.  A pass over ``y``, and over ``x`` only if ``y`` has
    zeros; the winners are looked up only if ``x`` also holds a -0.0.
    """
    if y.dtype.kind != "f":
        return y
    zero = y == 0
    if not zero.any():
        return y
    negative = np.signbit(x)  # none after a ReLU: one pass over the input, and done
    if not negative.any() or not (negative & (x == 0)).any():
        return y
    winners = windows.argmax(args)[zero]
    planes = np.broadcast_to(np.arange(y.shape[0]).reshape((-1,) + (1,) * (y.ndim - 1)),
                             y.shape)[zero]
    y[zero] = x.reshape(x.shape[0], -1)[planes, winners]
    return y


def _first_true(hits: np.ndarray) -> np.ndarray:
    """Index along axis 0 of the first true entry of ``hits`` (``k - 1`` where none is).

    ``argmax`` along a short first axis copies the array to make that axis
    last; a weighted maximum along it reads it in place: position ``a``
    weighs ``k - a``, so the heaviest true entry is the first.
    """
    k = hits.shape[0]
    weights = np.arange(k, 0, -1, dtype=np.min_scalar_type(k)).reshape((k,) + (1,) * (hits.ndim - 1))
    heaviest = np.multiply(hits, weights, dtype=weights.dtype).max(axis=0)
    return np.minimum(k - heaviest.astype(np.intp), k - 1)


def _fold_max(src: np.ndarray, ax: AxisWindows, axis: int, out: np.ndarray) -> None:
    """``out`` = the maxima of ``src`` over the windows (ranges) of ``ax`` along ``axis``."""
    if ax.out <= _MAX_SLABS:
        for o, (lo, hi) in enumerate(zip(*(r.tolist() for r in ax.ranges))):
            np.maximum.reduce(src[_at(axis, slice(lo, hi))], axis=axis, out=out[_at(axis, o)])
        return
    # Many windows: one gather of o lines per kernel position, fewer calls.
    acc = np.take(src, ax.stack[:, 0], axis=axis)
    for a in range(1, ax.stack.shape[1]):
        np.maximum(acc, np.take(src, ax.stack[:, a], axis=axis), out=acc)
    out[...] = acc
