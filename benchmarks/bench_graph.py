"""Speed of the layer graph and of receptive fields, as ratios in one run.

    python benchmarks/bench_graph.py [--repeat 3] [--sizes 16 32 48 64]

Part 1 builds the graph of a 3->16-channel, 3x3, padding-1 conv on n x n
inputs (the 64 x 64 case is the one the docs promise "in seconds") with

* ``conv_graph``: convtheory's builder (edges in bulk from the taps);
* a straightforward builder written out below: a Python loop over output
  units and kernel taps, one ``add_edge`` per tap (the reference);
* ``networkx.bipartite.from_biadjacency_matrix`` of ``conv_matrix``: networkx's own
  bulk build of the same edges with a single ``weight`` attribute, a floor
  for any builder that goes through networkx's dict-of-dicts;

and reports medians, microseconds per edge, ratios, and the growth exponent
(the log-log slope of time against edges between consecutive sizes: 1.0 is
linear).  Part 2 times ``graph_metrics`` on the same graphs.  Part 3 times
``receptive_field`` on ResNet-50 as a DAG (2**16 paths) and the exact method
on a small input.
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convtheory import conv_graph, conv_matrix, graph_metrics, receptive_field  # noqa: E402

C_IN, C_OUT, K, PAD = 3, 16, 3, 1


def reference_graph(weight, n):
    """One add_edge per tap, indices computed in the loop (zero padding, stride 1)."""
    G = nx.DiGraph()
    c_out, c_in, kh, kw = weight.shape
    for c in range(c_in):
        for i in range(n):
            for j in range(n):
                G.add_node(("in", c, i, j))
    for co in range(c_out):
        for oy in range(n):
            for ox in range(n):
                out = ("out", co, oy, ox)
                G.add_node(out)
                for ci in range(c_in):
                    for a in range(kh):
                        for b in range(kw):
                            iy, ix = oy + a - PAD, ox + b - PAD
                            if 0 <= iy < n and 0 <= ix < n:
                                k = ((co * c_in + ci) * kh + a) * kw + b
                                G.add_edge(("in", ci, iy, ix), out, k=k,
                                           value=float(weight[co, ci, a, b]), multiplicity=1)
    return G


def networkx_floor(weight, n):
    M = conv_matrix(weight, (C_IN, n, n), padding=PAD)
    return nx.bipartite.from_biadjacency_matrix(M.T, create_using=nx.DiGraph)


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        del result
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 48, 64])
    parser.add_argument("--reference-max", type=int, default=32,
                        help="largest n for the slow per-tap reference (default 32)")
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, networkx {nx.__version__}, "
          f"numpy {np.__version__}, {platform.machine()}; medians of {args.repeat}")
    rng = np.random.default_rng(20240611)
    weight = rng.standard_normal((C_OUT, C_IN, K, K))

    print(f"\n1. conv_graph, {C_IN}->{C_OUT} channels, {K}x{K}, padding {PAD}")
    header = (f"{'n':>4} {'edges':>10} {'conv_graph s':>13} {'us/edge':>8} {'growth':>7} "
              f"{'nx floor s':>11} {'ratio':>6} {'per-tap s':>10} {'speedup':>8}")
    print(header)
    print("-" * len(header))
    previous = None
    graphs = {}
    for n in args.sizes:
        G = conv_graph(weight, (C_IN, n, n), padding=PAD)
        edges = G.number_of_edges()
        assert edges == conv_matrix(weight, (C_IN, n, n), padding=PAD).nnz
        graphs[n] = G
        t = timed(lambda: conv_graph(weight, (C_IN, n, n), padding=PAD), args.repeat)
        floor = timed(lambda: networkx_floor(weight, n), args.repeat)
        growth = "" if previous is None else \
            f"{math.log(t / previous[1]) / math.log(edges / previous[0]):.2f}"
        if n <= args.reference_max:
            ref = timed(lambda: reference_graph(weight, n), max(1, args.repeat // 2))
            ref_cols = f"{ref:>10.3f} {ref / t:>7.1f}x"
        else:
            ref_cols = f"{'-':>10} {'-':>8}"
        print(f"{n:>4} {edges:>10,} {t:>13.3f} {1e6 * t / edges:>8.2f} {growth:>7} "
              f"{floor:>11.3f} {t / floor:>5.2f}x {ref_cols}")
        previous = (edges, t)
    print("ratio = conv_graph / networkx's from_biadjacency_matrix (1 attribute per edge, "
          "no tie labels);\nspeedup = per-tap reference / conv_graph; "
          "growth = d log t / d log edges")

    print("\n2. graph_metrics on the same graphs")
    print(f"{'n':>4} {'edges':>10} {'seconds':>9} {'us/edge':>8}")
    for n, G in graphs.items():
        t = timed(lambda: graph_metrics(G), args.repeat)
        print(f"{n:>4} {G.number_of_edges():>10,} {t:>9.3f} {1e6 * t / G.number_of_edges():>8.2f}")
    graphs.clear()

    print("\n3. receptive_field")
    G = nx.DiGraph()
    G.add_node("conv1", layer={"kernel_size": 7, "stride": 2, "padding": 3})
    G.add_node("pool1", layer={"kernel_size": 3, "stride": 2, "padding": ((0, 1), (0, 1))})
    G.add_edge("conv1", "pool1")
    previous = "pool1"
    for block, units in enumerate([3, 4, 6, 3], start=1):
        for unit in range(1, units + 1):
            stride = 2 if unit == units and block < 4 else 1
            name = f"b{block}u{unit}"
            G.add_node(f"{name}c1", layer={"kernel_size": 1})
            G.add_node(f"{name}c2", layer={"kernel_size": 3, "stride": stride, "padding": 1})
            G.add_node(f"{name}c3", layer={"kernel_size": 1})
            G.add_node(f"{name}sc", layer={"kernel_size": 1, "stride": stride})
            nx.add_path(G, [previous, f"{name}c1", f"{name}c2", f"{name}c3", f"{name}add"])
            nx.add_path(G, [previous, f"{name}sc", f"{name}add"])
            previous = f"{name}add"
    t = timed(lambda: receptive_field(G, (224, 224)), args.repeat)
    rf = receptive_field(G, (224, 224))
    print(f"ResNet-50 DAG, closed form: {1e3 * t:.1f} ms for {rf.paths:,} paths "
          f"(size {rf.size[0]}, stride {rf.stride[0]}, padding {rf.padding[0]})")
    # The exact method needs room for two unclipped fields: r + 2S + 2P inputs.
    n = rf.size[0] + 2 * rf.stride[0] + 2 * rf.padding[0]
    t = timed(lambda: receptive_field(G, (n, n), method="exact"), 1)
    rf = receptive_field(G, (n, n), method="exact")
    print(f"ResNet-50 DAG, exact ancestry on {n}x{n}: {t:.2f} s "
          f"(size {rf.size[0]}, stride {rf.stride[0]}, padding {rf.padding[0]})")


if __name__ == "__main__":
    main()
