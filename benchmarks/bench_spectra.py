"""conv_singular_values (FFT, Sedghi et al. 2019) against the dense SVD of conv_matrix.

Run: ``python benchmarks/bench_spectra.py [--repeat-dense 3]``.  Both are
timed in the same process on the same layer; the table gives medians and the
ratio.  The FFT result is compared with the dense one (max abs difference).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from convtheory import conv_matrix, conv_singular_values


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--repeat-dense", type=int, default=3)
    parser.add_argument("--repeat-fft", type=int, default=25)
    args = parser.parse_args(argv)
    c, n, k = args.channels, args.size, args.kernel
    rng = np.random.default_rng(20190506)
    w = rng.standard_normal((c, c, k, k))
    shape = (c, n, n)
    conv = dict(padding="same", padding_mode="circular")

    t_fft, s_fft = median_time(lambda: conv_singular_values(w, shape, **conv), args.repeat_fft)
    dense = conv_matrix(w, shape, **conv).toarray()
    t_dense, s_dense = median_time(lambda: np.linalg.svd(dense, compute_uv=False), args.repeat_dense)
    err = float(np.max(np.abs(s_fft - s_dense)))

    print(f"singular values of a circular {c}->{c} channel {k}x{k} conv on {n}x{n} "
          f"(matrix {dense.shape[0]}x{dense.shape[1]})")
    print(f"{'method':<34}{'median [s]':>12}{'repeats':>9}")
    print(f"{'dense SVD (numpy.linalg.svd)':<34}{t_dense:>12.4f}{args.repeat_dense:>9}")
    print(f"{'conv_singular_values (FFT)':<34}{t_fft:>12.6f}{args.repeat_fft:>9}")
    print(f"speed-up (dense / FFT): {t_dense / t_fft:,.0f}x   max |sigma_fft - sigma_dense| = {err:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
