"""The two input gradients of a stride-1 conv on the flat grid, as a ratio in one run.

Usage: python benchmarks/bench_flat_input_grad.py [--threads 1] [--repeats 9] [--dtype float32]

For each configuration, the gradient of the input from the output gradient
``g``, computed block by block on one BLAS thread (as the layer does):

* scatter-add: ``gcols = w^T g`` per block, each tap added back where it was
  read (:meth:`FlatGather.scatter`), then the fold of the border;
* correlation: ``g`` on the flat grid behind a zero margin
  (:meth:`FlatGather.grad_padded`), one gather of its taps and one product
  with the flipped weight per block (:meth:`FlatGather.grad_gather`).

The ratio is correlation / scatter-add (below 1: the correlation is faster).
The layer takes the correlation where ``C_out <= C_in`` per group and the kernel
has at least ``convtheory.nn.conv_plan.CORRELATE_TAPS`` taps (inside the
layer the scatter-add shares the weight gradient's loop, which this script
does not show).  Both answers are checked against each other before timing.
"""

from __future__ import annotations

import argparse
import sys

from _common import best_ratio, header, interleaved, median, ratio_stats

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from convtheory.flat_gather import FlatGather  # noqa: E402
from convtheory.spec import ConvSpec  # noqa: E402
from convtheory.threads import blas_threads  # noqa: E402

CONFIGS = [
    # name, dims, N, C_in, C_out, size, k, kwargs
    ("Conv3d 16->16 32^3", 3, 2, 16, 16, 32, 3, dict(padding=1)),
    ("Conv1d 32->32 k=5", 1, 16, 32, 32, 1024, 5, dict(padding=2)),
    ("Conv2d 32->16 dil 2", 2, 8, 32, 16, 64, 3, dict(padding=2, dilation=2)),
    ("Conv2d 16->32 dil 2", 2, 8, 16, 32, 64, 3, dict(padding=2, dilation=2)),
    ("Conv2d 16->16 reflect", 2, 8, 16, 16, 64, 3, dict(padding=1, padding_mode="reflect")),
]


def _paths(flat, g, w):
    spec = flat.spec
    n = g.shape[0]
    c_in, c_out, k_vol = spec.in_channels, spec.out_channels, flat.k_vol
    grad_ext = np.zeros((c_out, n, flat.length), dtype=g.dtype)
    flat.crop(grad_ext)[...] = g.swapaxes(0, 1)
    grad_ext = grad_ext.reshape(c_out, -1)
    w_t = np.ascontiguousarray(w.reshape(c_out, -1).T)
    w_f = np.ascontiguousarray(w.reshape(c_out, c_in, k_vol).transpose(1, 0, 2)).reshape(c_in, -1)
    gxp = np.empty((n, c_in, flat.volume), dtype=g.dtype)

    def scatter():
        gxp.fill(0)
        for block in flat.blocks(n, g.itemsize):
            n0, n1, s, e = block
            gcols = w_t @ grad_ext[:, n0 * flat.length + s:(n1 - 1) * flat.length + e]
            flat.scatter(gcols.reshape(c_in, k_vol, -1), gxp, block)
        return flat.fold(gxp)

    lo, hi = flat.grad_span
    gx = np.empty((c_in, n * (hi - lo)), dtype=g.dtype)

    def correlation():
        gp = flat.grad_padded(g)
        for block in flat.grad_blocks(n, g.itemsize):
            n0, n1, s, e = block
            cols = flat.grad_gather(gp, block).reshape(c_out * k_vol, -1)
            np.matmul(w_f, cols, out=gx[:, n0 * (hi - lo) + s:(n1 - 1) * (hi - lo) + e])
        return flat.grad_input(gx.reshape(c_in, n, hi - lo))

    return scatter, correlation


def bench(config, dtype, repeats):
    name, d, n, c_in, c_out, size, k, kw = config
    spec = ConvSpec((c_out, c_in) + (k,) * d, (c_in,) + (size,) * d, **kw)
    rng = np.random.default_rng(0)
    g = rng.standard_normal((n,) + spec.output_shape).astype(dtype)
    w = rng.standard_normal(spec.weight_shape).astype(dtype)
    flat = FlatGather(spec)
    scatter, correlation = _paths(flat, g, w)
    with blas_threads(1):
        a, b = scatter(), correlation()
        scale = float(np.abs(a).max())
        if not np.allclose(a, b, rtol=0, atol=1e-4 * scale):
            raise AssertionError(f"{name}: the two input gradients differ")
        t_corr, t_scatter = interleaved([correlation, scatter], repeats)
    r, lo, hi = ratio_stats(t_corr, t_scatter)
    print(f"{dtype:8} {name:22} {1e3 * median(t_corr):9.2f} {1e3 * median(t_scatter):9.2f} "
          f"{r:6.2f}x [{lo:.2f}-{hi:.2f}] best {best_ratio(t_corr, t_scatter):.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--dtype", choices=["float32", "float64", "both"], default="float32")
    args = parser.parse_args(argv)
    header(args.threads, args.repeats)
    print(f"{'dtype':8} {'config':22} {'corr ms':>9} {'scat. ms':>9} {'ratio':>7} [range] "
          "best: min/min")
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    with threadpool_limits(args.threads):
        for dtype in dtypes:
            for config in CONFIGS:
                bench(config, dtype, args.repeats)


if __name__ == "__main__":
    sys.exit(main())
