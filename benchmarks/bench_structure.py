"""Speed of structure recognition and black-box probing, as ratios in one run.

    python benchmarks/bench_structure.py [--repeat 5]

* ``recover_kernel`` against building the same matrix with ``conv_matrix``
  (recovery = read every tap, rebuild, compare: a few builds is the target),
  and against a straightforward reference written out below (a Python loop
  over weights, each compared on its own taps);
* ``is_toeplitz`` (BTTB levels) of a 2-D conv matrix against the same
  straightforward per-diagonal loop;
* ``probe_matrix`` of ``scipy.ndimage.correlate`` against one call of the
  filter (the cost is one call per input entry, by design).

Medians of ``--repeat`` runs; ratios are reference / convtheory (>1: faster).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convtheory import ConvSpec, conv_matrix, conv_taps  # noqa: E402
from convtheory.structure import is_toeplitz, recover_kernel  # noqa: E402
from convtheory.testing import probe_matrix  # noqa: E402


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def reference_recover(M, spec):
    """Loop over weights: each must be constant on its taps (no folding: zero padding)."""
    taps = conv_taps(spec)
    M = M.tocsr()
    order = np.argsort(taps.kernel, kind="stable")
    bounds = np.searchsorted(taps.kernel[order], np.arange(spec.n_weights + 1))
    w = np.zeros(spec.n_weights)
    for k in range(spec.n_weights):
        sel = order[bounds[k]:bounds[k + 1]]
        values = np.asarray(M[taps.rows[sel], taps.cols[sel]]).ravel()
        if not np.all(values == values[0]):
            return None
        w[k] = values[0]
    return w


def reference_toeplitz(M, levels):
    """Per stored entry, a dict from multi-level diagonal to value."""
    M = M.tocoo()
    ms, ns = zip(*levels)
    seen = {}
    for r, c, v in zip(M.row.tolist(), M.col.tolist(), M.data.tolist()):
        key = tuple(int(a - b) for a, b in zip(np.unravel_index(r, ms), np.unravel_index(c, ns)))
        if seen.setdefault(key, v) != v:
            return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(20240611)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"median of {args.repeat} runs, seconds\n")

    print("recover_kernel (zero padding 1, 3x3)")
    print(f"{'C_out x C_in x n x n':>22} {'taps':>10} {'build':>8} {'recover':>8} {'rec/build':>9} "
          f"{'loop ref':>9} {'ref/rec':>8}")
    for c, n in [(4, 16), (8, 32), (16, 32), (16, 64)]:
        spec = ConvSpec((c, c, 3, 3), (c, n, n), padding=1)
        w = rng.standard_normal(spec.weight_shape)
        M = conv_matrix(w, spec)
        build = median_time(lambda: conv_matrix(w, spec), args.repeat)
        rec = median_time(lambda: recover_kernel(M, spec), args.repeat)
        ref = median_time(lambda: reference_recover(M, spec), max(1, args.repeat // 2))
        assert np.array_equal(recover_kernel(M, spec).kernel.ravel(), reference_recover(M, spec))
        print(f"{f'{c} x {c} x {n} x {n}':>22} {M.nnz:>10,} {build:8.3f} {rec:8.3f} {rec / build:9.1f} "
              f"{ref:9.3f} {ref / rec:8.1f}")

    print("\nis_toeplitz, BTTB levels of a 3x3 zero-padded conv")
    print(f"{'n x n':>10} {'nnz':>10} {'is_toeplitz':>12} {'dict ref':>9} {'ref/ours':>9}")
    for n in [32, 64, 128]:
        spec = ConvSpec((3, 3), (n, n), padding=1)
        M = conv_matrix(rng.standard_normal((3, 3)), spec)
        levels = tuple(zip(spec.output_spatial, (n, n)))
        ours = median_time(lambda: is_toeplitz(M, levels=levels), args.repeat)
        ref = median_time(lambda: reference_toeplitz(M, levels), 1)
        assert bool(is_toeplitz(M, levels=levels)) and reference_toeplitz(M, levels)
        print(f"{f'{n} x {n}':>10} {M.nnz:>10,} {ours:12.4f} {ref:9.3f} {ref / ours:9.0f}")

    print("\nprobe_matrix of scipy.ndimage.correlate (3x3, mode='wrap')")
    print(f"{'n x n':>10} {'one call':>10} {'probe':>8} {'probe/call':>11} {'calls':>7}")
    w = rng.standard_normal((3, 3))
    f = lambda x: ndimage.correlate(x, w, mode="wrap")  # noqa: E731
    for n in [16, 32, 64]:
        x = rng.standard_normal((n, n))
        call = median_time(lambda: f(x), args.repeat * 20)
        probe = median_time(lambda: probe_matrix(f, (n, n)), max(1, args.repeat // 2))
        print(f"{f'{n} x {n}':>10} {call:10.2e} {probe:8.3f} {probe / call:11.0f} {n * n + 7:>7}")


if __name__ == "__main__":
    main()
