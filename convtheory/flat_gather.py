"""The flat gather of a stride-1 convolution: every tap is one contiguous run of the padded input.

Pad the input once (:class:`~convtheory.padded.Padder`, every boundary mode)
and flatten each channel of each sample.  For a convolution whose tap tables
advance by one input per output on every axis (stride 1, any dilation), the
input that output ``o`` meets through kernel position ``a`` sits at the flat
position ``q(o) + offset(a)``, where ``q(o)`` is ``o``'s own flat position in
the padded grid.  So each tap reads **one contiguous run**, the same for every
channel and sample: the output is computed on the padded grid (positions
``0 .. q(last output)``) and cropped to the true outputs.  The positions in
between (``o_i`` beyond the output on an inner axis) are *spill*: computed
from real inputs and thrown away on the way out; on the way back their
gradient is zero.

Compared with :class:`~convtheory.im2col.Im2col` (one strided block per tap
and axis), each copy of the gather, each add of its adjoint and each term of
a depthwise shift-and-add is a single long run per channel and sample, with
no short inner loops; the price is the spill (``prod(padded) / prod(out)``
more columns, a few per cent for small kernels on large inputs).

The input gradient is either the adjoint of the gather (:meth:`FlatGather.scatter`,
one add per tap of the columns ``w^T g``) or, read the other way, a flat
gather of its own: on the output gradient laid on the flat grid behind a zero
margin of ``max(offsets)`` (:meth:`FlatGather.grad_padded`), tap ``j`` is the
contiguous run at ``margin - offsets[j]``, and the padded input's gradient is
the flipped, transposed weight times those columns
(:meth:`FlatGather.grad_gather`, :meth:`FlatGather.grad_input`).

The columns are gathered by blocks (:meth:`FlatGather.blocks`, about
:data:`BLOCK_BYTES` each), so that the products that read a block find it in
the cache.  One channel pair per group (depthwise) needs no columns: with the
channel's padded samples end to end (:meth:`FlatGather.pad_channels`), each tap
is one BLAS ``axpy`` over all samples.

Nothing here computes an index from stride, padding or dilation: the offsets
are read from the tap tables of the padded conv
(:meth:`~convtheory.padded.Padder.valid_spec`), and :func:`applies` checks
there that every table column is its first entry plus ``0, 1, 2, ...``.

Exactness: a spill column is multiplied by a zero gradient, so the weight
gradient is exact whenever it comes out finite, and the input gradient is
exact for a finite weight (``0 * w`` is zero).  With an infinite input, a
spill column may give ``0 * inf = nan`` in the weight gradient where the true
sum is finite; :meth:`FlatGather.keep` marks the true outputs' columns, and the
layer sums again without the spill in that case (see :mod:`convtheory.nn.conv_plan`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy.linalg import get_blas_funcs

from .matrices import DEFAULT_MAX_BYTES
from .padded import Padder
from .spec import ConvSpec
from .ufunc_buffer import short_rows
from .validation import as_instance, as_max_bytes, check_budget

__all__ = ["BLOCK_BYTES", "FlatGather"]

#: Bytes of one block of ``cols``: small enough to stay in a core's cache between the
#: gather that writes it and the products that read it, large enough that the
#: per-block Python overhead (one copy per tap, a few products) stays small.
BLOCK_BYTES = 1 << 22

#: Extra elements at the end of each row of a block's buffer: with rows of a power of
#: two bytes (1024 positions of a Conv1d, say), every row of ``cols`` maps to the same
#: cache sets and the products that read the block thrash them.
SKEW = 16


def _unit_step_starts(table: np.ndarray):
    """Per kernel position, the input read by output 0, if every column is ``start + arange(o)``."""
    n_out = table.shape[0]
    starts = table[0]
    if n_out == 0 or np.any(starts < 0):
        return None
    if not np.array_equal(table, starts[None, :] + np.arange(n_out)[:, None]):
        return None
    return starts


class FlatGather:
    """The flat gather of one stride-1 :class:`ConvSpec`, with its kept buffers.

    Parameters
    ----------
    spec : ConvSpec
        A spec for which :meth:`applies` holds.
    max_bytes : int
        Refuse, before allocating, a ``cols`` buffer larger than this.

    Attributes
    ----------
    margin : int
        The zero margin in front of the output gradient for :meth:`grad_gather`.
    grad_span : (int, int)
        The flat positions of the padded grid on which :meth:`grad_gather`'s
        columns compute the input gradient: all of them when the border folds
        back onto the input, else (``zeros``) from the first input to the last.
    length : int
        Flat positions per channel and sample on which the output is computed
        (the true outputs and the spill between them).
    offsets : (prod(k),) ndarray of int
        ``offsets[j]``: where weight ``j`` (C-order index into the kernel,
        ``flip`` applied) starts reading, in the flattened padded input.

    Examples
    --------
    A 3x3 "same" conv on 4x4: the padded rows are 6 long, so outputs are
    computed at 6 positions per row and 4 of them are kept.

    >>> from scipy.ndimage import correlate
    >>> spec = ConvSpec((1, 1, 3, 3), (1, 4, 4), padding=1)
    >>> flat = FlatGather(spec)
    >>> flat.length, flat.offsets.tolist()
    (22, [0, 1, 2, 6, 7, 8, 12, 13, 14])
    >>> rng = np.random.default_rng(0)
    >>> x, w = rng.standard_normal((1, 1, 4, 4)), rng.standard_normal((1, 1, 3, 3))
    >>> cols = flat.gather(flat.pad(x))                 # (C_in, prod(k), N, length)
    >>> y = flat.crop(w.reshape(1, 9) @ cols.reshape(9, -1))
    >>> np.allclose(y[0], correlate(x[0, 0], w[0, 0], mode="constant"))
    True
    """

    def __init__(self, spec: ConvSpec, *, max_bytes: int = DEFAULT_MAX_BYTES):
        spec = as_instance(spec, ConvSpec, "spec")
        self.max_bytes = as_max_bytes(max_bytes)
        starts = self._starts(spec)
        if starts is None:
            raise ValueError(
                "FlatGather needs a conv that reads one input further per output on every axis "
                f"(stride 1) and a non-empty input, got stride={spec.stride}, "
                f"input_shape={spec.input_shape}; use convtheory.im2col.Im2col")
        self.spec = spec
        padder = Padder(spec)
        self._padder = padder
        self.grid = padder.padded_spatial
        self.volume = math.prod(self.grid)
        # Element steps of the flattened padded grid, one per spatial axis.
        self._steps = tuple(math.prod(self.grid[i + 1:]) for i in range(spec.ndim))
        orders = [spec.kernel_order(axis) for axis in range(spec.ndim)]
        self.k_vol = math.prod(spec.kernel_size)
        offsets = np.empty(self.k_vol, dtype=np.int64)
        for position in np.ndindex(*spec.kernel_size):
            weight = np.ravel_multi_index(
                tuple(int(orders[axis][a]) for axis, a in enumerate(position)), spec.kernel_size)
            offsets[weight] = sum(int(starts[axis][a]) * step
                                  for axis, (a, step) in enumerate(zip(position, self._steps)))
        self.offsets = offsets
        # With every tap table arithmetic (any dilation), the offsets are
        # first + sum_i a_i * delta_i: all taps of a block are then one strided view,
        # and the gather one copy per block rather than one per tap (3.3 ms against
        # 4.8 ms a pass for a 16-channel 3x3x3 conv on 32^3, float32).
        grid_k = offsets.reshape(spec.kernel_size)
        first = int(grid_k.flat[0])
        deltas = tuple(int(np.take(grid_k, 1, axis=i).flat[0]) - first if size > 1 else 0
                       for i, size in enumerate(spec.kernel_size))
        regular = first + sum(np.arange(size).reshape((-1,) + (1,) * (spec.ndim - 1 - i)) * step
                              for i, (size, step) in enumerate(zip(spec.kernel_size, deltas)))
        self._taps = (first, deltas) if np.array_equal(grid_k, regular) else None
        last = np.ravel_multi_index(tuple(o - 1 for o in spec.output_spatial), self.grid)
        self.length = int(last) + 1
        # The input gradient as a correlation (grad_padded, grad_gather, grad_input): the
        # padded positions it is computed on, all of them when the border folds back onto
        # the input, else (zeros) the span from the first input to the last.
        self.margin = int(offsets.max())
        if any(src >= 0 for border in padder.borders for _, src in border):
            self.grad_span = (0, self.volume)
        else:
            first = tuple(sl.start for sl in padder.interior)
            last = tuple(sl.stop - 1 for sl in padder.interior)
            self.grad_span = (int(np.ravel_multi_index(first, self.grid)),
                              int(np.ravel_multi_index(last, self.grid)) + 1)
        self._buffers: dict = {}

    @staticmethod
    def _starts(spec: ConvSpec):
        if min(spec.input_spatial) == 0 or min(spec.output_spatial) == 0:
            return None
        valid = Padder(spec).valid_spec()
        starts = [_unit_step_starts(valid.axis_table(axis)) for axis in range(spec.ndim)]
        return None if any(s is None for s in starts) else starts

    @staticmethod
    def applies(spec: ConvSpec) -> bool:
        """Whether every tap table of ``spec`` advances by one input per output (stride 1).

        Examples
        --------
        >>> FlatGather.applies(ConvSpec((3, 3), (8, 8), dilation=2, padding_mode="reflect",
        ...                             padding=2))
        True
        >>> FlatGather.applies(ConvSpec((3, 3), (8, 8), stride=2))
        False
        """
        return FlatGather._starts(as_instance(spec, ConvSpec, "spec")) is not None

    # ---- buffers ---------------------------------------------------------
    def buffer(self, name: str, shape: tuple, dtype, *, zero: bool = False) -> np.ndarray:
        """A kept buffer (allocated zeroed when ``zero``; reused while shape and dtype match)."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            needed = math.prod(shape) * np.dtype(dtype).itemsize
            check_budget(needed, self.max_bytes, f"the flat gather's {name} buffer {shape}",
                         "process the batch in smaller chunks")
            self._buffers.pop(name, None)  # free the old buffer before allocating the new one
            buf = np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)
            self._buffers[name] = buf
        return buf

    # ---- the forward gather ------------------------------------------------
    def pad(self, x: np.ndarray) -> np.ndarray:
        """``x`` (N, C_in, n1, ..., nd) padded into the kept ``(N, C_in, prod(padded))`` buffer.

        Always a copy, so that a caller may change ``x`` before the backward pass.
        """
        spec = self.spec
        if x.ndim != spec.ndim + 2 or x.shape[1:] != spec.input_shape:
            raise ValueError(f"x must have shape (N,) + {spec.input_shape}, got x.shape={x.shape}")
        n = x.shape[0]
        xp = self.buffer("padded", (n, spec.in_channels, self.volume), x.dtype)
        self._padder.pad(x, out=xp.reshape((n, spec.in_channels) + self.grid))
        return xp

    def blocks(self, stop: int, itemsize: int, start: int = 0) -> list:
        """``(n0, n1, s, e)`` blocks of the flat columns: samples ``n0:n1``, positions ``s:e``.

        The blocks cover samples ``start:stop``.  A block's ``cols`` take
        about :data:`BLOCK_BYTES`, so the gather that writes them and the
        products that read them meet in the cache: whole samples when a
        sample's columns fit, else a run of one sample.
        """
        return self._blocks(stop, itemsize, start, self.length, self.spec.in_channels)

    def _blocks(self, stop, itemsize, start, length, channels) -> list:
        width = max(1, BLOCK_BYTES // (channels * self.k_vol * itemsize))
        if length <= width:
            per = width // length
            return [(n0, min(n0 + per, stop), 0, length) for n0 in range(start, stop, per)]
        return [(n, n + 1, s, min(s + width, length))
                for n in range(start, stop) for s in range(0, length, width)]

    def gather(self, xp: np.ndarray, block=None) -> np.ndarray:
        """``cols`` (C_in, prod(k), samples * positions) of one block (all of ``xp`` by default).

        One contiguous run per tap, channel and sample.  The result is a view
        of a kept buffer, valid until the next call.
        """
        n, c, _ = xp.shape
        n0, n1, s, e = (0, n, 0, self.length) if block is None else block
        m = (n1 - n0) * (e - s)
        if block is None:
            buf = self.buffer("cols", (c, self.k_vol, m), xp.dtype)
        else:
            buf = self.buffer("cols_block", (c, self.k_vol, self.widest(n, xp.itemsize) + SKEW),
                              xp.dtype)
        return self._gather(xp, buf[:, :, :m], (n0, n1, s, e), 0, 1)

    def _gather(self, src, cols, block, base: int, sign: int) -> np.ndarray:
        """``cols`` of ``block``; tap ``j`` reads ``src`` at ``base + sign * offsets[j]``."""
        n0, n1, s, e = block
        src_t = src[n0:n1].transpose(1, 0, 2)
        if self._taps is not None:
            runs = self._all_taps(src_t, base + sign * self._taps[0],
                                  tuple(sign * t for t in self._taps[1]), s, e)
            cols.reshape(runs.shape)[...] = runs
            return cols
        grid = cols.reshape(cols.shape[0], self.k_vol, n1 - n0, e - s)
        for j, offset in enumerate(self.offsets):
            start = base + sign * int(offset)
            grid[:, j] = src_t[:, :, start + s:start + e]
        return cols

    def _all_taps(self, flat: np.ndarray, first: int, deltas: tuple, s: int, e: int):
        """``(C, k1, ..., kd, samples, e - s)``: the runs of every tap in ``flat`` (C, samples,
        positions), a strided view to read (taps overlap).  Adding into one
        tap of it at a time measured slower than :meth:`scatter`'s slices."""
        base = flat[:, :, first + s:]
        item = base.strides[2]
        shape = base.shape[:1] + self.spec.kernel_size + (base.shape[1], e - s)
        strides = base.strides[:1] + tuple(item * t for t in deltas) + base.strides[1:]
        return as_strided(base, shape=shape, strides=strides, writeable=False)

    def widest(self, batch: int, itemsize: int) -> int:
        """Columns of the widest of :meth:`blocks` ``(batch, itemsize)`` (0 for an empty batch)."""
        return max([(n1 - n0) * (e - s) for n0, n1, s, e in self.blocks(batch, itemsize)] or [0])

    def keep(self, block) -> np.ndarray:
        """Boolean ``(samples * positions,)``: which columns of ``block`` are true outputs."""
        n0, n1, s, e = block
        keep = np.zeros(self.length, dtype=bool)
        self.crop(keep)[...] = True
        return np.broadcast_to(keep[s:e], (n1 - n0, e - s)).reshape(-1)

    def crop(self, ext: np.ndarray) -> np.ndarray:
        """The true outputs ``(..., o1, ..., od)`` of ``ext`` ``(..., length)``: a strided view.

        Writing into the view writes the outputs' positions of ``ext``, so it
        also serves to spread a gradient onto the flat grid (whose spill
        positions the caller keeps at zero).
        """
        if ext.shape[-1] != self.length:
            raise ValueError(f"ext must end in an axis of length {self.length}, "
                             f"got ext.shape={ext.shape}")
        item = ext.strides[-1]
        return as_strided(ext, shape=ext.shape[:-1] + self.spec.output_spatial,
                          strides=ext.strides[:-1] + tuple(item * s for s in self._steps),
                          writeable=ext.flags.writeable)

    # ---- the adjoint -------------------------------------------------------
    def scatter(self, gcols: np.ndarray, gxp: np.ndarray, block) -> None:
        """Add ``gcols`` (C_in, prod(k), samples * positions) of ``block`` back where it was read.

        ``gxp`` is the ``(N, C_in, prod(padded))`` gradient of the padded
        input; :meth:`fold` then folds its border back onto the input.
        """
        n0, n1, s, e = block
        grid = gcols.reshape(gcols.shape[0], self.k_vol, n1 - n0, e - s)
        g_t = gxp[n0:n1].transpose(1, 0, 2)
        with short_rows():
            for j, start in enumerate(self.offsets):
                g_t[:, :, start + s:start + e] += grid[:, j]

    # ---- the input gradient as a correlation of the output gradient ----------
    # gxp[q] = sum_j w_j * grad[q - offsets[j]]: with the gradient on the flat grid behind a
    # zero margin of max(offsets), tap j is again one contiguous run, at margin - offsets[j].
    # Computed on grad_span only (the positions the input gradient reads), so a product
    # and a gather replace the product and the scatter-add of the columns.
    def grad_padded(self, grad_output: np.ndarray) -> np.ndarray:
        """``grad_output`` (N, C_out, o1, ..., od) on the kept ``(N, C_out, margin + volume)``
        flat grid, zero on the margin and the spill."""
        spec = self.spec
        n = grad_output.shape[0]
        gp = self.buffer("grad_margin", (n, spec.out_channels, self.margin + self.volume),
                         grad_output.dtype, zero=True)
        # Only the outputs' positions are ever written: the rest stays zero.
        self.crop(gp[:, :, self.margin:self.margin + self.length])[...] = grad_output
        return gp

    def grad_blocks(self, stop: int, itemsize: int) -> list:
        """Blocks of :meth:`grad_gather`'s columns (the positions ``grad_span``), as :meth:`blocks`.
        """
        lo, hi = self.grad_span
        return self._blocks(stop, itemsize, 0, hi - lo, self.spec.out_channels)

    def grad_gather(self, gp: np.ndarray, block) -> np.ndarray:
        """``cols`` (C_out, prod(k), samples * positions) of :meth:`grad_padded`'s ``gp``.

        ``w_flipped @ cols`` is the gradient of the padded input at the
        positions ``grad_span[0] + s : grad_span[0] + e`` of ``block``.  A view
        of a kept buffer, valid until the next call.
        """
        n, c, _ = gp.shape
        n0, n1, s, e = block
        widest = max((b1 - b0) * (be - bs) for b0, b1, bs, be in self.grad_blocks(n, gp.itemsize))
        buf = self.buffer("grad_cols_block", (c, self.k_vol, widest + SKEW), gp.dtype)
        return self._gather(gp, buf[:, :, :(n1 - n0) * (e - s)], block,
                            self.grad_span[0] + self.margin, -1)

    def grad_input(self, gx: np.ndarray) -> np.ndarray:
        """``(N, C_in, n1, ..., nd)`` from the padded input's gradient ``gx`` (C_in, N, span).

        ``gx`` holds the positions ``grad_span``; its border (if any) is
        overwritten by the fold.
        """
        c, n, width = gx.shape
        if width == self.volume:
            return self._padder.fold(gx.reshape((c, n) + self.grid).swapaxes(0, 1))
        first = int(np.ravel_multi_index(tuple(sl.start for sl in self._padder.interior),
                                         self.grid)) - self.grad_span[0]
        base = gx[:, :, first:]
        inner = as_strided(base, shape=(c, n) + self.spec.input_spatial,
                           strides=base.strides[:2] + tuple(base.strides[2] * t
                                                            for t in self._steps),
                           writeable=False)
        return np.ascontiguousarray(inner.swapaxes(0, 1))

    def fold(self, gxp: np.ndarray) -> np.ndarray:
        """The adjoint of :meth:`pad`: ``(N, C, prod(padded))`` to ``(N, C, n1, ..., nd)``."""
        n, c, _ = gxp.shape
        return self._padder.fold(gxp.reshape((n, c) + self.grid))

    # ---- one channel pair per group: no cols, one BLAS axpy per channel and tap ----
    # Channel-major: a channel's padded samples sit end to end, so one tap reads one
    # run of ``run_length(N)`` for all samples at once (the gaps between samples are
    # spill too), and ``y += w * run`` is a single BLAS axpy: one pass, where numpy
    # needs a multiply and an add.
    def run_length(self, batch: int) -> int:
        """Flat positions per channel computed for ``batch`` samples end to end."""
        return max(0, (batch - 1) * self.volume + self.length)

    def pad_channels(self, x: np.ndarray) -> np.ndarray:
        """``x`` (N, C, n1, ..., nd) padded into the kept channel-major (C, N * prod(padded)) buffer."""
        spec = self.spec
        if x.ndim != spec.ndim + 2 or x.shape[1:] != spec.input_shape:
            raise ValueError(f"x must have shape (N,) + {spec.input_shape}, got x.shape={x.shape}")
        n, c = x.shape[:2]
        xc = self.buffer("padded_channels", (c, n * self.volume), x.dtype)
        self._padder.pad(x, out=xc.reshape((c, n) + self.grid).swapaxes(0, 1))
        return xc

    def crop_channels(self, ext: np.ndarray) -> np.ndarray:
        """The true outputs (C, N, o1, ..., od) of a channel-major (C, N * prod(padded)) array."""
        c, total = ext.shape
        return self.crop(ext.reshape(c, total // self.volume, self.volume)[:, :, :self.length])

    def depthwise(self, xc: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """``y`` (C, N * prod(padded)) with ``y[c] = sum_j weight[c, j] * run_j``.

        Read the outputs with :meth:`crop_channels`.

        ``xc`` is :meth:`pad_channels`' buffer and ``weight`` has shape (C, prod(k)).
        """
        c, total = xc.shape
        run = self.run_length(total // self.volume)
        y = self.buffer("depthwise", (c, total), xc.dtype)
        (axpy,) = get_blas_funcs(("axpy",), (y,))
        first, *rest = self.offsets
        for ch in range(c if run else 0):
            y_c, x_c, w_c = y[ch, :run], xc[ch], weight[ch]
            np.multiply(x_c[first:first + run], w_c[0], out=y_c)
            for j, start in enumerate(rest, start=1):
                axpy(x_c[start:start + run], y_c, a=w_c[j])
        return y

    def depthwise_weight_grad(self, xc: np.ndarray, grad_c: np.ndarray, *,
                              spill: bool = True) -> np.ndarray:
        """``(C, prod(k))``: ``sum over samples and positions of grad_c * run_j``, per channel.

        ``grad_c`` is the output gradient on the channel-major grid, zero on
        the spill.  With ``spill=False`` the sums run over the true outputs
        only (strided views, slower), which is exact even where a spill column
        holds an inf.
        """
        c, total = xc.shape
        run = self.run_length(total // self.volume)
        out = np.zeros((c, self.k_vol), dtype=xc.dtype)
        if spill:
            (dot,) = get_blas_funcs(("dot",), (xc,))
            for ch in range(c if run else 0):
                g_c, x_c = grad_c[ch, :run], xc[ch]
                for j, start in enumerate(self.offsets):
                    out[ch, j] = dot(g_c, x_c[start:start + run])
            return out
        grad = self.crop_channels(grad_c)
        for j, start in enumerate(self.offsets):
            shifted = np.zeros_like(xc)
            shifted[:, :total - start] = xc[:, start:]
            product = grad * self.crop_channels(shifted)
            out[:, j] = product.reshape(c, -1).sum(axis=1)
        return out

    def depthwise_adjoint(self, grad_c: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """The adjoint of :meth:`depthwise` then :meth:`pad_channels`: to (N, C, n1, ..., nd)."""
        c, total = grad_c.shape
        n = total // self.volume
        run = self.run_length(n)
        gxc = self.buffer("grad_channels_padded", (c, total), grad_c.dtype)
        gxc.fill(0)
        (axpy,) = get_blas_funcs(("axpy",), (gxc,))
        for ch in range(c if run else 0):
            g_c, gx_c, w_c = grad_c[ch, :run], gxc[ch], weight[ch]
            for j, start in enumerate(self.offsets):
                axpy(g_c, gx_c[start:start + run], a=w_c[j])
        out = np.empty((n, c) + self.spec.input_spatial, dtype=grad_c.dtype)
        self._padder.fold(gxc.reshape((c, n) + self.grid), out=out.swapaxes(0, 1))
        return out
