"""Certified spectral-norm brackets of real conv layers: widths, seconds, and ratios.

Run: ``python benchmarks/bench_spectral_bounds.py [--repeat 5] [--threads 1 2] [--skip-large]``.

For each layer and each BLAS thread count (threadpoolctl; torch gets the same
count), in one process:

* the bracket at ``rtol=1e-4`` (width, seconds, Lanczos products);
* small layers (dense matrix within the budget): ``conv_spectral_norm_bounds``
  against the dense SVD of ``conv_matrix`` (``numpy.linalg.svd``, values
  only), interleaved, medians of ``--repeat``;
* the exact value (``rtol=1e-8``) against power iteration with torch's
  ``conv2d``/``conv_transpose2d`` in float64, run until it is within 1e-8 of
  the converged value, side by side (capped by ``--cap`` seconds: then the
  ratio is a lower bound, printed with ``>=``).

Where the time goes (cProfile, one BLAS thread, a shared 2-core machine).
Small layers: the sparse Gram product, ARPACK's Lanczos on the dense Gram
matrix and one Cholesky certificate (``eigh`` below 400 unknowns), a few ms
for P-Net's 1000 x 432 matrix.  Mid-sized layers (O-Net, R-Net, P-Net at
64x64): the block-tridiagonal Cholesky certificate (``7/3 n nb^2`` flops,
about 0.5 s for 12,288 unknowns of bandwidth 392) and Lanczos.  Large layers
(ResNet): the per-frequency Gram eigenvalues of the circular embedding (about
half of a 512->512 layer at 7x7) and Lanczos' products with ``M`` and ``M^T``
(im2col + GEMM; most of a 64->64 layer at 56x56); their certificates would
cost 4e12 to 2.5e13 flops and are not attempted, so the width stays that of
the circular embedding, ``O(1/n^2)``.  On a shared machine, mid-sized LAPACK
calls run far slower with two BLAS threads than with one (a waiting thread
spins), hence the one-thread limits inside the library.

MTCNN's P-Net first layer uses the trained weights when ``facenet-pytorch``
is installed (read as a state-dict file, without importing the package);
otherwise seeded random weights of the same shape, and the output says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from convtheory import ConvSpec, conv_matrix, conv_spectral_norm_bounds  # noqa: E402


def pnet_conv1():
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "data" / "pnet.pt"
        if path.exists():
            import torch
            state = torch.load(path, weights_only=True)
            return state["conv1.weight"].double().numpy(), "P-Net conv1 (trained)"
    rng = np.random.default_rng(12)
    return rng.standard_normal((10, 3, 3, 3)) / np.sqrt(27), "P-Net-shaped conv1 (random)"


def layers(skip_large: bool):
    w1, name1 = pnet_conv1()
    rng = np.random.default_rng(18)

    def kaiming(c_out, c_in, k):  # as torchvision initialises ResNet's convs
        return rng.standard_normal((c_out, c_in, k, k)) * np.sqrt(2 / (c_out * k * k))

    out = [(f"{name1} 12x12", w1, (3, 12, 12), {}),
           ("O-Net-shaped conv1 3->32 at 48x48 (random)", kaiming(32, 3, 3), (3, 48, 48), {}),
           (f"{name1} 64x64", w1, (3, 64, 64), {})]
    if not skip_large:
        out.append((f"{name1} 256x256", w1, (3, 256, 256), {}))
    out += [("ResNet-18-like 64->64 3x3 at 56x56", kaiming(64, 64, 3), (64, 56, 56),
             dict(padding=1)),
            ("ResNet-18-like 128->128 3x3 at 28x28", kaiming(128, 128, 3), (128, 28, 28),
             dict(padding=1)),
            ("ResNet-18-like 512->512 3x3 at 7x7", kaiming(512, 512, 3), (512, 7, 7),
             dict(padding=1))]
    return out


def torch_power_iteration(w, shape, conv, target, rtol, cap):
    """Power iteration on M^T M with torch; seconds until within rtol of target."""
    import torch
    import torch.nn.functional as F
    wt = torch.from_numpy(np.ascontiguousarray(w))
    s, p = conv.get("stride", 1), conv.get("padding", 0)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1,) + shape))
    t0 = time.perf_counter()
    y = F.conv2d(x, wt, stride=s, padding=p)
    out_pad = shape[-1] - ((y.shape[-1] - 1) * s - 2 * p + w.shape[-1])
    its, sigma = 0, 0.0
    while time.perf_counter() - t0 < cap:
        x = x / torch.linalg.vector_norm(x)
        y = F.conv2d(x, wt, stride=s, padding=p)
        sigma = float(torch.linalg.vector_norm(y))
        its += 1
        if abs(sigma - target) <= rtol * target:
            return time.perf_counter() - t0, its, True
        x = F.conv_transpose2d(y, wt, stride=s, padding=p, output_padding=out_pad)
    return time.perf_counter() - t0, its, False


def median_interleaved(fns, repeat):
    times = [[] for _ in fns]
    for _ in range(repeat):
        for t, fn in zip(times, fns):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [float(np.median(t)) for t in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cap", type=float, default=300.0, help="seconds per power iteration")
    parser.add_argument("--skip-large", action="store_true", help="leave out 256x256")
    parser.add_argument("--skip-exact", action="store_true", help="leave out the tol=1e-8 race")
    parser.add_argument("--only", default="", help="run the layers whose name contains this")
    args = parser.parse_args(argv)
    blas = sorted({(i["internal_api"], i.get("version")) for i in threadpool_info()})
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores; "
          f"BLAS: {blas}")
    try:
        import torch
    except ImportError:  # the race needs torch; the brackets do not
        torch = None
    for threads in args.threads:
        if torch is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(threads):
            print(f"\n== {threads} thread(s) ==")
            for name, w, shape, conv in layers(args.skip_large):
                if args.only not in name:
                    continue
                b = conv_spectral_norm_bounds(w, shape, rtol=1e-4, **conv)
                print(f"{name}: [{b.lower:.10g}, {b.upper:.10g}] width {b.relative_width:.2e} "
                      f"in {b.seconds:.2f} s, {b.iterations} Lanczos products; upper: "
                      f"{b.method['upper'][:110]}")
                rows, cols = ConvSpec(w.shape, shape, **conv).matrix_shape
                if rows * cols <= 4_000_000:
                    t_b, t_d = median_interleaved([
                        lambda: conv_spectral_norm_bounds(w, shape, **conv),
                        lambda: np.linalg.svd(conv_matrix(w, shape, **conv).toarray(),
                                              compute_uv=False)], args.repeat)
                    print(f"  small layer: bounds {t_b:.4f} s, dense SVD {t_d:.4f} s, "
                          f"ratio dense/bounds {t_d / t_b:.2f}x (medians of {args.repeat})")
                if args.skip_exact or torch is None:
                    continue
                e = conv_spectral_norm_bounds(w, shape, rtol=1e-8, **conv)
                # small layers: interleaved medians of --repeat; large ones: one run each
                turns = args.repeat if rows * cols <= 4_000_000 else 1
                ours, theirs, its, ok = [], [], 0, True
                for _ in range(turns):
                    t0 = time.perf_counter()
                    e = conv_spectral_norm_bounds(w, shape, rtol=1e-8, **conv)
                    ours.append(time.perf_counter() - t0)
                    t_p, its, ok_p = torch_power_iteration(w, shape, conv, e.value, 1e-8,
                                                           args.cap)
                    theirs.append(t_p)
                    ok = ok and ok_p
                t_e, t_p = float(np.median(ours)), float(np.median(theirs))
                sign = "" if ok else ">="
                print(f"  exact (rtol 1e-8): {e.value:.12g}, width {e.relative_width:.1e}, in "
                      f"{t_e:.3f} s ({e.iterations} products); torch power iteration {t_p:.3f} s "
                      f"({its} its{'' if ok else ', not converged'}); ratio {sign}"
                      f"{t_p / t_e:.1f}x (median of {turns})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
