"""conv_operator against its best peers and against itself, one row per case, in one run.

Usage: python benchmarks/bench_operator.py [--threads 1] [--repeats 7] [--size 512]

Rows (float64, single channel unless said; ratios ours/peer, above 1 is slower):

* 31x31 zero "same" on 512x512, matvec and rmatvec, against the faster of
  ``scipy.signal.oaconvolve`` and ``scipy.signal.fftconvolve``; whether the
  operator is accepted at the default ``max_bytes``;
* 11x11 matvec and rmatvec against PyLops ``Convolve2D`` (fft), and our
  rmatvec against our matvec;
* 5x5 ``reflect``, ``replicate``, ``circular`` against ``zeros`` (matvec and
  rmatvec, both paths);
* 5x5 circular "same": ``auto`` against the best explicit method;
* 3x3x3 on 64^3, rmatvec, against PyLops ``ConvolveND``;
* overlap-add: 2048x2048 with 15x15 and 31x31 kernels and long 1-D signals
  (2^18 samples, kernels of 31 to 255), zero "same": ``method="overlap_add"``,
  ``"fft"`` and ``"direct"`` (1-D only) against ``scipy.signal.oaconvolve``,
  matvec and rmatvec, and the method ``auto`` picks against the best of them;
* ``auto`` against the best explicit method over a grid of kernels, boundary
  modes, strides, dilations and channel counts (the worst ratio is the one
  that counts: the target is <= 1.5).

Each ratio is the median of per-turn ratios of interleaved calls, with the
range [min, max] over the turns.
"""

from __future__ import annotations

import argparse
import sys

from _common import best_ratio, header, interleaved, median, ratio_stats

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from convtheory import conv_operator  # noqa: E402


def _row(name, ours, ref, repeats):
    t_ours, t_ref = interleaved([ours, ref], repeats)
    r, lo, hi = ratio_stats(t_ours, t_ref)
    print(f"{name:58} {1e3 * median(t_ours):9.2f} {1e3 * median(t_ref):9.2f} "
          f"{r:6.2f}x [{lo:.2f}-{hi:.2f}] best {best_ratio(t_ours, t_ref):.2f}x")
    return r


def _pylops():
    try:
        import pylops
        return pylops
    except ImportError:
        print("(PyLops not installed: its rows are skipped; pip install pylops)")
        return None


def big_kernels(n, repeats, rng):
    x = rng.standard_normal((n, n))
    for k in (31, 11):
        w = rng.standard_normal((k, k))
        A = conv_operator(w, (n, n), padding="same")
        xv, yv = x.ravel(), rng.standard_normal(A.shape[0])
        wf = w[::-1, ::-1].copy()  # correlation = convolution with the flipped kernel
        y = yv.reshape(n, n)
        if k == 31:
            print(f"31x31 'same' at the default max_bytes: accepted, method={A.method!r}")
            t_oa, t_fft = interleaved([lambda: scipy.signal.oaconvolve(x, wf, mode="same"),
                                       lambda: scipy.signal.fftconvolve(x, wf, mode="same")], 3)
            peer = "oaconvolve" if median(t_oa) < median(t_fft) else "fftconvolve"
            fn = getattr(scipy.signal, peer)
            _row(f"31x31 zero same, matvec / scipy.signal.{peer}", lambda: A.matvec(xv),
                 lambda: fn(x, wf, mode="same"), repeats)
            _row(f"31x31 zero same, rmatvec / scipy.signal.{peer}", lambda: A.rmatvec(yv),
                 lambda: fn(y, w, mode="same"), repeats)
        else:
            pylops = _pylops()
            if pylops is not None:
                P = pylops.signalprocessing.Convolve2D((n, n), h=w, offset=(k // 2, k // 2),
                                                       method="fft")
                _row(f"11x11 zero same, matvec / PyLops Convolve2D (fft) [{A.method}]",
                     lambda: A.matvec(xv), lambda: P.matvec(xv), repeats)
                _row(f"11x11 zero same, rmatvec / PyLops Convolve2D (fft) [{A.method}]",
                     lambda: A.rmatvec(yv), lambda: P.rmatvec(yv), repeats)
            for method in ("auto", "direct", "fft"):
                B = conv_operator(w, (n, n), padding="same", method=method)
                _row(f"11x11 rmatvec / our matvec [{method} -> {B.method}]",
                     lambda: B.rmatvec(yv), lambda: B.matvec(xv), repeats)


def boundary_modes(n, repeats, rng):
    w = rng.standard_normal((5, 5))
    x = rng.standard_normal(n * n)
    for method in ("direct", "fft"):
        Z = conv_operator(w, (n, n), padding=2, method=method)
        for mode in ("reflect", "replicate", "circular"):
            B = conv_operator(w, (n, n), padding=2, padding_mode=mode, method=method)
            _row(f"5x5 {mode} / zeros, matvec [{method}]", lambda: B.matvec(x),
                 lambda: Z.matvec(x), repeats)
            _row(f"5x5 {mode} / zeros, rmatvec [{method}]", lambda: B.rmatvec(x),
                 lambda: Z.rmatvec(x), repeats)
    ops = {m: conv_operator(w, (n, n), padding="same", padding_mode="circular", method=m)
           for m in ("auto", "direct", "fft")}
    t = interleaved([lambda m=m: ops[m].matvec(x) for m in ops], repeats)
    best = min(("direct", "fft"), key=lambda m: median(t[list(ops).index(m)]))
    r, lo, hi = ratio_stats(t[0], t[list(ops).index(best)])
    print(f"{'5x5 circular same, auto [' + ops['auto'].method + '] / best explicit [' + best + ']':58} "
          f"{1e3 * median(t[0]):9.2f} {1e3 * median(t[list(ops).index(best)]):9.2f} "
          f"{r:6.2f}x [{lo:.2f}-{hi:.2f}]")


def volume(repeats, rng, n=64):
    pylops = _pylops()
    w = rng.standard_normal((3, 3, 3))
    A = conv_operator(w, (n, n, n), padding=1)
    y = rng.standard_normal(A.shape[0])
    x = rng.standard_normal(A.shape[1])
    _row(f"3x3x3 on {n}^3, rmatvec / our matvec [{A.method}]", lambda: A.rmatvec(y),
         lambda: A.matvec(x), repeats)
    if pylops is not None:
        P = pylops.signalprocessing.ConvolveND((n, n, n), h=w, offset=(1, 1, 1), axes=(0, 1, 2))
        _row(f"3x3x3 on {n}^3, matvec / PyLops ConvolveND [{A.method}]", lambda: A.matvec(x),
             lambda: P.matvec(x), repeats)
        _row(f"3x3x3 on {n}^3, rmatvec / PyLops ConvolveND [{A.method}]", lambda: A.rmatvec(y),
             lambda: P.rmatvec(y), repeats)


OVERLAP_CASES = [((15, 15), (2048, 2048)), ((31, 31), (2048, 2048)), ((31,), (2**18,)),
                 ((101,), (2**18,)), ((255,), (2**18,))]


def overlap(repeats, rng):
    """Overlap-add, the full FFT and auto against scipy.signal.oaconvolve; auto / best explicit."""
    worst = 0.0
    for kshape, shape in OVERLAP_CASES:
        w = rng.standard_normal(kshape)
        x = rng.standard_normal(shape)
        wf = w[(slice(None, None, -1),) * w.ndim].copy()  # correlation = convolution, flipped
        # The direct path too in 1-D (in 2-D its im2col buffer is refused at 2048^2).
        methods = ("overlap_add", "fft", "direct") if w.ndim == 1 else ("overlap_add", "fft")
        ops = {m: conv_operator(w, shape, padding="same", method=m) for m in methods}
        # auto runs the method it picks: its ratio is that method's time over the best's,
        # read from the same turns (as in auto_grid), not from a fourth, noisier series.
        auto = conv_operator(w, shape, padding="same")
        y = rng.standard_normal(ops["fft"].shape[0])
        name = f"{'x'.join(map(str, kshape))} on {'x'.join(map(str, shape))}"
        for side, v, peer in (("matvec", x.ravel(), lambda: scipy.signal.oaconvolve(x, wf, "same")),
                              ("rmatvec", y, lambda: scipy.signal.oaconvolve(
                                  y.reshape(shape), w, "same"))):
            fns = [lambda m=m: getattr(ops[m], side)(v) for m in ops] + [peer]
            t = dict(zip(list(ops) + ["oaconvolve"], interleaved(fns, repeats)))
            ref = t["oaconvolve"]
            cells = " ".join(f"{m} {1e3 * median(t[m]):7.1f} ms ({ratio_stats(t[m], ref)[0]:4.2f}x)"
                             for m in ops)
            best = min(ops, key=lambda m: median(t[m]))
            chosen = auto.method if side == "matvec" else auto.adjoint_method
            r, lo, hi = ratio_stats(t[chosen], t[best])
            worst = max(worst, r)
            print(f"{name + ' ' + side:28} oaconvolve {1e3 * median(ref):7.1f} ms | {cells} | "
                  f"auto [{chosen}] / best [{best}] {r:4.2f}x [{lo:.2f}-{hi:.2f}]")
    print(f"worst auto / best explicit over the overlap-add cases: {worst:.2f}x (target <= 1.5x)")


GRID = [
    # (C_out, C_in, k, n, kwargs)
    (1, 1, 1, 256, {}), (1, 1, 3, 256, dict(padding=1)), (1, 1, 5, 256, dict(padding=2)),
    (1, 1, 7, 256, dict(padding=3, padding_mode="reflect")),
    (1, 1, 9, 256, dict(padding=4, padding_mode="replicate")),
    (1, 1, 15, 256, dict(padding=7, padding_mode="circular")),
    (1, 1, 31, 256, dict(padding=15)),
    (1, 1, 11, 256, dict(padding=5, stride=2)), (1, 1, 11, 256, dict(padding=10, dilation=2)),
    (1, 1, 5, 256, dict(padding=4, dilation=2, padding_mode="reflect")),
    (16, 16, 3, 64, dict(padding=1)), (16, 16, 5, 64, dict(padding=2, padding_mode="reflect")),
    (16, 16, 11, 64, dict(padding=5)), (4, 4, 15, 128, dict(padding=7, padding_mode="replicate")),
    (64, 64, 3, 32, dict(padding=1, padding_mode="circular")), (8, 8, 7, 64, dict(padding=3, stride=2)),
    (1, 1, 3, 64, dict(padding=1)), (1, 1, 31, 64, dict(padding=15)),
]


def auto_grid(repeats, rng):
    """Time both explicit methods in turns; the ratio is (the one auto picks) / (the faster)."""
    worst = 0.0
    for c_out, c_in, k, n, kw in GRID:
        w = rng.standard_normal((c_out, c_in, k, k))
        ops = {m: conv_operator(w, (c_in, n, n), method=m, **kw)
               for m in ("direct", "fft", "overlap_add")}
        auto = conv_operator(w, (c_in, n, n), method="auto", **kw)
        x = rng.standard_normal(ops["direct"].shape[1])
        y = rng.standard_normal(ops["direct"].shape[0])
        for side in ("matvec", "rmatvec"):
            v = x if side == "matvec" else y
            t = dict(zip(ops, interleaved([lambda m=m: getattr(ops[m], side)(v) for m in ops],
                                          repeats)))
            best = min(t, key=lambda m: median(t[m]))
            # auto's forward and adjoint may take different paths: the one of this side.
            chosen = auto.method if side == "matvec" else auto.adjoint_method
            r, lo, hi = ratio_stats(t[chosen], t[best])
            worst = max(worst, r)
            name = f"{c_out}x{c_in} k{k} n{n} {kw} {side}"
            print(f"{name:66} auto={chosen:11} direct {1e3 * median(t['direct']):8.2f} "
                  f"fft {1e3 * median(t['fft']):8.2f} oa {1e3 * median(t['overlap_add']):8.2f} ms"
                  f"  auto/best {r:5.2f}x [{lo:.2f}-{hi:.2f}]")
    print(f"worst auto / best explicit over the grid: {worst:.2f}x (target <= 1.5x)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--only", choices=["big", "modes", "volume", "overlap", "grid"],
                        default=None)
    args = parser.parse_args(argv)
    header(args.threads, args.repeats)
    rng = np.random.default_rng(0)
    print(f"{'case':58} {'ours ms':>9} {'peer ms':>9} {'ratio':>7} [range] best: min/min")
    with threadpool_limits(args.threads):
        if args.only in (None, "big"):
            big_kernels(args.size, args.repeats, rng)
        if args.only in (None, "modes"):
            boundary_modes(args.size, args.repeats, rng)
        if args.only in (None, "volume"):
            volume(args.repeats, rng)
        if args.only in (None, "overlap"):
            overlap(max(5, args.repeats // 2), rng)
        if args.only in (None, "grid"):
            auto_grid(max(5, args.repeats // 2), rng)


if __name__ == "__main__":
    sys.exit(main())
