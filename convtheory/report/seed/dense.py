"""Section "dense": a conv layer is a dense layer with most connections cut and the rest tied.

The graph view (:func:`~convtheory.conv_graph`) has an edge per nonzero of the
matrix, labelled by the weight it carries; the claims compare its metrics
with the matrix, an independent reader of the same taps.
"""

from __future__ import annotations

import numpy as np

from ...checks.verdict import Verdict
from ...matrices import conv_matrix
from ..claims import Claim, FigureSpec

__all__ = ["CLAIMS"]


def graph_is_masked_tied_dense(ctx):
    from ...graph import conv_graph, dense_graph, graph_metrics

    rng = ctx.rng("dense.graph")
    n = 6 if ctx.quick else 10
    w = rng.standard_normal((2, 3, 3, 3))
    shape = (3, n, n)
    G = conv_graph(w, shape, padding=1)
    m = graph_metrics(G)
    M = conv_matrix(w, shape, padding=1)
    D = dense_graph(shape, (2, n, n))
    rows = np.diff(M.indptr).reshape(2, n, n)
    checks = {
        "edges == nnz(M)": m.n_edges == M.nnz,
        "tie labels == weights": m.n_ties == w.size,
        "in-degree == nnz per row": np.array_equal(np.asarray(m.in_degree), rows),
        "dense graph is complete": D.number_of_edges() == M.shape[0] * M.shape[1],
    }
    failed = [k for k, ok in checks.items() if not ok]
    return Verdict(
        "conv_graph_vs_dense", "the conv layer's graph is the dense layer's with most edges cut "
                               "and the rest tied into one label per weight",
        not failed, "exhaustive", f"2 x 3 x 3 x 3 kernel on 3 x {n} x {n}, padding 1",
        {"edges": m.n_edges, "dense_edges": m.n_dense_edges, "tie_labels": m.n_ties,
         "fraction_kept": m.density, **{k: bool(v) for k, v in checks.items()}},
        {"failed": failed} if failed else None)


def _graph_figure(ctx):
    from ...figures.graph import conv_vs_dense_figure

    return conv_vs_dense_figure()


def _spy(ctx):
    from ...figures.matrices import spy_conv_vs_dense

    return spy_conv_vs_dense(np.ones((3, 3)), (6, 6), padding=1)


CLAIMS = [
    Claim("dense.masked_tied", "dense",
          "A conv layer is the dense layer between the same units with most connections cut "
          "and the kept weights tied to the kernel values.", True, graph_is_masked_tied_dense,
          figures=[FigureSpec("graph", "The conv layer as a graph beside the dense layer: edges "
                                       "coloured by the weight they carry (tie label).",
                              _graph_figure),
                   FigureSpec("spy", "The same as matrices: a 3x3 conv on 6x6 (zero padding 1) "
                                     "is a 36x36 matrix with 9 tie classes (colours) on a sparse "
                                     "mask, against the dense layer's 1296 free parameters.",
                              _spy)],
          requires=("convtheory.graph:conv_graph", "convtheory.figures.graph:conv_vs_dense_figure")),
]
