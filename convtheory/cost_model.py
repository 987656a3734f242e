"""The cost model that ``conv_operator(method="auto")`` chooses its path by.

Two paths compute every conv (see :mod:`convtheory.operators`): ``direct``
(im2col + GEMM, or a shift-and-add for one channel pair per group) and
``fft`` (spectra of the input's size for a circular "same" conv with stride 1,
else of the padded input).  :func:`method_costs` estimates the seconds of each
from the geometry and the sizes; the forward and the adjoint of a path cost
the same, so one choice serves both.
"""

from __future__ import annotations

import math

from .fftconv import fft_sizes
from .spec import ConvSpec

__all__ = ["method_costs"]


def _fft_eligible(spec: ConvSpec) -> bool:
    return (spec.padding_mode == "circular" and all(s == 1 for s in spec.stride)
            and spec.output_spatial == spec.input_spatial and min(spec.input_spatial) > 0)


#: Cost-model constants, in nanoseconds per unit, fitted to float64 timings of
#: both paths (benchmarks/bench_operator.py) on one core of an AMD EPYC.
_NS_PER_FLOP = 0.1      # a multiply-add in a GEMM (BLAS near its peak)
_NS_PER_COPY = 1.2      # an element written by the gather and read back by the GEMM
_NS_PER_FFT = 0.45      # one element * log2(length) of a real transform
_NS_PER_MIX = 3.0       # a complex multiply-add per frequency and channel pair (a
                        # batched matrix-vector product: far from BLAS's peak)
_NS_PER_CALL = 20_000   # per-call overhead of a path (planning, temporaries)


def method_costs(spec: ConvSpec, batch: int = 1) -> dict:
    """The cost model of ``conv_operator(method="auto")``: estimated seconds per path.

    * ``"direct"``: the gather writes ``C_in * prod(k) * prod(o)`` elements
      per vector and the GEMM does ``C_out * C_in/g * prod(k) * prod(o)``
      multiply-adds; the adjoint is the transposed GEMM and col2im, the same.
    * ``"fft"``: a real transform of ``C_in + C_out`` channels over ``L``
      (``prod(L) * log2(prod(L))`` each; ``L = n`` for a circular "same"
      conv with stride 1, else the padded input rounded up by
      ``next_fast_len``), and ``C_out * C_in/g`` complex multiply-adds per
      frequency.  The adjoint does the same transforms, so it costs the same.

    The constants are nanoseconds per unit fitted on one core; only their
    ratios matter, and the choice is within 1.5x of the faster path on the
    benchmarked geometries (kernels 1 to 31, every boundary mode, strides and
    dilations, 1 to 64 channels).

    Examples
    --------
    A 31x31 kernel on 512x512 is far cheaper by FFT; a 3x3 kernel is not:

    >>> big = ConvSpec((31, 31), (512, 512), padding="same")
    >>> costs = method_costs(big)
    >>> costs["fft"] < costs["direct"] / 10
    True
    >>> small = method_costs(ConvSpec((16, 16, 3, 3), (16, 64, 64), padding=1))
    >>> small["direct"] < small["fft"]
    True
    """
    k = math.prod(spec.kernel_size)
    p = math.prod(spec.output_spatial)
    pairs = spec.out_channels * spec.in_channels_per_group
    direct = batch * (_NS_PER_COPY * spec.in_channels * k * p + _NS_PER_FLOP * pairs * k * p)
    if _fft_eligible(spec):
        size = math.prod(spec.input_spatial)
    else:
        size = math.prod(fft_sizes(spec)[1])
    freqs = size // 2 + 1
    channels = spec.in_channels + spec.out_channels
    fft = batch * (_NS_PER_FFT * channels * size * math.log2(max(size, 2))
                   + _NS_PER_MIX * pairs * freqs)
    return {"direct": (direct + _NS_PER_CALL) * 1e-9, "fft": (fft + _NS_PER_CALL) * 1e-9}


def _fft_cheaper(spec: ConvSpec) -> bool:
    if min(spec.input_spatial) == 0:  # an empty input has nothing to transform
        return False
    costs = method_costs(spec)
    return costs["fft"] < costs["direct"]
