"""Conv2d layer speed, forward + backward, as a ratio to PyTorch CPU in the same run.

Usage: python benchmarks/bench_layer.py [--repeats 7] [--dtype both] [--threads 2]

For each configuration (N, C_in, C_out, H=W, K) with padding='same', times the
median of ``repeats`` forward+backward passes (input, weight and bias
gradients) of ``convtheory.nn.Conv2d`` and of ``torch.nn.Conv2d``, run in
turns with the same number of threads (BLAS and ``torch.set_num_threads``,
2 by default), and prints the ratio ours/torch and the GFLOP/s reached
(3 GEMM-equivalents of 2*N*C_out*C_in*K^2*H*W flops each).  Targets, as
geometric means over the configurations: float64 <= 1.0x torch float64,
float32 <= 2.0x torch float32.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path


def _threads_from_argv(argv) -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_known_args(argv)[0].threads


# BLAS reads its thread count once, when numpy is imported: set it first.
THREADS = _threads_from_argv(sys.argv[1:])
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))
# Both sides run in turns on 2 cores: idle OpenMP threads must sleep at once, or
# one side's spinning threads slow the other (see benchmarks/bench_matrix.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from convtheory.nn import Conv2d  # noqa: E402

CONFIGS = [(8, 3, 16, 64, 3), (16, 16, 32, 32, 3), (1, 1, 1, 512, 5), (4, 64, 64, 56, 3)]
TARGETS = {"float64": 1.0, "float32": 2.0}


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved_medians(fns, repeats: int) -> list:
    """Median time of each function, run in turns so that machine noise hits all alike."""
    for fn in fns:  # warm-up: plans, buffers, BLAS threads
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            ts.append(_seconds(fn))
    return [statistics.median(ts) for ts in times]


def bench(config, dtype, repeats, torch):
    n, c_in, c_out, hw, k = config
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, hw, hw)).astype(dtype)
    layer = Conv2d(c_in, c_out, k, padding="same", dtype=dtype, seed=0)
    g = rng.standard_normal((n, c_out, hw, hw)).astype(dtype)

    def ours():
        layer(x)
        layer.backward(g)

    fns = [ours]
    if torch is not None:
        tl = torch.nn.Conv2d(c_in, c_out, k, padding="same", dtype=getattr(torch, dtype))
        xt = torch.from_numpy(x).requires_grad_()
        gt = torch.from_numpy(g)

        def ref():
            xt.grad = None
            tl.zero_grad()
            tl(xt).backward(gt)

        fns.append(ref)
    medians = interleaved_medians(fns, repeats)
    t_ours = medians[0]
    t_torch = medians[1] if torch is not None else float("nan")
    flops = 3 * 2 * n * c_out * c_in * k * k * hw * hw
    return t_ours, t_torch, flops / t_ours / 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--threads", type=int, default=2,
                        help="BLAS and torch threads (default 2, the targets' setting)")
    args = parser.parse_args(argv)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:  # ratios need torch; times alone are still printed
        torch = None
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    header = f"{'dtype':8} {'(N, C_in, C_out, H, K)':24} {'ours ms':>9} {'torch ms':>9} {'ratio':>7} {'GFLOP/s':>8}"
    import platform
    torch_version = torch.__version__ if torch is not None else "not installed"
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch_version}; "
          f"{os.cpu_count()} cores; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    print(f"threads: {args.threads} (numpy BLAS and torch); medians of {args.repeats} runs")
    print(header)
    print("-" * len(header))
    for dtype in dtypes:
        ratios = []
        for config in CONFIGS:
            t_ours, t_torch, gflops = bench(config, dtype, args.repeats, torch)
            ratio = t_ours / t_torch
            ratios.append(ratio)
            print(f"{dtype:8} {str(config):24} {1e3 * t_ours:9.2f} {1e3 * t_torch:9.2f} "
                  f"{ratio:6.2f}x {gflops:8.1f}")
        geo = float(np.exp(np.mean(np.log(ratios))))
        verdict = "meets" if geo <= TARGETS[dtype] else "misses"
        print(f"{dtype:8} {'geometric mean':24} {'':9} {'':9} {geo:6.2f}x   "
              f"({verdict} the target <= {TARGETS[dtype]:.1f}x)")
        print()


if __name__ == "__main__":
    main()
