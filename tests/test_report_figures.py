"""Shared figure style (deterministic bytes) and the spy plot of conv against dense."""

import numpy as np
import pytest

from convtheory import conv_matrix
from convtheory.figures import figure_bytes, new_figure, savefig
from convtheory.figures.matrices import spy_conv_vs_dense


def _figure():
    fig, ax = new_figure(figsize=(3, 2))
    ax.plot([0, 1, 2], [1, 0, 2])
    ax.set_title("t")
    return fig


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_bytes_do_not_change_between_figures(fmt):
    assert figure_bytes(_figure(), fmt) == figure_bytes(_figure(), fmt)


def test_no_date_or_version_in_svg():
    import matplotlib

    svg = figure_bytes(_figure(), "svg").decode()
    assert "<dc:date>" not in svg and matplotlib.__version__ not in svg


def test_unknown_format():
    with pytest.raises(ValueError, match="fmt must be one of .* got fmt='gif'"):
        figure_bytes(_figure(), "gif")


def test_savefig_is_atomic_and_readable(tmp_path):
    path = savefig(_figure(), tmp_path / "a.png")
    with open(path, "rb") as f:
        assert f.read(4) == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_new_figure_is_not_registered_with_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    _figure()
    assert plt.get_fignums() == before


@pytest.mark.parametrize("conv", [{}, {"padding": 1}, {"padding": 1, "padding_mode": "circular"},
                                  {"stride": 2, "padding": 1}])
def test_spy_draws_exactly_the_matrix_pattern(conv):
    w = np.arange(1.0, 10.0).reshape(3, 3)
    fig = spy_conv_vs_dense(w, (5, 6), **conv)
    points = fig.axes[0].collections[0]
    drawn = {tuple(p) for p in points.get_offsets().astype(int).tolist()}
    M = conv_matrix(w, (5, 6), **conv).tocoo()
    assert drawn == set(zip(M.col.tolist(), M.row.tolist()))
    # Colour = tie class: entries of weight k carry k, which the matrix holds as k + 1.
    values = dict(zip(zip(M.col.tolist(), M.row.tolist()), M.data.tolist()))
    for (c, r), k in zip(points.get_offsets().astype(int).tolist(), points.get_array().tolist()):
        assert values[(c, r)] == k + 1
    assert f"{M.shape[0] * M.shape[1]} parameters" in fig.axes[1].get_title()


def test_spy_titles_count_parameters():
    fig = spy_conv_vs_dense(np.ones((1, 2)), (4, 4))
    conv_title, dense_title = fig.axes[0].get_title(), fig.axes[1].get_title()
    assert "2 parameters" in conv_title and "192 parameters" in dense_title
