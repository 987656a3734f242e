"""Section "dense": a conv layer is a dense layer with most connections cut and the rest tied.

Interim: the tie classes are read from the taps.  The graph claims run once
``convtheory.graph`` (``conv_graph``) is importable.
"""

from __future__ import annotations

import numpy as np

from ...checks.verdict import Verdict
from ...geometry import ConvSpec
from ...matrices import conv_matrix
from ...taps import conv_taps
from ..claims import Claim, FigureSpec

__all__ = ["CLAIMS"]


def masked_tied(ctx) -> Verdict:
    rng = ctx.rng("dense.masked_tied")
    w = rng.standard_normal((2, 3, 3, 3))
    spec = ConvSpec(w.shape, (3, 6, 6), padding=1)
    M = conv_matrix(w, spec)
    taps = conv_taps(spec)
    # The dense layer's weight matrix, restricted to the conv's mask, with each
    # tie class set to its weight, must be M; and the classes are the weights.
    dense = np.zeros(spec.matrix_shape)
    np.add.at(dense, (taps.rows, taps.cols), w.ravel()[taps.kernel])
    error = float(np.abs(dense - M.toarray()).max())
    classes = len(np.unique(taps.kernel))
    kept = M.nnz / (spec.matrix_shape[0] * spec.matrix_shape[1])
    holds = error == 0.0 and classes == spec.n_weights
    return Verdict(
        "masked_tied_dense", "M is a dense weight matrix with a fixed 0/1 mask whose surviving "
                             "entries are tied into one class per kernel weight",
        holds, "exhaustive", "2 x 3 x 3 x 3 kernel on 3 x 6 x 6, padding 1",
        {"max_error": error, "tie_classes": classes, "weights": spec.n_weights,
         "connections_kept": M.nnz, "dense_connections": spec.matrix_shape[0] * spec.matrix_shape[1],
         "fraction_kept": kept})


def _spy(ctx):
    from ...figures.matrices import spy_conv_vs_dense

    return spy_conv_vs_dense(np.ones((3, 3)), (6, 6), padding=1)


CLAIMS = [
    Claim("dense.masked_tied", "dense",
          "The conv matrix is the dense layer's weight matrix under a fixed sparsity mask, with "
          "the kept weights tied to the kernel values.", True, masked_tied,
          figures=[FigureSpec("spy", "A 3x3 conv on 6x6 (zero padding 1) as a 36x36 matrix: 9 "
                                     "tie classes (colours) on a sparse mask, beside the dense "
                                     "layer's 1296 free parameters.", _spy)]),
]
