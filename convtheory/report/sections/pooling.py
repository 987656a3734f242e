"""Section "pooling": average pooling is a convolution, max pooling is piecewise linear,
and blurring before subsampling reduces aliasing without removing it.

The checks live in :mod:`convtheory.checks.avg_pool` and
:mod:`convtheory.checks.aliasing`; the operators in :mod:`convtheory.pooling`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ... import checks
# The module, by its full name: convtheory.checks re-exports a function of the same name.
from ...checks.aliasing import smooth_inputs
from ...verdict import Verdict
from ..claims import Claim, FigureSpec
from ._common import max_abs, tolerance_verdict

__all__ = ["CLAIMS"]


def _size(ctx) -> int:
    return 8 if ctx.quick else 12


def avg_is_conv(ctx) -> Verdict:
    n = _size(ctx)
    return checks.check_avg_pool_is_conv((2, n, n), 2)


def avg_divisor_differs(ctx) -> Verdict:
    n = _size(ctx) - 1
    cases = {"count_include_pad=False": dict(kernel_size=3, stride=2, padding=1,
                                             count_include_pad=False),
             "ceil_mode=True": dict(kernel_size=2, ceil_mode=True)}
    verdicts = {name: checks.check_avg_pool_is_conv((1, n, n), **opts)
                for name, opts in cases.items()}
    rescaled = {name: v.evidence["rows_differing_from_conv"] for name, v in verdicts.items()}
    holds = all(bool(v) and not v.evidence["constant_divisor"] for v in verdicts.values())
    return Verdict(
        "avg_pool_divisor_differs",
        "with count_include_pad=False or ceil_mode the average pool is the uniform conv only "
        "away from the border: there its rows are rescaled by prod(k)/divisor",
        holds, "exhaustive", f"input (1, {n}, {n}); " + "; ".join(cases),
        {"rows_rescaled": rescaled,
         "max_error": max(v.evidence["max_error"] for v in verdicts.values())},
        None if holds else {name: v.counterexample for name, v in verdicts.items()})


def max_jacobian(ctx) -> Verdict:
    from ...nn import functional as F
    from ...pooling import max_pool_jacobian

    rng = ctx.rng("pooling.max")
    n = _size(ctx)
    x = rng.integers(0, 4, size=(2, n, n)).astype(float)   # ties, to exercise the rule
    g = rng.standard_normal((2, n // 2, n // 2))
    J = max_pool_jacobian(x, 2)
    one_per_row = bool(np.all(np.diff(J.indptr) == 1) and np.all(J.data == 1))
    errors = {"J x == max_pool(x)": max_abs(J @ x.ravel(), F.max_pool2d(x, 2).ravel()),
              "J^T g == max_pool backward": max_abs(J.T @ g.ravel(),
                                                    F.max_pool2d_backward(g, x, 2).ravel()),
              "one 1 per row": 0.0 if one_per_row else 1.0}
    return tolerance_verdict(
        "max_pool_jacobian", "at a given x, max pooling is the linear map of a 0/1 selection "
        "matrix J (one 1 per row, PyTorch's tie rule): J x is the pooled output and J^T g its "
        "gradient", errors, tol=1e-12, scope=f"x of shape (2, {n}, {n}) with ties, window 2",
        method="exhaustive")


def blur_consistency(ctx) -> Verdict:
    n_inputs = 32 if ctx.quick else 64
    return checks.check_shift_consistency(smooth_inputs(n_inputs, 32, seed=ctx.seed))


def _consistency_figure(ctx):
    from ...figures.pooling import shift_consistency_figure

    n_inputs = 32 if ctx.quick else 64
    return shift_consistency_figure(smooth_inputs(n_inputs, 32, seed=ctx.seed))


CLAIMS = [
    Claim("pooling.avg_is_conv", "pooling",
          "Average pooling is a convolution: its matrix equals the conv matrix of a uniform "
          "depthwise kernel 1/prod(k) when every window has the same divisor.", True, avg_is_conv),
    Claim("pooling.avg_divisor", "pooling",
          "With count_include_pad=False or ceil_mode it is that conv only away from the border, "
          "where the divisor changes.", True, avg_divisor_differs),
    Claim("pooling.max_jacobian", "pooling",
          "Max pooling is piecewise linear: at each x it is a 0/1 selection matrix whose "
          "transpose gives the gradient.", True, max_jacobian),
    Claim("pooling.blur_consistency", "pooling",
          "Blurring before subsampling (Zhang, 2019) makes pooling more consistent under "
          "one-sample shifts, but not perfectly: it reduces aliasing without removing it.",
          True, blur_consistency,
          figures=[FigureSpec("shift_consistency",
                              "Shift consistency (fraction of one-sample shifts after which the "
                              "pooled output is within 10% of a whole- or half-sample shift of "
                              "the original) and mean relative error, for max, average, blur "
                              "and max-then-blur pooling on the same band-limited inputs; right, "
                              "the period-4 signal that max pooling aliases.",
                              _consistency_figure)],
          requires=("convtheory.figures.pooling:shift_consistency_figure",)),
]

_REQUIRES = tuple(f"convtheory.checks:{name}" for name in (
    "check_avg_pool_is_conv", "check_shift_consistency")) + ("convtheory.pooling:max_pool_jacobian",)
CLAIMS = [replace(claim, requires=claim.requires + _REQUIRES) for claim in CLAIMS]
