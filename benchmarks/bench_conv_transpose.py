"""ConvTranspose2d speed, forward + backward, as a ratio to PyTorch CPU in the same run.

Usage: python benchmarks/bench_conv_transpose.py [--repeats 7] [--dtype both] [--threads 1 2]

For each configuration (N, C_in, C_out, H=W, K, stride, padding, output_padding)
-- decoder upsamplings of DCGAN and U-Net shapes, and one stride-1 layer --
times the median of ``repeats`` forward+backward passes (input, weight and bias
gradients) of ``convtheory.nn.ConvTranspose2d`` and of ``torch.nn.ConvTranspose2d``,
run in turns (so that machine noise hits both alike) with the same number of
threads (BLAS through threadpoolctl, and ``torch.set_num_threads``), and prints
the ratio ours/torch.  Target: geometric mean over the configurations <= 1.5x,
in float32 and float64, at 1 and 2 threads.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# Both sides run in turns on few cores: idle OpenMP threads must sleep at once, or
# one side's spinning threads slow the other (see benchmarks/bench_matrix.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from convtheory.nn import ConvTranspose2d  # noqa: E402

# (N, C_in, C_out, H=W, K, stride, padding, output_padding)
CONFIGS = [
    (8, 64, 32, 16, 4, 2, 1, 0),    # DCGAN generator: 16 -> 32
    (4, 64, 32, 28, 3, 2, 1, 1),    # U-Net decoder, 3x3: 28 -> 56
    (8, 32, 16, 32, 2, 2, 0, 0),    # U-Net decoder, 2x2 stride 2: 32 -> 64
    (4, 32, 32, 32, 3, 1, 1, 0),    # stride 1: the adjoint of a 'same' conv
]
TARGET = 1.5


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved_medians(fns, repeats: int) -> list:
    """Median time of each function, run in turns; one warm-up call each (plans, buffers)."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            ts.append(_seconds(fn))
    return [statistics.median(ts) for ts in times]


def bench(config, dtype, repeats, torch):
    n, c_in, c_out, hw, k, s, p, op = config
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, hw, hw)).astype(dtype)
    layer = ConvTranspose2d(c_in, c_out, k, stride=s, padding=p, output_padding=op, dtype=dtype,
                            seed=0)
    g = rng.standard_normal((n,) + layer.spec(x.shape[1:]).output_shape).astype(dtype)

    def ours():
        layer.zero_grad()
        layer(x)
        layer.backward(g)

    tl = torch.nn.ConvTranspose2d(c_in, c_out, k, stride=s, padding=p, output_padding=op,
                                  dtype=getattr(torch, dtype))
    xt = torch.from_numpy(x).requires_grad_()
    gt = torch.from_numpy(g)

    def ref():
        xt.grad = None
        tl.zero_grad()
        tl(xt).backward(gt)

    return interleaved_medians([ours, ref], repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be at least 5: a median of fewer runs is noise")
    try:
        import torch
    except ImportError:
        print("torch is not installed: the ratios need it as the reference")
        return 1
    blas = sorted({f"{i['internal_api']} {i.get('version')}" for i in threadpool_info()
                   if i["user_api"] == "blas"})
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__};"
          f" BLAS: {', '.join(blas) or 'unknown'}")
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"medians of {args.repeats} interleaved runs")
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    header = (f"{'thr':>3} {'dtype':8} {'(N, Cin, Cout, H, K, s, p, op)':32} {'ours ms':>9} "
              f"{'torch ms':>9} {'ratio':>7}")
    print(header)
    print("-" * len(header))
    summary = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api="blas"):
            for dtype in dtypes:
                ratios = []
                for config in CONFIGS:
                    t_ours, t_torch = bench(config, dtype, args.repeats, torch)
                    ratios.append(t_ours / t_torch)
                    print(f"{threads:3} {dtype:8} {str(config):32} {1e3 * t_ours:9.2f} "
                          f"{1e3 * t_torch:9.2f} {t_ours / t_torch:6.2f}x")
                geo = float(np.exp(np.mean(np.log(ratios))))
                summary.append((threads, dtype, geo))
                print(f"{threads:3} {dtype:8} {'geometric mean':32} {'':9} {'':9} {geo:6.2f}x")
    print()
    for threads, dtype, geo in summary:
        verdict = "meets" if geo <= TARGET else "misses"
        print(f"{threads} thread(s), {dtype}: {geo:.2f}x torch ({verdict} the target <= {TARGET}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
