"""``analyze_network`` on whole networks: seconds, where they go, and the widest bracket.

Usage: python benchmarks/bench_network.py [--threads 1 2] [--only resnet18]

Networks (``tests/network_models.py``): ResNet-18 on 3x224x224 with seeded
random weights (torchvision's architecture, defined there), and MTCNN's P-Net
on 3x256x256 with its trained weights (they ship in the ``facenet-pytorch``
wheel, read as a state-dict file; without it P-Net is left out, and the output
says so).

For each network and BLAS thread count (threadpoolctl; torch gets the same
count), in one process:

* the whole analysis (``analyze_network``, spectra and measured equivariance),
  with its seconds split into the certified norm brackets, the circular value
  shown beside each layer, the equivariance measurement and the rest (graph
  capture, shapes, receptive fields), measured by running the analysis again
  without spectra and without equivariance (after one untimed capture: torch's
  fake tensors, which weigh the activations, warm up once per process, about
  0.8 s);
* the widest bracket of a conv layer (``relative_width``) and how many layers
  are within ``rtol=1e-4``;
* the slowest layers.

The target for ResNet-18 is under 60 s on the 2 cores; there is no peer to
take a ratio against (PyTorch has no exact norm; its power iteration on one
such layer had not converged after 2,000 iterations).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _common import header

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import scipy.linalg  # noqa: E402,F401 - load scipy's own BLAS before the thread limit is set
import scipy.sparse.linalg  # noqa: E402,F401
from threadpoolctl import threadpool_limits  # noqa: E402

import convtheory.network  # noqa: E402,F401


def networks(only):
    import network_models as nm
    out = []
    if only in (None, "resnet18"):
        out.append(("ResNet-18 (seeded random weights)", nm.resnet18().eval(), (3, 224, 224)))
    if only in (None, "pnet"):
        if nm.facenet_weights("pnet") is None:
            print("(P-Net left out: its weights ship in the facenet-pytorch wheel; "
                  "pip install --no-deps facenet-pytorch==2.6.0)")
        else:
            out.append(("P-Net (trained weights)", nm.pnet().eval(), (3, 256, 256)))
    return out


def run(model, shape, **kw):
    from convtheory.network import analyze_network
    starts = {}
    t0 = time.perf_counter()
    a = analyze_network(model, shape, progress=lambda i, n, name: starts.setdefault(
        name, time.perf_counter()), **kw)
    total = time.perf_counter() - t0
    names = list(starts)
    ends = [starts[n] for n in names[1:]] + [t0 + total]
    per_node = {n: e - starts[n] for n, e in zip(names, ends)}
    return a, total, per_node


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", choices=["resnet18", "pnet"], default=None)
    args = parser.parse_args(argv)
    import torch
    import network_models  # noqa: F401 - torch and its libraries loaded before the limit
    for threads in args.threads:
        torch.set_num_threads(threads)
        header(threads, 1)
        with threadpool_limits(threads):
            for name, model, shape in networks(args.only):
                # Once untimed: torch's fake tensors (the capture's memory estimate) warm up
                # once per process, about 0.8 s, which would be charged to the first run.
                run(model, shape, spectra=False, equivariance=False)
                bare, t_bare, _ = run(model, shape, spectra=False, equivariance=False)
                _, t_eq, _ = run(model, shape, spectra=False, equivariance=True)
                a, total, per_node = run(model, shape)
                convs = [L for L in a.layers if L.kind in ("conv", "conv_transpose")
                         and L.spectral_norm_bounds is not None]
                widths = [(L.spectral_norm_bounds[1] - L.spectral_norm_bounds[0])
                          / L.spectral_norm_bounds[1] for L in convs]
                within = sum(w <= 1e-4 for w in widths)
                spectra = total - t_eq
                target = " (target: < 60 s)" if name.startswith("ResNet") else ""
                print(f"{name} on {'x'.join(map(str, shape))}, {threads} thread(s): "
                      f"{total:.1f} s in all{target}; norms and "
                      f"circular values {spectra:.1f} s, equivariance {t_eq - t_bare:.1f} s, "
                      f"capture, shapes and fields {t_bare:.1f} s")
                print(f"  conv layers within rtol=1e-4: {within} of {len(convs)}; widest "
                      f"{max(widths):.2e}")
                slow = sorted(per_node.items(), key=lambda kv: -kv[1])[:5]
                print("  slowest: " + ", ".join(f"{n} {s:.1f} s" for n, s in slow))
    return 0


if __name__ == "__main__":
    sys.exit(main())
