"""Section "sharing": every entry of M is a kernel weight, and each weight fills many entries.

Interim: read off the symbolic matrix with sympy.  When ``convtheory.checks``
provides ``check_sharing``, its verdict replaces :func:`tied_weights`.
"""

from __future__ import annotations

import numpy as np
import sympy

from ...checks.verdict import Verdict
from ...matrices import conv_matrix
from ...weights import kernel_symbols
from ..claims import Claim

__all__ = ["CLAIMS"]


def tied_weights(ctx) -> Verdict:
    n = 5 if ctx.quick else 7
    w = kernel_symbols((3, 3))
    M = conv_matrix(w, (n, n), padding=1)
    symbols = list(w.ravel())
    # B_k = dM/dw_k: the 0/1 pattern of weight k; M must be exactly sum_k w_k B_k.
    B = [M.diff(s) for s in symbols]
    rebuilt = sum((s * b for s, b in zip(symbols, B)), sympy.zeros(*M.shape))
    exact = all(sympy.expand(e) == 0 for e in (M - rebuilt).values())
    single = all(v in set(symbols) for v in M.values())
    positions = [int(sum(1 for v in b.values() if v != 0)) for b in B]
    holds = exact and single and min(positions) > 1
    return Verdict(
        "sharing", "M = sum_k w_k B_k with 0/1 patterns B_k, every nonzero entry is one weight, "
                   "and each weight is reused at many positions",
        holds, "symbolic", f"3x3 symbolic kernel on {n}x{n}, zero padding 1",
        {"parameters": len(symbols), "positions_per_weight": np.reshape(positions, (3, 3)),
         "matrix_entries": M.shape[0] * M.shape[1]})


def seed_example(ctx) -> list[Verdict]:
    verdicts = []
    w = kernel_symbols((1, 2))
    for h, wd in ((4, 4), (8, 8)) if ctx.quick else ((4, 4), (8, 8), (16, 16)):
        M = conv_matrix(w, (h, wd))
        parameters = len(set().union(*(v.free_symbols for v in M.values())))
        dense = M.shape[0] * M.shape[1]
        verdicts.append(Verdict(
            f"two_parameters_{h}x{wd}",
            "a 1x2 kernel on an HxW image has 2 parameters; the dense layer with the same "
            "input and output has H W * H (W-1), about H^2 W^2",
            parameters == 2 and dense == h * wd * h * (wd - 1), "symbolic",
            f"H x W = {h} x {wd}",
            {"conv_parameters": parameters, "dense_parameters": dense,
             "ratio": dense / parameters}))
    return verdicts


CLAIMS = [
    Claim("sharing.tied", "sharing",
          "Every nonzero of the conv matrix is one of the kernel's weights, and each weight "
          "appears at many positions: M = sum_k w_k B_k.", True, tied_weights),
    Claim("sharing.seed_example", "sharing",
          "The seed's example: 2 parameters instead of H^2 W^2.", True, seed_example),
]
