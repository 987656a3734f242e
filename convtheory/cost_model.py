"""The cost model that ``conv_operator(method="auto")`` chooses its path by.

Three paths compute every conv (see :mod:`convtheory.operators`): ``direct``
(im2col + GEMM, or a shift-and-add for one channel pair per group), ``fft``
(spectra of the input's size for a circular "same" conv with stride 1, else
of the whole padded input) and ``overlap_add`` (spectra of short blocks of
the padded input, :mod:`convtheory.overlap_add`).  :func:`method_costs`
estimates the seconds of each from the geometry and the sizes, for the
forward pass or for the adjoint.  The two differ on the direct path only:
col2im adds into the input where im2col copied out of it.  So ``"auto"``
chooses the adjoint's path on its own.  :func:`estimate_operator_bytes`
estimates the memory of each path, which ``conv_operator`` checks against
its budget before building anything.
"""

from __future__ import annotations

import math

from .fftconv import fft_sizes
from .overlap_add import overlap_add_blocks
from .spec import ConvSpec
from .taps import count_taps
from .validation import as_bool, as_choice, as_instance, as_int, as_itemsize

__all__ = ["PATHS", "estimate_operator_bytes", "method_costs"]

#: The paths that compute a conv (``conv_operator``'s explicit methods).
PATHS = ("direct", "fft", "overlap_add")


def _fft_eligible(spec: ConvSpec) -> bool:
    return (spec.padding_mode == "circular" and all(s == 1 for s in spec.stride)
            and spec.output_spatial == spec.input_spatial and min(spec.input_spatial) > 0)


#: Cost-model constants, in nanoseconds per unit, fitted to float64 timings of
#: both paths (benchmarks/bench_operator.py) on one core of an AMD EPYC.
_NS_PER_FLOP = 0.1      # a multiply-add in a GEMM (BLAS near its peak)
_NS_PER_COPY = 1.2      # an element written by the gather and read back by the GEMM
# col2im reads each element and adds it into the input: measured 2.4-2.7x a
# gather's element (16->16 3x3 on 64^2, 64->64 3x3 on 32^2, 8->8 7x7 stride 2 on
# 64^2).
_SCATTER_FACTOR = 2.5
# One channel pair per group (single channel, depthwise) is a shift-and-add: one
# multiply-add per tap and output, no gather and no GEMM.  Its adjoint scatters,
# 1.4x slower (kernels 3-31 on 256^2).
_NS_PER_TAP = 0.75
_NS_PER_TAP_ADJOINT = 1.05
_NS_PER_FFT = 0.45      # one element * log2(length) of a real transform
_NS_PER_MIX = 3.0       # a complex multiply-add per frequency and channel pair (a
                        # batched matrix-vector product: far from BLAS's peak)
# Per-call overhead of each path (planning, temporaries), measured on convs of
# 8 to 64 samples: overlap-add cuts and reassembles blocks.
_NS_PER_CALL = {"direct": 20_000, "fft": 25_000, "overlap_add": 45_000}
# Overlap-add's transform work per unit, relative to one full transform's
# (_NS_PER_FFT), by the number of spatial axes: fitted to timings against the
# full FFT of single-channel "same" convs (1-D: 2^18-2^19 samples, kernels
# 31-255; 2-D: 512^2-4096^2, kernels 5-63; 3-D: 128^3, 9^3), float64, one thread.
# Short 1-D blocks stay in cache and beat the model; in 2-D and 3-D the
# batched transforms of many small blocks and the segment copies cost more
# than the log factor they save.
_OA_FACTOR = {1: 0.8, 2: 1.5, 3: 1.3}


def method_costs(spec: ConvSpec, batch: int = 1, *, adjoint: bool = False) -> dict:
    """The cost model of ``conv_operator(method="auto")``: estimated seconds per path.

    * ``"direct"``: the gather writes ``C_in * prod(k) * prod(o)`` elements
      per vector and the GEMM does ``C_out * C_in/g * prod(k) * prod(o)``
      multiply-adds.  The adjoint (``adjoint=True``) is the transposed GEMM
      and col2im, whose scatter-add costs 2.5 times a gathered element, as
      measured.  One channel pair per group is a shift-and-add instead:
      ``C_in * prod(k) * prod(o)`` multiply-adds, 1.4 times dearer in the
      adjoint.
    * ``"fft"``: a real transform of ``C_in + C_out`` channels over ``L``
      (``prod(L) * log2(prod(L))`` each; ``L = n`` for a circular "same"
      conv with stride 1, else the padded input rounded up by
      ``next_fast_len``), and ``C_out * C_in/g`` complex multiply-adds per
      frequency.  The adjoint does the same transforms, so it costs the same.
    * ``"overlap_add"``: the same terms for ``m`` blocks of ``L`` samples per
      axis (:func:`~convtheory.overlap_add.overlap_add_sizes`: ``L`` several
      times the kernel's extent ``E``, ``m = ceil(V / (L - E + 1))`` blocks
      covering the ``V`` valid positions), so ``m * prod(L) * log2(prod(L))``
      per channel instead of ``prod(P) * log2(prod(P))``, times a measured
      factor per number of axes (0.8 in 1-D, 1.5 in 2-D, 1.3 in 3-D): the
      blocks trade a smaller log for the ``(L / (L - E + 1))**d`` samples
      they overlap by, and for copies.  It pays for long 1-D signals and a
      mid-sized kernel (1.3-3.8x faster than the full FFT at 2^18 samples and
      kernels of 31-255 in ``benchmarks/bench_operator.py``); in 2-D the full
      FFT was as fast or up to 1.4x faster than overlap-add at 2048x2048 with
      15x15 and 31x31 kernels (and 1.2-1.4x faster than
      ``scipy.signal.oaconvolve``), so ``"auto"`` keeps the full FFT there.

    ``"auto"`` takes the cheapest, for the forward and for the adjoint apart.  The constants are nanoseconds per unit
    fitted on one core; only their ratios matter, and the choice is within
    1.5x of the faster path on the benchmarked geometries (kernels 1 to 31,
    every boundary mode, strides and dilations, 1 to 64 channels, and the
    overlap-add cases above).

    Raises
    ------
    TypeError
        If ``spec`` is not a ConvSpec, ``batch`` not an integer or
        ``adjoint`` not True or False.
    ValueError
        If ``batch < 1``.

    Examples
    --------
    A 31x31 kernel on 512x512 is far cheaper by FFT; a 3x3 kernel is not:

    >>> big = ConvSpec((31, 31), (512, 512), padding="same")
    >>> costs = method_costs(big)
    >>> costs["fft"] < costs["direct"] / 10
    True
    >>> small = method_costs(ConvSpec((16, 16, 3, 3), (16, 64, 64), padding=1))
    >>> small["direct"] < min(small["fft"], small["overlap_add"])
    True

    A long signal and a kernel of 101 taps: overlap-add beats one transform
    of the whole signal.

    >>> long = method_costs(ConvSpec((101,), (2**18,), padding="same"))
    >>> min(long, key=long.get)
    'overlap_add'

    A strided 7x7 conv of 8 channels gathers fast but scatters slowly: the
    forward stays direct, the adjoint goes to the FFT.

    >>> strided = ConvSpec((8, 8, 7, 7), (8, 64, 64), padding=3, stride=2)
    >>> forward, adjoint = method_costs(strided), method_costs(strided, adjoint=True)
    >>> min(forward, key=forward.get), min(adjoint, key=adjoint.get)
    ('direct', 'fft')
    """
    spec = as_instance(spec, ConvSpec, "spec")
    batch = as_int(batch, "batch", minimum=1)
    adjoint = as_bool(adjoint, "adjoint")
    k = math.prod(spec.kernel_size)
    p = math.prod(spec.output_spatial)
    pairs = spec.out_channels * spec.in_channels_per_group
    if spec.out_channels_per_group == spec.in_channels_per_group == 1:
        tap = _NS_PER_TAP_ADJOINT if adjoint else _NS_PER_TAP
        direct = batch * tap * spec.in_channels * k * p
    else:
        copy = _NS_PER_COPY * (_SCATTER_FACTOR if adjoint else 1.0)
        direct = batch * (copy * spec.in_channels * k * p + _NS_PER_FLOP * pairs * k * p)
    if _fft_eligible(spec):
        size = math.prod(spec.input_spatial)
    else:
        size = math.prod(fft_sizes(spec)[1])
    freqs = size // 2 + 1
    channels = spec.in_channels + spec.out_channels
    fft = batch * (_NS_PER_FFT * channels * size * math.log2(max(size, 2))
                   + _NS_PER_MIX * pairs * freqs)
    oa = batch * _overlap_add_units(spec, channels, pairs)
    units = {"direct": direct, "fft": fft, "overlap_add": oa}
    return {m: (units[m] + _NS_PER_CALL[m]) * 1e-9 for m in units}


def _overlap_add_units(spec: ConvSpec, channels: int, pairs: int) -> float:
    """Nanoseconds of one overlap-add pass (see :func:`method_costs`)."""
    sizes, per_axis, _ = overlap_add_blocks(spec)
    blocks = math.prod(per_axis)
    size = math.prod(sizes)
    freqs = size // 2 + 1
    factor = _OA_FACTOR.get(spec.ndim, max(_OA_FACTOR.values()))
    return blocks * (factor * _NS_PER_FFT * channels * size * math.log2(max(size, 2))
                     + _NS_PER_MIX * pairs * freqs)


def estimate_operator_bytes(spec: ConvSpec, method: str = "direct", *, itemsize: int = 8) -> int:
    """Upper bound on the bytes :func:`conv_operator` keeps or allocates for one vector.

    ``"direct"``: the im2col buffer ``(C_in, prod(k), prod(o))`` and the
    transposed product of the adjoint, which has the same size, plus the
    input and output vectors, and the padded input for a boundary mode other
    than zeros.  ``"fft"`` (circular,
    stride 1, same size): the taps of one channel pair, the kernel's circular
    embedding ``(C_out, C_in/groups, prod(n))`` and its complex transform,
    stored twice while it is reordered.  ``"fft"`` (any other geometry): the
    kernel's embedding in the transform size ``L`` (the padded input rounded
    up by ``next_fast_len``) and its transform, twice, plus the transforms of
    the input and output channels.  A ``matmat`` with ``b`` columns needs about
    ``b`` times the per-vector part.

    Examples
    --------
    Two im2col buffers of 64 * 9 * 56**2 float64 and two vectors of 64 * 56**2:

    >>> spec = ConvSpec((64, 64, 3, 3), (64, 56, 56), padding=1)
    >>> estimate_operator_bytes(spec) == 8 * (2 * 64 * 9 * 56**2 + 2 * 64 * 56**2)
    True
    """
    spec = as_instance(spec, ConvSpec, "spec")
    itemsize = as_itemsize(itemsize)
    method = as_choice(method, "method", PATHS)
    kept, per_vector = _operator_bytes(spec, method, itemsize)
    return kept + per_vector


def _operator_bytes(spec: ConvSpec, method: str, itemsize: int) -> tuple[int, int]:
    """``(kept, per_vector)``: the bytes of :func:`estimate_operator_bytes` the operator keeps
    (tables, kernel spectra) and those each column of a product allocates."""
    n_in = math.prod(spec.input_spatial)
    n_out = math.prod(spec.output_spatial)
    vectors = (spec.in_channels * n_in + spec.out_channels * n_out) * max(itemsize, 8)
    if method == "direct":
        cols = spec.in_channels * math.prod(spec.kernel_size) * n_out * itemsize
        if spec.padding_mode == "zeros" or n_in == 0:  # gathered straight from the input
            return 0, 2 * cols + vectors
        padded = spec.in_channels * math.prod(fft_sizes(spec)[0]) * itemsize
        return 0, 2 * cols + vectors + padded
    pairs = spec.out_channels * spec.in_channels_per_group
    if method == "overlap_add":
        # The kernel at the block size L and its spectrum, twice; the padded input on
        # the blocks' span; the segments (m * prod(L) per channel) with their spectra.
        sizes, per_axis, spans = overlap_add_blocks(spec)
        size, blocks, span = math.prod(sizes), math.prod(per_axis), math.prod(spans)
        segments = (spec.in_channels + spec.out_channels) * blocks * size
        return (pairs * size * (itemsize + 2 * 16),
                3 * segments * 16 + 2 * spec.in_channels * span * 16 + 2 * vectors)
    if not _fft_eligible(spec):
        size = math.prod(fft_sizes(spec)[1])
        return (pairs * size * (itemsize + 2 * 16),
                3 * (spec.in_channels + spec.out_channels) * size * 16 + 2 * vectors)
    taps = 48 * (count_taps(spec) // max(pairs, 1))  # indptr, cols, kernel, rows, entries
    return taps + pairs * n_in * (itemsize + 2 * 16), 2 * vectors


def _cheapest(spec: ConvSpec, adjoint: bool = False) -> str:
    """The path ``method="auto"`` takes: the cheapest by :func:`method_costs`."""
    if min(spec.input_spatial) == 0:  # an empty input has nothing to transform
        return "direct"
    costs = method_costs(spec, adjoint=adjoint)
    return min(PATHS, key=costs.get)
