"""Section "adaptivity": the same weights define a conv of every input size."""

from __future__ import annotations

from ... import checks
from ..claims import Claim

__all__ = ["CLAIMS"]


def any_size(ctx):
    w = ctx.rng("adaptivity").standard_normal((4, 3, 3, 3))
    sizes = [(6, 6), (7, 9), (12, 12)] + ([] if ctx.quick else [(16, 20), (32, 32)])
    return checks.check_adaptivity(w, (3, 8, 8), sizes, padding=1, seed=ctx.seed)


CLAIMS = [
    Claim("adaptivity.any_size", "adaptivity",
          "The same 108 weights define the conv of every input size: each matrix has the "
          "predicted shape, is sum_k w_k B_k for that size, and agrees with the operator.",
          True, any_size, requires=("convtheory.checks:check_adaptivity",)),
]
