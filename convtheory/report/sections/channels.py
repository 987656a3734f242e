"""Section "channels": a multi-channel conv is a C_out x C_in block matrix of single convs."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...matrices import conv_matrix
from ...verdict import Verdict
from ..claims import Claim, FigureSpec
from ._common import max_abs

__all__ = ["CLAIMS"]


def block_matrix(ctx) -> Verdict:
    rng = ctx.rng("channels.block")
    w = rng.standard_normal((4, 3, 3, 3))
    shape = (3, 6, 7)
    M = conv_matrix(w, shape, padding=1)
    blocks = [[conv_matrix(w[o, i], shape[1:], padding=1) for i in range(3)] for o in range(4)]
    error = max_abs(M.toarray(), sp.block_array(blocks).toarray())
    return Verdict(
        "block_matrix",
        "M(w) = [M(w[o, i])]: block (o, i) is the single-channel conv of kernel w[o, i]",
        error == 0.0, "exhaustive", "4 x 3 x 3 x 3 kernel on 3 x 6 x 7, padding 1",
        {"max_error": error, "blocks": "4 x 3"})


def groups_block_diagonal(ctx) -> Verdict:
    rng = ctx.rng("channels.groups")
    w = rng.standard_normal((4, 1, 3, 3))
    shape = (2, 5, 5)
    M = conv_matrix(w, shape, groups=2, padding=1).toarray()
    n_in, n_out = 25, 25
    expected = np.zeros_like(M)
    for o in range(4):
        g = o // 2
        expected[o * n_out:(o + 1) * n_out, g * n_in:(g + 1) * n_in] = \
            conv_matrix(w[o, 0], (5, 5), padding=1).toarray()
    error = max_abs(M, expected)
    return Verdict(
        "groups_block_diagonal", "with groups=2 the matrix is block diagonal: each group's outputs "
                                 "read only that group's inputs",
        error == 0.0, "exhaustive", "4 x 1 x 3 x 3 kernel on 2 x 5 x 5, groups 2",
        {"max_error": error})


def _spy(ctx):
    from ...figures.matrices import spy_conv_vs_dense

    return spy_conv_vs_dense(np.ones((2, 3, 3, 3)), (3, 5, 5), padding=1)


def _slide(ctx):
    from ...figures.animation import sliding_filter_gif

    return sliding_filter_gif(ctx.seed)


def _slide_strided(ctx):
    from ...figures.animation import sliding_filter_gif

    return sliding_filter_gif(ctx.seed, n=6, stride=2, padding=1)


CLAIMS = [
    Claim("channels.blocks", "channels",
          "A C_out x C_in x K x K kernel gives a C_out x C_in block matrix of single-channel "
          "convs.",
          True, block_matrix,
          figures=[FigureSpec("spy", "A 3 -> 2 channel conv: 2 x 3 blocks, each a sparse "
                                     "single-channel conv, beside the dense layer.", _spy),
                   FigureSpec("slide", "One 3x3x3 filter sliding over a 3-channel 5x5 input: "
                                       "each output reads the same window on every channel, "
                                       "and is one row of the conv matrix (highlighted).",
                              _slide),
                   FigureSpec("slide_stride2", "The same with stride 2 and zero padding 1: the "
                                               "window jumps by 2 and covers the grey padding; "
                                               "the matrix has one row per output.",
                              _slide_strided)]),
    Claim("channels.groups", "channels",
          "Grouped convs are block diagonal across groups.", True, groups_block_diagonal),
]
