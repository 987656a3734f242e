import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

from convtheory.checks import LAPLACIAN  # noqa: E402
from convtheory.figures.checks import (  # noqa: E402
    border_error_figure,
    rotation_counterexample_figure,
    singular_value_figure,
)


def test_border_error_figure_shows_the_error_map():
    fig = border_error_figure(input_shape=(7, 7), shift=(1, 0))
    assert isinstance(fig, Figure)
    zero_panel = fig.axes[0].images[0].get_array()
    assert zero_panel[0].max() > 0 and zero_panel[3, 3] == 0
    assert np.all(fig.axes[1].images[0].get_array() == 0)


def test_rotation_figure_difference_vanishes_for_the_laplacian():
    fig = rotation_counterexample_figure(LAPLACIAN)
    assert np.all(fig.axes[4].images[0].get_array() == 0)
    fig = rotation_counterexample_figure()
    assert np.abs(fig.axes[4].images[0].get_array()).max() > 0


def test_singular_value_figure_two_curves():
    fig = singular_value_figure(n=5)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and len(lines[0].get_ydata()) == 25
    assert lines[0].get_ydata()[0] >= lines[1].get_ydata()[0]  # zero padding lowers the norm here
