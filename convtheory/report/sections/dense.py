"""Section "dense": a conv layer is a dense layer with most connections cut and the rest tied.

The graph view (:func:`~convtheory.conv_graph`) has an edge per nonzero of the
matrix, labelled by the weight it carries; the claims compare its metrics
with the matrix, an independent reader of the same taps.
"""

from __future__ import annotations

import numpy as np

from ...matrices import conv_matrix
from ...verdict import Verdict
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


def _recovery_verdict(recovery, name, statement, scope):
    v = recovery.verdict
    return Verdict(name, statement, v.holds, v.method, scope, v.evidence, v.counterexample)


def recover_from_matrix(ctx):
    from ...structure import recover_kernel

    rng = ctx.rng("dense.recover")
    verdicts = []
    for w_shape, shape, kernel_size, conv in (
            ((3, 3), (6, 7), (3, 3), dict(padding=1)),
            ((2, 3, 3, 3), (3, 6, 6), (3, 3), dict(stride=2, padding=1)),
            ((2, 1, 3), (2, 9), (3,), dict(groups=2, padding=1, padding_mode="reflect"))):
        w = rng.standard_normal(w_shape)
        r = recover_kernel(conv_matrix(w, shape, **conv), shape, kernel_size, **conv)
        exact = bool(r) and np.array_equal(np.reshape(r.kernel, np.shape(w)), w)
        verdicts.append(Verdict(
            "recover_kernel", "the kernel read off the matrix's tied entries is the kernel, "
                              "exactly", exact, "exhaustive",
            f"kernel {w_shape} on {shape}, {conv}", dict(r.verdict.evidence)))
    return verdicts


#: How far the one untied connection moves from its weight.
UNTIE = 0.5


def reject_untied(ctx):
    from ...structure import recover_kernel

    w = ctx.rng("dense.reject").standard_normal((3, 3))
    M = conv_matrix(w, (6, 6), padding=1).tolil()
    M[14, 14] += UNTIE  # one connection no longer tied to its weight
    r = recover_kernel(M.tocsr(), (6, 6), (3, 3), padding=1)
    return _recovery_verdict(r, "recover_kernel_untied",
                             "a matrix with one untied entry is a convolution",
                             "3x3 kernel on 6x6, padding 1, entry (14, 14) changed")


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
          requires=("convtheory.graph:conv_graph",
                    "convtheory.figures.graph:conv_vs_dense_figure")),
    Claim("dense.recover_kernel", "dense",
          "Conversely, a matrix with the conv's mask and ties is a conv: its kernel can be read "
          "off exactly.", True, recover_from_matrix,
          requires=("convtheory.structure:recover_kernel",)),
    Claim("dense.untied_is_not_conv", "dense",
          "Untie a single connection and the matrix is no longer a convolution.", False,
          reject_untied, requires=("convtheory.structure:recover_kernel",)),
]
