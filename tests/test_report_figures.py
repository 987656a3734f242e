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
    drawn = np.ma.filled(fig.axes[0].images[0].get_array().astype(float), np.nan)
    M = conv_matrix(w, (5, 6), **conv).toarray()
    pattern = conv_matrix(np.ones((3, 3)), (5, 6), **conv).toarray() != 0
    assert drawn.shape == M.shape
    assert np.array_equal(~np.isnan(drawn), pattern)
    # Colour = tie class: the entry of weight k holds the value k + 1 in M.
    assert np.array_equal(drawn[pattern] + 1, M[pattern])
    assert f"{M.size} parameters" in fig.axes[1].get_title()


def test_spy_folded_entries_show_the_smallest_weight():
    fig = spy_conv_vs_dense(np.ones(3), (3,), padding=1, padding_mode="replicate")
    drawn = np.ma.filled(fig.axes[0].images[0].get_array().astype(float), np.nan)
    # Replicate folds w0 and w1 onto entry (0, 0), w1 and w2 onto (2, 2).
    assert drawn[0].tolist()[:2] == [0.0, 2.0] and drawn[2, 2] == 1.0


def test_spy_titles_count_parameters():
    fig = spy_conv_vs_dense(np.ones((1, 2)), (4, 4))
    conv_title, dense_title = fig.axes[0].get_title(), fig.axes[1].get_title()
    assert "2 parameters" in conv_title and "192 parameters" in dense_title


def test_spy_refuses_a_matrix_too_big_to_draw_before_building_it():
    # 152 x 152 -> 150 x 150: a 22,500 x 23,104 matrix would be two 4 GiB images.
    with pytest.raises(ValueError, match=r"a 22,500 x 23,104 conv matrix has 519,840,000 "
                                         r"entries, over max_cells=4,000,000 for a spy plot"):
        spy_conv_vs_dense(np.ones((3, 3)), (152, 152))
    with pytest.raises(ValueError, match=r"a 2 x 3 conv matrix has 6 entries, over max_cells=5"):
        spy_conv_vs_dense(np.ones(2), (3,), max_cells=5)
    assert spy_conv_vs_dense(np.ones(2), (3,), max_cells=6) is not None
