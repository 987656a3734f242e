"""Figures of the learning experiments in :mod:`convtheory.nn.experiments`.

Each function returns a ``matplotlib.figure.Figure`` (Agg backend, never
shown); matplotlib is imported inside the functions so that ``import
convtheory`` stays light.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_composition", "plot_data_efficiency", "plot_digits_efficiency", "plot_first_layer",
           "plot_learned_filters", "plot_loss_curves", "plot_solver_comparison"]


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


def plot_loss_curves(results: dict, *, title: str = "Learning handcrafted filters from data",
                     xlabel: str = "step"):
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
    ax.set_xlabel(xlabel)
    ax.set_ylabel("MSE loss")
    ax.legend(fontsize=8)
    ax.set_title(title)
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


def plot_solver_comparison(result):
    """Steps of Adam and iterations of L-BFGS and LSQR against the patches' condition number.

    Seconds are left out: they vary from run to run, and a report's figures
    are byte-identical for a seed.

    Parameters
    ----------
    result : SolverComparison
        From :func:`~convtheory.nn.experiments.compare_solvers`.

    Examples
    --------
    >>> from convtheory.nn.experiments import SolverComparison, SolverRun, SourceRuns
    >>> runs = (SolverRun("adam", 500, 0.3, 1e-7), SolverRun("lbfgs", 20, 0.02, 1e-7),
    ...         SolverRun("lsqr", 10, 0.001, 1e-14))
    >>> r = SolverComparison("sobel_x", 1e-6, 4, 32, 100, (SourceRuns("moon", 133.0, runs),))
    >>> fig = plot_solver_comparison(r)
    >>> fig.axes[0].get_xscale(), [line.get_label() for line in fig.axes[0].get_lines()]
    ('log', ['adam', 'lbfgs', 'lsqr'])
    """
    fig = _figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    cond = np.array([s.condition_number for s in result.sources])
    order = np.argsort(cond, kind="stable")
    for solver, marker in (("adam", "o"), ("lbfgs", "s"), ("lsqr", "^")):
        steps = np.array([s.run(solver).steps for s in result.sources], dtype=float)
        ax.plot(cond[order], steps[order], marker + "-", label=solver)
    for s, c in zip(result.sources, cond):
        ax.annotate(s.images, (c, s.run("adam").steps), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("condition number of the 3x3 patches' second-moment matrix")
    ax.set_ylabel(f"steps / iterations to max error <= {result.tol:g}")
    ax.legend(fontsize=8)
    ax.set_title(f"Learning {result.kernel_name} from {result.n_images} crops of "
                 f"{result.size}x{result.size} per source", fontsize=10)
    return fig


def plot_digits_efficiency(result):
    """Test accuracy of the CNN and the MLP against the number of training digits.

    Parameters
    ----------
    result : DigitsResult
        From :func:`~convtheory.nn.experiments.digits_efficiency`.

    Examples
    --------
    >>> from convtheory.nn.experiments import DigitsResult
    >>> r = DigitsResult((10, 100), (0, 1), np.array([[0.2, 0.3], [0.6, 0.7]]),
    ...                  np.array([[0.1, 0.1], [0.3, 0.3]]), 1418, 17098, 797, 16, 400, 32,
    ...                  np.zeros((8, 3, 3)), 1.0)
    >>> fig = plot_digits_efficiency(r)
    >>> [c.get_label() for c in fig.axes[0].containers]
    ['CNN (1418 parameters)', 'MLP (17098 parameters)']
    """
    fig = _figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    for model, name, params, marker in (("cnn", "CNN", result.cnn_parameters, "o"),
                                         ("mlp", "MLP", result.mlp_parameters, "s")):
        mean, std = result.summary(model)
        ax.errorbar(result.n_train, mean, yerr=std, fmt=marker + "-", capsize=3,
                    label=f"{name} ({params} parameters)")
    ax.axhline(0.1, color="0.6", lw=0.8, ls=":")
    ax.text(result.n_train[0], 0.11, "chance (10 classes)", fontsize=7, color="0.4")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("training digits")
    ax.set_ylabel("test accuracy (translated digits)")
    ax.set_title(f"8x8 digits at random offsets on {result.canvas}x{result.canvas}: "
                 f"{len(result.seeds)} seeds, mean ± std", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def plot_first_layer(filters):
    """Learned 3x3 filters, each with its nearest handcrafted filter and their correlation.

    Parameters
    ----------
    filters : (C, 3, 3) array_like

    Examples
    --------
    >>> from convtheory.nn.data import sobel_x
    >>> fig = plot_first_layer(np.stack([sobel_x(), -sobel_x()]))
    >>> fig.axes[0].get_title().splitlines(), fig.axes[1].get_title().splitlines()[1]
    (['learned 0', 'sobel_x (+1.00)'], 'sobel_x (-1.00)')
    """
    from ..nn.data import gaussian, gaussian_derivative, laplacian, sobel_x, sobel_y
    from ..nn.experiments import nearest_handcrafted

    filters = np.asarray(filters, dtype=np.float64)
    nearest = nearest_handcrafted(filters)
    handcrafted = {"sobel_x": sobel_x(), "sobel_y": sobel_y(), "laplacian": laplacian(),
                   "gaussian": gaussian(1.0, size=3), "gaussian_dx": gaussian_derivative("x"),
                   "gaussian_dy": gaussian_derivative("y")}
    cols = max(len(filters), len(handcrafted))
    fig = _figure(figsize=(1.3 * cols, 3.2), layout="constrained")
    axes = fig.subplots(2, cols, squeeze=False)
    for j, (f, near) in enumerate(zip(filters, nearest)):
        vmax = float(np.abs(f).max()) or 1.0
        _kernel_image(axes[0, j], f, f"learned {j}\n{near.name} ({near.correlation:+.2f})", vmax,
                      annotate=False)
    for j, (name, h) in enumerate(handcrafted.items()):
        _kernel_image(axes[1, j], h, name, float(np.abs(h).max()), annotate=False)
    for ax in list(axes[0, len(filters):]) + list(axes[1, len(handcrafted):]):
        ax.axis("off")
    fig.suptitle("first-layer filters (top) and handcrafted filters (bottom); label: nearest "
                 "handcrafted filter (normalised correlation)", fontsize=8)
    return fig
