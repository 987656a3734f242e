"""Section "learning": conv layers learn handcrafted filters, and their compositions, from data.

The experiments of :mod:`convtheory.nn.train` run here with a fixed seed;
``--quick`` trains on fewer images, for fewer steps, and stops once the
learned kernel is within tolerance, exactly as the full run does.
"""

from __future__ import annotations

import numpy as np

from ...checks.verdict import Verdict
from ..claims import Claim, FigureSpec

__all__ = ["CLAIMS"]

_TRAIN = "convtheory.nn.train"


def _learn_filter(ctx):
    from ...nn.train import learn_filter

    return ctx.cached("learning.sobel_x", lambda: learn_filter("sobel_x", seed=ctx.seed))


def _composition(ctx):
    from ...nn.train import learn_composition

    return ctx.cached("learning.composition", lambda: learn_composition(seed=ctx.seed))


def _efficiency(ctx):
    from ...nn.train import data_efficiency

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
         "learned_kernel": np.round(r.learned_kernel, 6)})


def filter_bank(ctx) -> Verdict:
    from ...nn.train import learn_filter_bank

    r = learn_filter_bank(seed=ctx.seed)
    tol = TOL
    return Verdict(
        "learn_filter_bank", "a 3 -> 4 channel conv layer learns a whole filter bank at once",
        r.max_error <= tol, "numeric", f"bank {', '.join(r.names)}",
        {"max_error": r.max_error, "channel_errors": r.channel_errors, "steps": r.steps,
         "tolerance": tol})


#: Tolerance on the learned kernels (the experiments stop training there).
TOL = 1e-6

#: The dense layer's test error must be at least this many times the conv's.
ADVANTAGE = 10.0


def composition(ctx) -> Verdict:
    r = _composition(ctx)
    tol = TOL
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


def _filter_figure(ctx):
    from ...figures import new_figure

    r = _learn_filter(ctx)
    c = _composition(ctx)
    fig, axes = new_figure(1, 5, figsize=(11.0, 2.8))
    panels = ((r.true_kernel, "sobel_x: true"), (r.learned_kernel, "sobel_x: learned"),
              (c.target, "composition: target"), (c.effective_learned, "composition: learned"))
    for ax, (k, title) in zip(axes, panels):
        lim = float(np.abs(k).max()) or 1.0
        ax.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = axes[-1]
    ax.semilogy(r.loss_curve, label="sobel_x")
    ax.semilogy(c.loss_curve, label="composition")
    ax.set_xlabel("step")
    ax.set_title("training loss")
    ax.legend()
    return fig


def _efficiency_figure(ctx):
    from ...figures import new_figure

    r = _efficiency(ctx)
    fig, ax = new_figure(figsize=(5.5, 3.5))
    ax.loglog(r.n_train, np.maximum(r.conv_error, 1e-16), "o-",
              label=f"conv ({r.conv_parameters} weights)")
    ax.loglog(r.n_train, np.maximum(r.dense_error, 1e-16), "s--",
              label=f"dense ({r.dense_parameters} weights)")
    ax.set_xlabel("training images")
    ax.set_ylabel("relative test error (translated images)")
    ax.set_title("Data efficiency: conv against dense")
    ax.legend()
    return fig


CLAIMS = [
    Claim("learning.sobel_x", "learning",
          "A conv layer learns the Sobel x filter from (image, filtered image) pairs.",
          True, sobel_x, requires=(f"{_TRAIN}:learn_filter",),
          figures=[FigureSpec("filters", "Learned against true filters, and the loss curves.",
                              _filter_figure)]),
    Claim("learning.filter_bank", "learning",
          "A 3 -> 4 channel conv layer learns a bank of handcrafted filters at once.",
          True, filter_bank, requires=(f"{_TRAIN}:learn_filter_bank",)),
    Claim("learning.composition", "learning",
          "Two stacked 3x3 conv layers learn a 5x5 composition of two filters (the factors "
          "only up to scale).", True, composition, requires=(f"{_TRAIN}:learn_composition",)),
    Claim("learning.data_efficiency", "learning",
          "A conv layer generalises to translated images from far fewer training images than "
          "a dense layer.", True, data_efficiency, requires=(f"{_TRAIN}:data_efficiency",),
          figures=[FigureSpec("efficiency", "Test error on translated images against the "
                                            "number of training images.", _efficiency_figure)]),
]
