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


def test_rotation_figure_shows_the_verdicts_max_error():
    from convtheory import check_rotation_equivariance
    from convtheory.checks import SOBEL_X

    for n in (8, 12):
        v = check_rotation_equivariance(SOBEL_X, (n, n), padding=1)
        fig = rotation_counterexample_figure(SOBEL_X, input_shape=(n, n), padding=1)
        drawn = np.abs(fig.axes[4].images[0].get_array()).max()
        assert drawn == v.evidence["max_error"] == 2.0
        assert fig.axes[4].get_title() == "difference (max 2)"
        # Three colour bars: inputs, outputs, difference.
        assert len(fig.axes) == 8


@pytest.mark.parametrize("weight_shape, n", [((3, 3), 5), ((3, 3, 3, 3), 6), ((2, 3, 3, 3), 4)])
def test_spectrum_title_counts_the_plotted_values(weight_shape, n):
    import re

    w = np.random.default_rng(5).standard_normal(weight_shape)
    fig = singular_value_figure(w, n=n)
    title = fig.axes[0].get_title()
    stated = int(re.search(r"all (\d+) singular values", title).group(1))
    assert all(len(line.get_ydata()) == stated for line in fig.axes[0].get_lines())
