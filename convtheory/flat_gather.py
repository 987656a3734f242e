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

Nothing here computes an index from stride, padding or dilation: the offsets
are read from the tap tables of the padded conv
(:meth:`~convtheory.padded.Padder.valid_spec`), and :func:`applies` checks
there that every table column is its first entry plus ``0, 1, 2, ...``.

Exactness: a spill column is multiplied by a zero gradient, so the weight
gradient is exact whenever it comes out finite, and the input gradient is
exact for a finite weight (``0 * w`` is zero).  With an infinite input, a
spill column may give ``0 * inf = nan`` in the weight gradient where the true
sum is finite; :meth:`FlatGather.keep` marks the true outputs' columns, and the
layer sums again without the spill in that case (see :mod:`convtheory.nn.functional`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .matrices import DEFAULT_MAX_BYTES
from .padded import Padder
from .spec import ConvSpec
from .validation import as_instance, as_max_bytes, check_budget

__all__ = ["BLOCK_BYTES", "FlatGather"]

#: Bytes of one block of ``cols``: small enough to stay in a core's cache between the
#: gather that writes it and the products that read it, large enough that the
#: per-block Python overhead (one copy per tap, a few products) stays small.
BLOCK_BYTES = 1 << 22


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
        last = np.ravel_multi_index(tuple(o - 1 for o in spec.output_spatial), self.grid)
        self.length = int(last) + 1
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
        width = max(1, BLOCK_BYTES // (self.spec.in_channels * self.k_vol * itemsize))
        if self.length <= width:
            per = width // self.length
            return [(n0, min(n0 + per, stop), 0, self.length) for n0 in range(start, stop, per)]
        return [(n, n + 1, s, min(s + width, self.length))
                for n in range(start, stop) for s in range(0, self.length, width)]

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
            widest = max((b1 - b0) * (f - a) for b0, b1, a, f in self.blocks(n, xp.itemsize))
            buf = self.buffer("cols_block", (c, self.k_vol, widest), xp.dtype)
        cols = buf[:, :, :m]
        grid = cols.reshape(c, self.k_vol, n1 - n0, e - s)
        x_t = xp[n0:n1].transpose(1, 0, 2)
        for j, start in enumerate(self.offsets):
            grid[:, j] = x_t[:, :, start + s:start + e]
        return cols

    def keep(self, block) -> np.ndarray:
        """Boolean ``(samples * positions,)``: which columns of ``block`` are true outputs (not spill)."""
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
        for j, start in enumerate(self.offsets):
            g_t[:, :, start + s:start + e] += grid[:, j]

    def fold(self, gxp: np.ndarray) -> np.ndarray:
        """The adjoint of :meth:`pad`: ``(N, C, prod(padded))`` to ``(N, C, n1, ..., nd)``."""
        n, c, _ = gxp.shape
        return self._padder.fold(gxp.reshape((n, c) + self.grid))

    # ---- one channel pair per group: shift-and-add, no cols ----------------
    def depthwise(self, xp: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """``y_ext`` (N, C, length) with ``y_ext[:, c] = sum_j weight[c, j] * run_j``.

        ``xp`` is :meth:`pad`'s buffer and ``weight`` has shape (C, prod(k)).
        """
        n, c, _ = xp.shape
        y = self.buffer("depthwise", (n, c, self.length), xp.dtype)
        tmp = self.buffer("depthwise_tmp", (n, c, self.length), xp.dtype)
        scale = weight[:, :, None]
        first, *rest = self.offsets
        np.multiply(xp[:, :, first:first + self.length], scale[:, 0], out=y)
        for j, start in enumerate(rest, start=1):
            np.multiply(xp[:, :, start:start + self.length], scale[:, j], out=tmp)
            y += tmp
        return y

    def depthwise_weight_grad(self, xp: np.ndarray, grad_ext: np.ndarray, *,
                              spill: bool = True) -> np.ndarray:
        """``(C, prod(k))``: ``sum over samples and positions of grad_ext * run_j``, per channel.

        With ``spill=False`` the sums run over the true outputs only (strided
        views, slower), which is exact even where a spill column holds an inf.
        """
        n, c, _ = xp.shape
        out = np.empty((c, self.k_vol), dtype=xp.dtype)
        for j, start in enumerate(self.offsets):
            run = xp[:, :, start:start + self.length]
            if spill:  # one dot product per sample and channel, in BLAS
                out[:, j] = np.matmul(grad_ext[:, :, None, :], run[:, :, :, None]).sum(axis=0)[:, 0, 0]
            else:
                product = self.crop(grad_ext) * self.crop(run)
                out[:, j] = product.sum(axis=(0,) + tuple(range(2, product.ndim)))
        return out

    def depthwise_adjoint(self, grad_ext: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """The adjoint of :meth:`depthwise` then :meth:`pad`: (N, C, length) to (N, C, n...)."""
        n, c, _ = grad_ext.shape
        gxp = self.buffer("grad_padded", (n, c, self.volume), grad_ext.dtype)
        gxp.fill(0)
        tmp = self.buffer("depthwise_tmp", (n, c, self.length), grad_ext.dtype)
        scale = weight[:, :, None]
        for j, start in enumerate(self.offsets):
            np.multiply(grad_ext, scale[:, j], out=tmp)
            gxp[:, :, start:start + self.length] += tmp
        return self.fold(gxp)
