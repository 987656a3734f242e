"""Section "adaptivity": the same weights define a conv of every input size."""

from __future__ import annotations

import scipy.signal

from ...checks.verdict import Verdict
from ...matrices import conv_matrix
from ..claims import Claim
from ._common import max_abs

__all__ = ["CLAIMS"]


def any_size(ctx) -> Verdict:
    rng = ctx.rng("adaptivity")
    w = rng.standard_normal((3, 3))
    sizes = [(n, n + 1) for n in range(3, 9 if ctx.quick else 17)]
    errors, shapes = {}, {}
    for shape in sizes:
        x = rng.standard_normal(shape)
        M = conv_matrix(w, shape)
        errors[shape] = max_abs(M @ x.ravel(), scipy.signal.correlate(x, w, mode="valid").ravel())
        shapes[shape] = M.shape
    worst = max(errors.values())
    return Verdict(
        "any_input_size", "one 3x3 kernel (9 parameters) gives the conv of every input size",
        worst <= 1e-12, "numeric", f"input sizes {sizes[0]} .. {sizes[-1]}",
        {"parameters": w.size, "max_error": worst, "matrix_shapes": list(shapes.values())})


CLAIMS = [
    Claim("adaptivity.any_size", "adaptivity",
          "The same 9 weights define a correct conv matrix for every input size.", True, any_size),
]
