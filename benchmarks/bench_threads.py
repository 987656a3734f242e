"""Two threads against one, for the same call, in one process: threads must help, never hurt.

Usage: python benchmarks/bench_threads.py [--repeats 5] [--only spectra|matrix|layer|operator]

Each case runs in turns at 1 and at 2 threads (threadpoolctl limits for BLAS and
for convtheory's worker pools, ``torch.set_num_threads`` is not involved) and
reports the ratio time(2 threads) / time(1 thread): at most 1 within noise is
the target, below 1 is a speed-up.

* ``conv_singular_values`` of a 128-channel circular 3x3 conv on 28x28 (784
  complex 128x128 SVDs), and, for the record, one block of 64 of those SVDs as
  a single ``numpy.linalg.svd`` call at 2 BLAS threads (what it did before);
* ``conv_matrix`` of the 16->32, 3x3, 128x128 layer (74.7 M nonzeros):
  nonzeros per second at 1 and 2 threads, and peak memory (tracemalloc) over
  the CSR's own bytes;
* the layer configurations of ``bench_layer_configs.py`` (float32 and
  float64, forward + backward);
* ``conv_operator`` on the large cases of ``bench_operator.py``, on a
  2048x2048 image with a 31x31 kernel (the full FFT) and on a 1-D signal of
  2^18 samples with a kernel of 101 (overlap-add).
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc

from _common import best_ratio, header, interleaved, median, ratio_stats

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import convtheory.nn as cnn  # noqa: E402
from convtheory import conv_matrix, conv_operator, conv_singular_values  # noqa: E402
from convtheory.checks.spectra import frequency_matrices  # noqa: E402


def _at(threads, fn):
    def run():
        with threadpool_limits(threads):
            fn()
    return run


def _row(name, fn, repeats):
    t1, t2 = interleaved([_at(1, fn), _at(2, fn)], repeats)
    r, lo, hi = ratio_stats(t2, t1)
    print(f"{name:52} {1e3 * median(t1):10.1f} {1e3 * median(t2):10.1f} {r:6.2f}x [{lo:.2f}-{hi:.2f}] "
          f"best {best_ratio(t2, t1):.2f}x")


def spectra(repeats):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((128, 128, 3, 3))
    conv = dict(padding="same", padding_mode="circular")
    _row("conv_singular_values 128ch 28x28", lambda: conv_singular_values(w, (128, 28, 28), **conv),
         max(3, repeats // 2))
    H = frequency_matrices(w, (128, 28, 28), **conv)[:, :64]
    t1, t2 = interleaved([_at(1, lambda: np.linalg.svd(H, compute_uv=False)),
                          _at(2, lambda: np.linalg.svd(H, compute_uv=False))], 3)
    print(f"{'  before: one svd call over 64 of them, ms/matrix':52} {1e3 * median(t1) / 64:10.2f} "
          f"{1e3 * median(t2) / 64:10.2f} {median(t2) / median(t1):6.2f}x")


def matrix(repeats):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((32, 16, 3, 3))
    shape = (16, 128, 128)
    M = conv_matrix(w, shape, padding=1)  # warm the tap layout cache and the pages
    csr_bytes = M.data.nbytes + M.indices.nbytes + M.indptr.nbytes
    nnz = M.nnz
    del M
    gc.collect()
    fns = [_at(1, lambda: conv_matrix(w, shape, padding=1)), _at(2, lambda: conv_matrix(w, shape, padding=1))]
    t1, t2 = interleaved(fns, repeats)
    peaks = []
    for fn in fns:
        gc.collect()
        tracemalloc.start()
        fn()
        peaks.append(tracemalloc.get_traced_memory()[1] / csr_bytes)
        tracemalloc.stop()
    r, lo, hi = ratio_stats(t2, t1)
    print(f"{'conv_matrix 74.7 M nnz':52} {1e3 * median(t1):10.1f} {1e3 * median(t2):10.1f} "
          f"{r:6.2f}x [{lo:.2f}-{hi:.2f}] best {best_ratio(t2, t1):.2f}x")
    print(f"  nnz/s: {nnz / median(t1) / 1e6:,.0f} M at 1 thread, {nnz / median(t2) / 1e6:,.0f} M at "
          f"2 threads (fastest turns: {nnz / min(t1) / 1e6:,.0f} M, {nnz / min(t2) / 1e6:,.0f} M); "
          f"peak memory / CSR bytes: {peaks[0]:.2f} (1 thread), {peaks[1]:.2f} (2 threads)")

    # The bound on one core: the CSR's bytes written once, into fresh memory (the
    # kernel zeroes each page on first touch) and into memory already touched.
    def fresh():
        np.empty(nnz).fill(1.0)
        np.empty(nnz, dtype=np.int32).fill(1)
    data, indices = np.empty(nnz), np.empty(nnz, dtype=np.int32)

    def touched():
        data.fill(1.0)
        indices.fill(1)
    tf, tt = interleaved([_at(1, fresh), _at(1, touched)], repeats)
    print(f"  one core writing the CSR's values and indices: {nnz / median(tf) / 1e6:,.0f} M nnz/s "
          f"into fresh memory, {nnz / median(tt) / 1e6:,.0f} M nnz/s into touched memory")


def layer(repeats):
    from bench_layer_configs import CONFIGS
    rng = np.random.default_rng(0)
    for name, d, n, c_in, c_out, size, k, kw in CONFIGS:
        for dtype in ("float32", "float64"):
            x = rng.standard_normal((n, c_in) + (size,) * d).astype(dtype)
            lay = getattr(cnn, f"Conv{d}d")(c_in, c_out, k, dtype=dtype, seed=0, **kw)
            g = rng.standard_normal(lay(x).shape).astype(dtype)

            def step(lay=lay, x=x, g=g):
                lay(x)
                lay.backward(g)
            _row(f"layer {name} {dtype}", step, repeats)


def operator(repeats):
    rng = np.random.default_rng(0)
    cases = [("31x31 same 512^2", (31, 31), (512, 512), dict(padding="same")),
             ("11x11 same 512^2", (11, 11), (512, 512), dict(padding="same")),
             ("3x3x3 64^3", (3, 3, 3), (64, 64, 64), dict(padding=1)),
             ("64->64 3x3 56^2", (64, 64, 3, 3), (64, 56, 56), dict(padding=1)),
             ("31x31 same 2048^2", (31, 31), (2048, 2048), dict(padding="same")),
             ("101 same 2^18", (101,), (2**18,), dict(padding="same"))]
    for name, wshape, shape, kw in cases:
        A = conv_operator(rng.standard_normal(wshape), shape, **kw)
        x = rng.standard_normal(A.shape[1])
        y = rng.standard_normal(A.shape[0])
        _row(f"operator {name} matvec [{A.method}]", lambda: A.matvec(x), repeats)
        _row(f"operator {name} rmatvec [{A.method}]", lambda: A.rmatvec(y), repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["spectra", "matrix", "layer", "operator"], default=None)
    args = parser.parse_args(argv)
    header(2, args.repeats)
    print("(each row alternates 1 and 2 threads)")
    print(f"{'case':52} {'1 thr ms':>10} {'2 thr ms':>10} {'2/1':>7} [range] best: min/min")
    for part in (spectra, matrix, layer, operator):
        if args.only in (None, part.__name__):
            part(args.repeats)
            sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
