"""Figures of the learning experiments in :mod:`convtheory.nn.experiments`.

Each function returns a ``matplotlib.figure.Figure`` (Agg backend, never
shown); matplotlib is imported inside the functions so that ``import
convtheory`` stays light.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_composition", "plot_data_efficiency", "plot_learned_filters", "plot_loss_curves"]


def _figure(**kwargs):
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _kernel_image(ax, kernel, title, vmax, *, annotate=True):
    image = ax.imshow(kernel, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    if annotate and kernel.size <= 25:
        for (i, j), v in np.ndenumerate(kernel):
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7 if kernel.size <= 9 else 6)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return image


def _error_bar(fig, image, ax):
    """A colour bar for an error panel: its colours span only the (tiny) error, so say how much."""
    fig.colorbar(image, ax=ax, shrink=0.8, format="%.0e", label="learned - true")


def plot_learned_filters(result):
    """True against learned kernels, with their difference.

    Parameters
    ----------
    result : FilterResult or BankResult
        From :func:`~convtheory.nn.experiments.learn_filter` or
        :func:`~convtheory.nn.experiments.learn_filter_bank`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from convtheory.nn.experiments import learn_filter
    >>> fig = plot_learned_filters(learn_filter("sobel_x", seed=0))
    >>> len(fig.axes)                 # true, learned, error, and the error's colour bar
    4
    """
    if hasattr(result, "true_kernel"):
        pairs = [(result.name, result.true_kernel, result.learned_kernel)]
    elif hasattr(result, "true_weight"):
        w, lw = result.true_weight, result.learned_weight
        pairs = [(f"{name}, in {c}", w[o, c], lw[o, c])
                 for o, name in enumerate(result.names) for c in range(w.shape[1])
                 if np.any(w[o, c])]
    else:
        raise TypeError(f"result must be a FilterResult or BankResult, got {type(result).__name__}")
    fig = _figure(figsize=(6, 2.1 * len(pairs)), layout="constrained")
    axes = fig.subplots(len(pairs), 3, squeeze=False)
    for row, (name, true, learned) in zip(axes, pairs):
        vmax = float(np.abs(true).max()) or 1.0
        _kernel_image(row[0], true, f"true {name}", vmax)
        _kernel_image(row[1], learned, "learned", vmax)
        diff = learned - true
        image = _kernel_image(row[2], diff, f"error (max {np.abs(diff).max():.1e})",
                              float(np.abs(diff).max()) or 1.0, annotate=False)
        _error_bar(fig, image, row[2])
    return fig


def plot_loss_curves(results: dict):
    """Training loss against step, one curve per experiment, log scale.

    Parameters
    ----------
    results : dict of str -> result with a ``loss_curve``

    Examples
    --------
    >>> from convtheory.nn.experiments import learn_filter
    >>> fig = plot_loss_curves({"sobel_x": learn_filter("sobel_x", seed=0)})
    >>> fig.axes[0].get_yscale()
    'log'
    """
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict of name -> result with a loss_curve")
    fig = _figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    for name, result in results.items():
        curve = np.asarray(result.loss_curve)
        ax.plot(np.arange(len(curve)), np.maximum(curve, np.finfo(float).tiny), label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE loss")
    ax.legend(fontsize=8)
    ax.set_title("Learning handcrafted filters from data")
    return fig


def plot_composition(result):
    """Target 5x5 kernel, the stack's effective kernel, and the learned 3x3 factors.

    Examples
    --------
    >>> from convtheory.nn.experiments import learn_composition
    >>> fig = plot_composition(learn_composition("box", "box", steps=300, seed=0))
    >>> len(fig.axes)                 # six panels and the difference's colour bar
    7
    """
    fig = _figure(figsize=(10, 6.5), layout="constrained")
    axes = fig.subplots(2, 3)
    vmax = float(np.abs(result.target).max())
    _kernel_image(axes[0, 0], result.target, "target (composition)", vmax)
    _kernel_image(axes[0, 1], result.effective_learned,
                  f"stack's effective kernel\n(max error {result.effective_error:.1e})", vmax)
    diff = result.effective_learned - result.target
    image = _kernel_image(axes[0, 2], diff, f"difference (max {np.abs(diff).max():.1e})",
                          float(np.abs(diff).max()) or 1.0, annotate=False)
    _error_bar(fig, image, axes[0, 2])
    first, second = (result.second_true, result.first_true) if result.swapped else \
        (result.first_true, result.second_true)
    for ax, learned, true, c, e, i in zip(axes[1, :2], (result.first_learned, result.second_learned),
                                        (first, second), result.scales, result.factor_errors, (1, 2)):
        _kernel_image(ax, c * learned, f"layer {i} x {c:.3g}\n(error {e:.1e})",
                      1.5 * float(np.abs(true).max()) or 1.0)  # headroom keeps a flat box legible
    axes[1, 2].axis("off")
    axes[1, 2].text(0, 0.5, "factors are unique only up to\nscale (c, 1/c) and order",
                    fontsize=9, va="center")
    return fig


def plot_data_efficiency(result):
    """Test error on translated images against the number of training images.

    Examples
    --------
    >>> from convtheory.nn.experiments import DataEfficiencyResult
    >>> r = DataEfficiencyResult("sobel_x", 8, (1, 4), (1e-9, 1e-20), (0.9, 0.7), 16, 9, 4096)
    >>> fig = plot_data_efficiency(r)
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['conv (9 weights)', 'dense (4096 weights)']
    """
    fig = _figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    # Below ~1e-16 the error is round-off, whose size is noise: draw it at the floor.
    floor = 1e-16
    ax.plot(result.n_train, np.maximum(result.conv_error, floor), "o-",
            label=f"conv ({result.conv_parameters} weights)")
    ax.plot(result.n_train, np.maximum(result.dense_error, floor), "s-",
            label=f"dense ({result.dense_parameters} weights)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("training images")
    ax.set_ylabel("relative test error (translated images)")
    ax.axhline(floor, color="0.7", lw=0.8, ls=":")
    ax.text(result.n_train[0], floor * 3, "round-off (errors below drawn here)", fontsize=7,
            color="0.4")
    ax.set_title(f"{result.kernel_name} on {result.size}x{result.size} images: weight sharing "
                 "is data efficiency", fontsize=9)
    ax.legend()
    return fig
