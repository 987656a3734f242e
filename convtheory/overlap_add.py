"""The convolution by overlap-add: short FFTs over blocks of a large input.

A full FFT (:class:`~convtheory.fftconv.FFTConv`) transforms the whole padded
input at ``next_fast_len`` of its size: ``O(P log P)`` per channel whatever
the kernel.  For a large input and a mid-sized kernel of extent ``E`` (``(k -
1) * dilation + 1`` per axis), blocks of ``L`` samples with ``L`` several times
``E`` cost ``O(P log L)``: this is ``scipy.signal.oaconvolve``'s method,
applied after the padding as every other path is:

1. pad the input once (:class:`~convtheory.padded.Padder`);
2. cut the valid correlation's positions into blocks of ``B = L - E + 1``
   per axis; block ``j`` reads the padded input's segment ``[j*B, j*B + L)``
   (segments overlap by ``E - 1``; past the padded end they read zeros);
3. correlate each segment circularly over ``L`` with the kernel spectrum of
   :class:`FFTConv` at size ``L``, a batch of short transforms, and keep its
   first ``B`` outputs (the ones no wrap-around reaches);
4. read the outputs at the stride, as :class:`FFTConv` does.

Step 2-3 is the overlap-save form of the forward pass.  Its adjoint, step by
step in reverse, is overlap-add proper: each output block is transformed at
size ``L``, multiplied by the conjugate transposed spectrum, and the
segments of length ``L`` are added back at offsets ``j*B``; the padding is
then folded back.  Both cost the same.  Nothing here computes an index from
stride, padding or dilation: the read positions and the kernel's extent come
from :class:`FFTConv`, which reads them from the tap tables.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from .fftconv import FFTConv, fft_sizes
from .geometry import output_shape
from .spec import ConvSpec
from .threads import fft_workers

__all__ = ["OverlapAddConv", "overlap_add_blocks", "overlap_add_sizes"]


# Per-sample cost of a block beyond its transform's log, in units of log2: the
# copies into and out of the segments, and pocketfft's slower short lengths.  Fitted
# in 2-D (2048x2048, 15x15 and 31x31 kernels, blocks of 64 to 512 samples a side:
# blocks of 90 and 144 took 1.5-1.7x the time of 160 and 192, which the bare
# L log L model ranked first); in 1-D the bare model chose well, and its blocks stay.
_BLOCK_OVERHEAD = {1: 0.0}
_BLOCK_OVERHEAD_ND = 10.0


def _block_cost(length: int, extent: int, needed: int, overhead: float) -> float:
    """Work along one axis: blocks times ``L (log2 L + overhead)`` (see :func:`overlap_add_sizes`)."""
    block = length - extent + 1
    return math.ceil(needed / block) * length * (math.log2(max(length, 2)) + overhead)


#: Shortest block per axis: below it the per-block copies and calls cost more than
#: the transform (blocks of 2 samples for a 1-tap kernel were 9x slower than one
#: full FFT of a 256x256 image).
_MIN_BLOCK = 16


def _candidates(extent: int, limit: int) -> list:
    """Fast transform lengths from ``2 * extent`` (at least :data:`_MIN_BLOCK`) up to
    ``limit``, about 10% apart."""
    out, m = set(), max(2 * extent, extent + 1, _MIN_BLOCK)
    while m <= limit:
        out.add(scipy.fft.next_fast_len(m, real=True))
        m = max(m + 1, int(m * 1.1))
    out.add(scipy.fft.next_fast_len(max(limit, extent + 1), real=True))
    return sorted(out)


def overlap_add_sizes(spec: ConvSpec) -> tuple:
    """``(padded, L)``: the padded spatial shape and the block transform size per axis.

    Per axis, ``L`` is the fast length (``scipy.fft.next_fast_len``) that
    minimises ``ceil(V / (L - E + 1)) * L * (log2(L) + c)``, the work of the
    blocks that cover the ``V`` valid positions the conv reads with a kernel
    of extent ``E``: with ``c = 0`` in 1-D, the rule ``scipy.signal.oaconvolve``
    follows in closed form; with a measured ``c = 10`` for two and more axes,
    where short blocks cost more than their transforms.  ``L`` never exceeds :func:`~convtheory.fftconv.fft_sizes`,
    where a single block is the full FFT.

    Examples
    --------
    A 31x31 kernel on a 2048x2048 image: blocks of several times the kernel's
    extent, far below the full transform of 2078 samples per axis.

    >>> padded, sizes = overlap_add_sizes(ConvSpec((31, 31), (2048, 2048), padding="same"))
    >>> padded, all(2 * 31 <= n <= 2078 // 4 for n in sizes)
    ((2078, 2078), True)
    """
    padded, full = fft_sizes(spec)
    overhead = _BLOCK_OVERHEAD.get(spec.ndim, _BLOCK_OVERHEAD_ND)
    sizes = []
    # Valid positions of the correlation on the padded grid (the geometry core's rule).
    valid = output_shape(padded, spec.geometry.kernel_size, dilation=spec.dilation)
    for f, extent, needed in zip(full, spec.geometry.extent, valid):
        best = min(_candidates(extent, f),
                   key=lambda n: (_block_cost(n, extent, needed, overhead), n))
        sizes.append(min(best, f))
    return padded, tuple(sizes)


def overlap_add_blocks(spec: ConvSpec) -> tuple:
    """``(L, blocks, span)`` per axis, for estimates: the blocks that cover every valid position.

    With ``V`` valid positions of the correlation on the padded grid and
    blocks of ``L`` samples that keep ``L - E + 1`` outputs each, ``blocks =
    ceil(V / (L - E + 1))`` and the blocks read ``span = (blocks - 1) (L - E +
    1) + L`` samples.  A strided conv reads fewer positions, so
    :class:`OverlapAddConv` may need fewer blocks than this.

    Examples
    --------
    2**18 samples, 31 taps: blocks of 180 keep 150 outputs each, and 1748 of
    them cover the 2**18 valid positions of the padded signal.

    >>> sizes, blocks, span = overlap_add_blocks(ConvSpec((31,), (2**18,), padding="same"))
    >>> sizes, blocks, 1747 * 150 < 2**18 <= blocks[0] * 150, span[0] >= 2**18 + 30
    ((180,), (1748,), True, True)
    """
    padded, sizes = overlap_add_sizes(spec)
    valid = output_shape(padded, spec.geometry.kernel_size, dilation=spec.dilation)
    step = [n - e + 1 for n, e in zip(sizes, spec.geometry.extent)]
    blocks = tuple(max(1, -(-v // b)) for v, b in zip(valid, step))
    span = tuple((m - 1) * b + n for m, b, n in zip(blocks, step, sizes))
    return sizes, blocks, span


class OverlapAddConv(FFTConv):
    """Forward and adjoint of one conv by overlap-add; see the module docstring.

    Parameters
    ----------
    spec : ConvSpec
    weight : (groups, C_out/g, C_in/g, prod(k)) ndarray
        Weights in the flat C-order kernel index (before ``flip``).
    sizes : tuple of int, optional
        The block transform size ``L`` per axis, at least the kernel's
        extent; by default :func:`overlap_add_sizes`.

    Examples
    --------
    >>> from scipy.signal import oaconvolve
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((9, 9)), rng.standard_normal((1, 1, 200, 180))
    >>> spec = ConvSpec((1, 1, 9, 9), (1, 200, 180), flip=True, padding=4)
    >>> oa = OverlapAddConv(spec, w.reshape(1, 1, 1, 81), sizes=(40, 40))
    >>> oa.step, oa.blocks  # 32 outputs per block of 40: 7 blocks cover 200, 6 cover 180
    ((32, 32), (7, 6))
    >>> np.allclose(oa.forward(x)[0, 0], oaconvolve(x[0, 0], w, mode="same"))
    True
    """

    def __init__(self, spec: ConvSpec, weight: np.ndarray, sizes: tuple | None = None):
        if sizes is None:
            sizes = overlap_add_sizes(spec)[1]
        super().__init__(spec, weight, sizes)
        self.step = tuple(n - e + 1 for n, e in zip(self.sizes, self.extent))
        # Valid positions the outputs read, per axis, and the blocks that cover them.
        needed = [(int(r.stop - 1) if isinstance(r, slice) else int(r.max())) + 1
                  for r in self.read]
        self.blocks = tuple(max(1, -(-v // b)) for v, b in zip(needed, self.step))
        # Input samples the blocks read: (blocks - 1) * B + L per axis.
        self.span = tuple((m - 1) * b + n for m, b, n in zip(self.blocks, self.step, self.sizes))

    def _workers(self, x: np.ndarray) -> int:
        # The transform batch is every block of every channel.
        return fft_workers(x.shape[0] * x.shape[1] * math.prod(self.blocks) * math.prod(self.sizes))

    def _forward(self, x: np.ndarray) -> np.ndarray:
        xp = x if self.padder.trivial else self.padder.pad(x)
        if self.real and np.iscomplexobj(xp):
            return self._forward(x.real) + 1j * self._forward(x.imag)
        d, n, c = self.spec.ndim, xp.shape[0], xp.shape[1]
        # The padded input on the blocks' span: cropped, or zero past its end.
        xe = np.zeros((n, c) + self.span, dtype=xp.dtype)
        common = tuple(slice(0, min(p, s)) for p, s in zip(self.padded, self.span))
        xe[(Ellipsis,) + common] = xp[(Ellipsis,) + common]
        # Segment j of each axis starts at j*B: windows of L, every B-th (a view).
        win = sliding_window_view(xe, self.sizes, axis=self.axes)
        win = win[(Ellipsis,) + tuple(slice(None, None, b) for b in self.step) + (slice(None),) * d]
        # (N, C, m1..md, L1..Ld) -> (N, m1..md, C, L1..Ld) -> (N * prod(m), C, L...)
        order = (0,) + tuple(range(2, 2 + d)) + (1,) + tuple(range(2 + d, 2 + 2 * d))
        segs = win.transpose(order).reshape((-1, c) + self.sizes)
        transform = scipy.fft.rfftn if self.real else scipy.fft.fftn
        yf = self._mix(transform(segs, axes=self.axes), adjoint=False)
        if self.real:
            ys = scipy.fft.irfftn(yf, s=self.sizes, axes=self.axes)
        else:
            ys = scipy.fft.ifftn(yf, axes=self.axes)
        ys = ys[(Ellipsis,) + tuple(slice(0, b) for b in self.step)]  # no wrap-around reaches these
        # (N, m1..md, C_out, B1..Bd) -> (N, C_out, m1, B1, ..., md, Bd) -> (N, C_out, m1*B1, ...)
        c_out = ys.shape[1]
        ys = ys.reshape((n,) + self.blocks + (c_out,) + self.step)
        order = (0, 1 + d) + sum(((1 + i, 2 + d + i) for i in range(d)), ())
        y = ys.transpose(order).reshape((n, c_out) + tuple(m * b for m, b in zip(self.blocks,
                                                                                   self.step)))
        if self._sliced:
            return y[(Ellipsis,) + self.read]
        return y[(Ellipsis,) + np.ix_(*self._index(self.read))]

    def _adjoint(self, y: np.ndarray) -> np.ndarray:
        if self.real and np.iscomplexobj(y):
            return self._adjoint(y.real) + 1j * self._adjoint(y.imag)
        d, n, c_out = self.spec.ndim, y.shape[0], y.shape[1]
        covered = tuple(m * b for m, b in zip(self.blocks, self.step))
        up = np.zeros((n, c_out) + covered, dtype=y.dtype)
        if self._sliced:
            up[(Ellipsis,) + self.read] = y
        else:
            up[(Ellipsis,) + np.ix_(*self._index(self.read))] = y
        # (N, C_out, m1, B1, ..., md, Bd) -> (N * prod(m), C_out, B1..Bd)
        split = (n, c_out) + sum(((m, b) for m, b in zip(self.blocks, self.step)), ())
        order = ((0,) + tuple(2 + 2 * i for i in range(d))
                 + (1,) + tuple(3 + 2 * i for i in range(d)))
        blocks = up.reshape(split).transpose(order).reshape((-1, c_out) + self.step)
        transform = scipy.fft.rfftn if self.real else scipy.fft.fftn
        xf = self._mix(transform(blocks, s=self.sizes, axes=self.axes), adjoint=True)
        if self.real:
            segs = scipy.fft.irfftn(xf, s=self.sizes, axes=self.axes)
        else:
            segs = scipy.fft.ifftn(xf, axes=self.axes)
        c_in = segs.shape[1]
        acc = _overlap_add(segs.reshape((n,) + self.blocks + (c_in,) + self.sizes), self.step)
        xp = np.zeros((n, c_in) + self.padded, dtype=acc.dtype)
        common = tuple(slice(0, min(p, s)) for p, s in zip(self.padded, self.span))
        xp[(Ellipsis,) + common] = acc[(Ellipsis,) + common]  # past the padded end: zeros read
        if self.padder.trivial:
            return xp
        return self.padder.fold(xp)


def _overlap_add(segs: np.ndarray, step: tuple) -> np.ndarray:
    """Add segments back at offsets ``j * step``: (N, m1..md, C, L1..Ld) -> (N, C, X1..Xd).

    ``X = (m - 1) * step + L`` per axis.  A segment of ``L`` samples spans
    ``q = ceil(L / step)`` chunks of one step; chunk ``r`` of every block
    ``j`` lands on step ``j + r`` of the output, so each combination of
    chunks is one strided add over all blocks at once (``prod(q)`` adds,
    each with the last axis contiguous on both sides).
    """
    d = len(step)
    n, blocks, c, sizes = segs.shape[0], segs.shape[1:1 + d], segs.shape[1 + d], segs.shape[2 + d:]
    chunks = [-(-length // b) for length, b in zip(sizes, step)]
    # The output as (N, C, M1, B1, ..., Md, Bd) with M = m + q - 1 steps per axis.
    out = np.zeros((n, c) + sum(((m + q - 1, b) for m, q, b in zip(blocks, chunks, step)), ()),
                   dtype=segs.dtype)
    # (N, m1..md, C, L1..Ld) viewed as (N, C, m1, L1, ..., md, Ld).
    src = segs.transpose((0, 1 + d) + sum(((1 + i, 2 + d + i) for i in range(d)), ()))
    for combo in itertools.product(*(range(q) for q in chunks)):
        dst_index, src_index = [slice(None)] * 2, [slice(None)] * 2
        for r, m, b, length in zip(combo, blocks, step, sizes):
            width = min(b, length - r * b)
            dst_index += [slice(r, r + m), slice(0, width)]
            src_index += [slice(None), slice(r * b, r * b + width)]
        out[tuple(dst_index)] += src[tuple(src_index)]
    total = tuple((m - 1) * b + length for m, b, length in zip(blocks, step, sizes))
    out = out.reshape((n, c) + tuple((m + q - 1) * b for m, q, b in zip(blocks, chunks, step)))
    return out[(Ellipsis,) + tuple(slice(0, t) for t in total)]
