"""Section "learning": conv layers learn handcrafted filters, and their compositions, from data.

The experiments of :mod:`convtheory.nn.experiments` run here with a fixed seed;
``--quick`` trains on fewer images, for fewer steps, and stops once the
learned kernel is within tolerance, exactly as the full run does.
"""

from __future__ import annotations

import numpy as np

from ...verdict import Verdict
from ..claims import Claim, FigureSpec

__all__ = ["CLAIMS"]

_TRAIN = "convtheory.nn.experiments"
_FIGURES = "convtheory.figures.training:plot_learned_filters"


def _learn_filter(ctx):
    from ...nn.experiments import learn_filter

    return ctx.cached("learning.sobel_x", lambda: learn_filter("sobel_x", seed=ctx.seed))


def _composition(ctx):
    from ...nn.experiments import learn_composition

    return ctx.cached("learning.composition", lambda: learn_composition(seed=ctx.seed))


def _efficiency(ctx):
    from ...nn.experiments import data_efficiency

    if ctx.quick:  # fewer, smaller images: the same comparison in seconds
        run = lambda: data_efficiency("sobel_x", n_train=(1, 4, 16), size=8, seed=ctx.seed)
    else:
        run = lambda: data_efficiency("sobel_x", seed=ctx.seed)
    return ctx.cached("learning.efficiency", run)


def sobel_x(ctx) -> Verdict:
    r = _learn_filter(ctx)
    return Verdict(
        "learn_sobel_x", f"a 3x3 conv layer trained on (image, sobel_x image) pairs learns "
                         f"sobel_x to {r.tol:g}",
        r.converged, "numeric", f"{r.n_images} synthetic images, Adam, at most the steps shown",
        {"max_error": r.max_error, "steps": r.steps, "final_loss": float(r.loss_curve[-1]),
         "learned_kernel": np.round(r.learned_kernel, 6) + 0.0})  # + 0.0: no "-0"


def filter_bank(ctx) -> Verdict:
    r = _bank(ctx)
    tol = TOL
    return Verdict(
        "learn_filter_bank", "a 3 -> 4 channel conv layer learns a whole filter bank at once",
        r.max_error <= tol, "numeric", f"bank {', '.join(r.names)}",
        {"max_error": r.max_error, "channel_errors": r.channel_errors, "steps": r.steps,
         "tolerance": tol})


#: Tolerance on the learned kernels (the experiments stop training there).
TOL = 1e-6

#: Tolerance on the stack's effective kernel.  Learning two factors is not
#: convex: a repeated factor (box composed with box) is pinned only to about
#: the square root of the effective error, and training stalls near, not
#: below, TOL; :func:`convtheory.nn.experiments.learn_composition` documents and
#: tests 1e-4.
COMPOSITION_TOL = 1e-4

#: The dense layer's test error must be at least this many times the conv's.
ADVANTAGE = 10.0


def composition(ctx) -> Verdict:
    r = _composition(ctx)
    tol = COMPOSITION_TOL
    return Verdict(
        "learn_composition", "two stacked 3x3 conv layers learn the 5x5 composition "
                             f"{r.factor_names[0]} then {r.factor_names[1]}: the stack's "
                             "effective kernel equals the target",
        r.effective_error <= tol, "numeric", "synthetic images; factors up to scale and order",
        {"effective_error": r.effective_error, "tolerance": tol, "scales": r.scales,
         "factor_errors_after_rescaling": r.factor_errors, "swapped": r.swapped,
         "rescaling_freedom_error": r.rescaling_error, "steps": r.steps})


def data_efficiency(ctx) -> Verdict:
    r = _efficiency(ctx)
    # A few images pin the conv's 9 weights; the dense layer has size**4 of them.
    holds = all(ADVANTAGE * c <= d for c, d in zip(r.conv_error, r.dense_error))
    return Verdict(
        "data_efficiency", f"on translated test images the dense layer's error is at least "
                           f"{ADVANTAGE:g} times the conv layer's at every training-set size",
        holds, "numeric", f"{r.size}x{r.size} images, n_train {list(r.n_train)}, "
                          f"{r.n_test} translated test images",
        {"n_train": r.n_train, "conv_error": r.conv_error, "dense_error": r.dense_error,
         "conv_parameters": r.conv_parameters, "dense_parameters": r.dense_parameters})


def _bank(ctx):
    from ...nn.experiments import learn_filter_bank

    return ctx.cached("learning.bank", lambda: learn_filter_bank(seed=ctx.seed))


def _filters_figure(ctx):
    from ...figures.training import plot_learned_filters

    return plot_learned_filters(_learn_filter(ctx))


def _loss_figure(ctx):
    from ...figures.training import plot_loss_curves

    return plot_loss_curves({"sobel_x": _learn_filter(ctx), "filter bank": _bank(ctx),
                             "composition": _composition(ctx)})


def _composition_figure(ctx):
    from ...figures.training import plot_composition

    return plot_composition(_composition(ctx))


def _efficiency_figure(ctx):
    from ...figures.training import plot_data_efficiency

    return plot_data_efficiency(_efficiency(ctx))


CLAIMS = [
    Claim("learning.sobel_x", "learning",
          "A conv layer learns the Sobel x filter from (image, filtered image) pairs.",
          True, sobel_x, requires=(f"{_TRAIN}:learn_filter", _FIGURES),
          figures=[FigureSpec("filters", "Sobel x: the true kernel, the learned one and their "
                                         "difference.", _filters_figure),
                   FigureSpec("loss", "Training loss of the three experiments.", _loss_figure)]),
    Claim("learning.filter_bank", "learning",
          "A 3 -> 4 channel conv layer learns a bank of handcrafted filters at once.",
          True, filter_bank, requires=(f"{_TRAIN}:learn_filter_bank",)),
    Claim("learning.composition", "learning",
          "Two stacked 3x3 conv layers learn a 5x5 composition of two filters (the factors "
          "only up to scale).", True, composition,
          requires=(f"{_TRAIN}:learn_composition", _FIGURES),
          figures=[FigureSpec("composition", "The target 5x5 kernel, the stack's effective "
                                             "kernel, and the two learned 3x3 factors after "
                                             "removing the scale freedom.",
                              _composition_figure)]),
    Claim("learning.data_efficiency", "learning",
          "A conv layer generalises to translated images from far fewer training images than "
          "a dense layer.", True, data_efficiency,
          requires=(f"{_TRAIN}:data_efficiency", _FIGURES),
          figures=[FigureSpec("efficiency", "Test error on translated images against the "
                                            "number of training images.", _efficiency_figure)]),
]
