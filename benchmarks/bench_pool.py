"""Pooling layers' speed, forward + backward, as a ratio to PyTorch CPU in the same run.

Usage: python benchmarks/bench_pool.py [--repeats 7] [--dtype both] [--threads 1 2]

For each pool (max, average, adaptive, global, blur; 1-D, 2-D and 3-D) times
the median of ``repeats`` forward+backward passes (input gradient) of the
``convtheory.nn`` layer and of its ``torch.nn`` twin, run in turns with the
same number of threads (BLAS through threadpoolctl and
``torch.set_num_threads``), at each thread count asked for, and prints the
ratio ours/torch.  The target: every pool within 2x of torch (geometric mean
<= 2.0x, and each ratio printed so that the worst one shows).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

# Both sides run in turns: idle OpenMP threads must sleep at once, or one side's
# spinning threads slow the other (see benchmarks/bench_matrix.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
import convtheory.nn as cnn  # noqa: E402

TARGET = 2.0

# (label, input shape, constructor arguments shared by both libraries, torch-only override)
CONFIGS = [
    ("MaxPool2d(2)", (16, 32, 56, 56), "MaxPool2d", (2,), {}),
    ("MaxPool2d(3, 2, 1)", (16, 32, 56, 56), "MaxPool2d", (3, 2, 1), {}),
    ("MaxPool2d(3, 2, ceil)", (16, 32, 55, 55), "MaxPool2d", (3, 2), {"ceil_mode": True}),
    ("MaxPool1d(3, 2, 1)", (32, 64, 1024), "MaxPool1d", (3, 2, 1), {}),
    ("MaxPool3d(2)", (4, 16, 32, 32, 32), "MaxPool3d", (2,), {}),
    ("AvgPool2d(2)", (16, 32, 56, 56), "AvgPool2d", (2,), {}),
    ("AvgPool2d(3, 2, 1, excl pad)", (16, 32, 56, 56), "AvgPool2d", (3, 2, 1),
     {"count_include_pad": False}),
    ("AvgPool3d(2)", (4, 16, 32, 32, 32), "AvgPool3d", (2,), {}),
    ("AdaptiveAvgPool2d(7)", (16, 64, 28, 28), "AdaptiveAvgPool2d", (7,), {}),
    ("AdaptiveMaxPool2d(5)", (16, 64, 28, 28), "AdaptiveMaxPool2d", (5,), {}),
    ("AdaptiveAvgPool2d(1)", (32, 256, 14, 14), "AdaptiveAvgPool2d", (1,), {}),
]


def _cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved_medians(fns, repeats: int) -> list:
    """Median time of each function, run in turns so that machine noise hits all alike.

    The order alternates from turn to turn and each call starts after a short
    random pause: on a shared machine another job's time slices can recur with
    the period of a turn, and would otherwise fall on the same side every time.
    """
    for fn in fns:  # warm-up: plans, buffers, threads
        fn()
    rng = random.Random(0)
    times = [[] for _ in fns]
    for turn in range(repeats):
        order = list(zip(fns, times))
        for fn, ts in (order if turn % 2 == 0 else order[::-1]):
            time.sleep(rng.uniform(0.0, 0.004))
            ts.append(_seconds(fn))
    return [statistics.median(ts) for ts in times]


def _blur_reference(torch, channels, dtype):
    """The paper's BlurPool2d (antialiased_cnns): reflect pad (1, 1), binomial 3x3, stride 2."""
    from convtheory.pooling import blur_kernel

    w = torch.from_numpy(blur_kernel(channels, 3, 2).astype(dtype))
    pad = torch.nn.ReflectionPad2d((1, 1, 1, 1))
    return lambda t: torch.nn.functional.conv2d(pad(t), w, stride=2, groups=channels)


def bench(label, shape, name, args, kwargs, dtype, repeats, torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    if name == "BlurPool2d":
        ours_layer = cnn.BlurPool2d(shape[1])
        torch_layer = _blur_reference(torch, shape[1], dtype) if torch is not None else None
    else:
        ours_layer = getattr(cnn, name)(*args, **kwargs)
        torch_layer = getattr(torch.nn, name)(*args, **kwargs) if torch is not None else None
    y = ours_layer(x)
    g = rng.standard_normal(y.shape).astype(dtype)

    def ours():
        ours_layer(x)
        ours_layer.backward(g)

    fns = [ours]
    if torch is not None:
        xt = torch.from_numpy(x).requires_grad_()
        gt = torch.from_numpy(g)

        def ref():
            xt.grad = None
            torch_layer(xt).backward(gt)

        fns.append(ref)
    medians = interleaved_medians(fns, repeats)
    return medians[0], (medians[1] if torch is not None else float("nan"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:  # ratios need torch; times alone are still printed
        torch = None
    configs = CONFIGS + [("BlurPool2d(3, 2)", (16, 32, 56, 56), "BlurPool2d", (), {})]
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('filepath', '').split('/')[-1]})"
                     for i in threadpool_info())
    torch_version = torch.__version__ if torch is not None else "not installed"
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch_version}; "
          f"{os.cpu_count()} cores ({_cpu_name()})")
    print(f"BLAS/OpenMP: {blas}")
    print(f"medians of {args.repeats} interleaved runs; forward + input gradient")
    header = f"{'thr':3} {'dtype':8} {'pool':30} {'input':20} {'ours ms':>9} {'torch ms':>9} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for threads in args.threads:
        if torch is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            for dtype in dtypes:
                ratios = []
                for label, shape, name, a, kw in configs:
                    t_ours, t_torch = bench(label, shape, name, a, kw, dtype, args.repeats, torch)
                    ratio = t_ours / t_torch
                    ratios.append(ratio)
                    print(f"{threads:<3} {dtype:8} {label:30} {str(shape):20} {1e3 * t_ours:9.2f} "
                          f"{1e3 * t_torch:9.2f} {ratio:6.2f}x", flush=True)
                geo = float(np.exp(np.mean(np.log(ratios))))
                verdict = "meets" if geo <= TARGET else "misses"
                print(f"{threads:<3} {dtype:8} {'geometric mean':30} {'':20} {'':9} {'':9} "
                      f"{geo:6.2f}x ({verdict} <= {TARGET:.1f}x; worst {max(ratios):.2f}x)")
                print()


if __name__ == "__main__":
    main()
