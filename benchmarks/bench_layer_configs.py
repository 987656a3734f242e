"""The layer's harder configurations, forward + backward, as ratios to PyTorch in one run.

Usage: python benchmarks/bench_layer_configs.py [--threads 1] [--repeats 7] [--dtype float32]
       [--processes 4]

Configurations (padding keeps the size; input, weight and bias gradients):

* Conv3d 16->16, 3x3x3 on 32^3, batch 2;
* Conv2d 16->32, 3x3 with dilation 2 on 64x64, batch 8;
* Conv1d 32->32, k = 5 on 1024, batch 16;
* depthwise Conv2d, 32 channels, groups 32, 3x3 on 64x64, batch 8.

Targets: float32 within 1.5x of ``torch.nn.ConvNd``; float64 at most 1.0x.
Ratios are medians of per-turn ratios of interleaved calls, with their range.

torch's own time for the same call differs from process to process, by up to
1.35x for the float32 Conv3d (about 30 or 40 ms) and 3.5x for the depthwise
conv (about 3.5 or 12 ms), while ours stays within a few per cent.
``--processes K`` runs the whole measurement in K fresh processes and
summarises each row over them: the median times per process, and the ratio
per process, whose largest is the ratio against torch's fastest process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _common import best_ratio, header, interleaved, median, ratio_stats

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import convtheory.nn as cnn  # noqa: E402

CONFIGS = [
    # name, dims, N, C_in, C_out, size, k, kwargs
    ("Conv3d 16->16 32^3", 3, 2, 16, 16, 32, 3, dict(padding=1)),
    ("Conv2d dilation 2", 2, 8, 16, 32, 64, 3, dict(padding=2, dilation=2)),
    ("Conv1d k=5", 1, 16, 32, 32, 1024, 5, dict(padding=2)),
    ("depthwise Conv2d", 2, 8, 32, 32, 64, 3, dict(padding=1, groups=32)),
]


def bench(config, dtype, repeats, torch):
    name, d, n, c_in, c_out, size, k, kw = config
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in) + (size,) * d).astype(dtype)
    layer = getattr(cnn, f"Conv{d}d")(c_in, c_out, k, dtype=dtype, seed=0, **kw)
    g = rng.standard_normal(layer(x).shape).astype(dtype)

    def ours():
        layer(x)
        layer.backward(g)

    tl = getattr(torch.nn, f"Conv{d}d")(c_in, c_out, k, dtype=getattr(torch, dtype), **kw)
    xt = torch.from_numpy(x).requires_grad_()
    gt = torch.from_numpy(g)

    def ref():
        xt.grad = None
        tl.zero_grad()
        tl(xt).backward(gt)

    t_ours, t_ref = interleaved([ours, ref], repeats)
    r, lo, hi = ratio_stats(t_ours, t_ref)
    print(f"{dtype:8} {name:22} {1e3 * median(t_ours):9.2f} {1e3 * median(t_ref):9.2f} "
          f"{r:6.2f}x [{lo:.2f}-{hi:.2f}] best {best_ratio(t_ours, t_ref):.2f}x")
    print("ROW " + json.dumps([dtype, name, median(t_ours), median(t_ref), r]))
    return r


def over_processes(argv, processes):
    """Run this script in ``processes`` fresh processes; summarise each row over them."""
    rows = {}
    for _ in range(processes):
        out = subprocess.run([sys.executable, __file__] + argv, capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            if line.startswith("ROW "):
                dtype, name, ours, ref, r = json.loads(line[4:])
                rows.setdefault((dtype, name), []).append((ours, ref, r))
    print(f"over {processes} processes: median ms per process (min-max), ratio per process "
          "(min-max; the max is against torch's fastest process)")
    for (dtype, name), runs in rows.items():
        ours, ref, r = zip(*runs)
        print(f"{dtype:8} {name:22} ours {1e3 * min(ours):7.2f}-{1e3 * max(ours):7.2f}  "
              f"torch {1e3 * min(ref):7.2f}-{1e3 * max(ref):7.2f}  "
              f"ratio {min(r):.2f}-{max(r):.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    parser.add_argument("--only", default=None, help="run only configs whose name contains this")
    parser.add_argument("--processes", type=int, default=1,
                        help="repeat the whole measurement in this many fresh processes")
    args = parser.parse_args(argv)
    if args.processes > 1:
        given = list(sys.argv[1:] if argv is None else argv)
        child = [a for i, a in enumerate(given) if not a.startswith("--processes")
                 and not (i > 0 and given[i - 1] == "--processes")]
        return over_processes(child, args.processes)
    import torch
    torch.set_num_threads(args.threads)
    header(args.threads, args.repeats)
    print(f"torch {torch.__version__}, torch threads {torch.get_num_threads()}")
    print(f"{'dtype':8} {'config':22} {'ours ms':>9} {'torch ms':>9} {'ratio':>7} [range] best: min/min")
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    with threadpool_limits(args.threads):
        for dtype in dtypes:
            for config in CONFIGS:
                if args.only is None or args.only in config[0]:
                    bench(config, dtype, args.repeats, torch)


if __name__ == "__main__":
    sys.exit(main())
