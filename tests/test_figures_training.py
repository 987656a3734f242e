"""Training figures: each returns a Figure and draws what it says."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from convtheory.figures import training as figs
from convtheory.nn import experiments


def test_learned_filter_figures():
    r = experiments.learn_filter("sobel_x", seed=0)
    fig = figs.plot_learned_filters(r)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert fig.axes[3].get_ylabel() == "learned - true"  # the error panel's colour bar
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), r.learned_kernel)
    bank = experiments.learn_filter_bank(steps=20, seed=0)
    assert len(figs.plot_learned_filters(bank).axes) == 4 * (3 + 3)  # laplacian reads all 3 inputs
    with pytest.raises(TypeError, match="FilterResult or BankResult"):
        figs.plot_learned_filters(object())


def test_loss_curves_and_composition_and_data_efficiency():
    r = experiments.learn_filter("sobel_x", seed=0)
    fig = figs.plot_loss_curves({"sobel_x": r})
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), r.loss_curve)
    with pytest.raises(TypeError, match="non-empty dict"):
        figs.plot_loss_curves([])
    comp = experiments.learn_composition("box", "box", steps=300, seed=0)
    assert isinstance(figs.plot_composition(comp), Figure)
    eff = experiments.data_efficiency(n_train=(1, 2), size=8, steps=50, seed=0)
    lines = figs.plot_data_efficiency(eff).axes[0].get_lines()
    np.testing.assert_array_equal(lines[1].get_ydata(), eff.dense_error)
