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


@pytest.mark.parametrize("n_weights", [1, 2, 9, 10, 11, 16, 20])
def test_spy_colour_bar_has_one_tick_and_one_colour_per_weight(n_weights):
    fig = spy_conv_vs_dense(np.ones(n_weights), (n_weights + 3,))
    bar = fig.axes[2]
    ticks = bar.get_xticks()
    assert len(ticks) == n_weights and list(ticks) == list(range(n_weights))
    image = fig.axes[0].images[0]
    # The colour drawn for weight k is the colour under tick k, and no two weights share one.
    colours = [tuple(image.cmap(image.norm(k))) for k in range(n_weights)]
    assert len(set(colours)) == n_weights
    assert image.cmap.N == n_weights


def test_spy_beyond_twenty_weights_uses_a_continuous_map():
    fig = spy_conv_vs_dense(np.ones((2, 3, 3, 3)), (3, 5, 5), padding=1)  # 54 weights
    image = fig.axes[0].images[0]
    assert image.cmap.name == "viridis"
    ticks = fig.axes[2].get_xticks()
    assert 2 <= len(ticks) <= 11 and all(float(t).is_integer() for t in ticks)
    assert "54 shared parameters" in fig.axes[2].get_xlabel()


def test_spy_by_value_draws_the_matrix_entries():
    w = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    fig = spy_conv_vs_dense(w, (5, 5), padding=1, values=True)
    drawn = np.ma.filled(fig.axes[0].images[0].get_array().astype(float), np.nan)
    M = conv_matrix(w, (5, 5), padding=1).toarray()
    pattern = conv_matrix(np.ones((3, 3)), (5, 5), padding=1).toarray() != 0
    assert np.array_equal(~np.isnan(drawn), pattern)
    assert np.array_equal(drawn[pattern], M[pattern])
    image = fig.axes[0].images[0]
    assert image.cmap.name == "RdBu_r" and image.norm(0.0) == 0.5  # diverging, centred on 0
    zeros = int(np.count_nonzero(M[pattern] == 0))
    assert f"{pattern.sum()} of 625 entries stored, 9 parameters ({zeros} hold 0)" in \
        fig.axes[0].get_title()
