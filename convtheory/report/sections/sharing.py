"""Section "sharing": every entry of M is a kernel weight, and each weight fills many entries."""

from __future__ import annotations

from ... import checks
from ..claims import Claim, FigureSpec

__all__ = ["CLAIMS"]


def tied_weights(ctx):
    rng = ctx.rng("sharing.tied")
    n = 5 if ctx.quick else 7
    return [
        checks.check_sharing(rng.standard_normal((3, 3)), (n, n), padding=1),
        checks.check_sharing(rng.standard_normal((2, 3, 3, 3)), (3, n, n), padding=1,
                      padding_mode="reflect"),
        checks.check_sharing(rng.standard_normal((4, 1, 3, 3)), (2, n, n), padding=1, groups=2,
                      stride=2),
    ]


def seed_example(ctx):
    return checks.seed_sharing_example(28, 32) if ctx.quick else checks.seed_sharing_example()


def _figure(ctx):
    from ...figures.graph import seed_parameters_figure

    return seed_parameters_figure()


CLAIMS = [
    Claim("sharing.tied", "sharing",
          "Every nonzero of the conv matrix is one of the kernel's weights (a sum of them where "
          "reflect folds taps), each reused at many positions: M = sum_k w_k B_k.",
          True, tied_weights, requires=("convtheory.checks:check_sharing",)),
    Claim("sharing.seed_example", "sharing",
          "The seed's example: a difference kernel needs 2 parameters where the dense layer "
          "needs H^2 W^2.", True, seed_example,
          figures=[FigureSpec("parameters", "The seed's count: 2 tied parameters against the "
                                            "dense layer's H^2 W^2.", _figure)],
          requires=("convtheory.checks:seed_sharing_example",
                    "convtheory.figures.graph:seed_parameters_figure")),
]
