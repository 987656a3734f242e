import io

import numpy as np
import pytest

from convtheory import conv_graph, dense_graph, graph_metrics
from convtheory.figures.graph import conv_vs_dense_figure, draw_layer_graph, seed_parameters_figure


def _segments(ax):
    (edges,) = [c for c in ax.collections if c.__class__.__name__ == "LineCollection"]
    return edges


def test_conv_vs_dense_titles_state_the_counts():
    fig = conv_vs_dense_figure(n_1d=5, kernel_1d=2, input_2d=(3, 4), kernel_2d=(2, 2))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    # 1-D: 4 outputs x 2 taps of 20 pairs; 2-D: 2x3 outputs x 4 taps of 12*6 pairs.
    assert titles == ["conv 1-D: 2 weights, 8 of 20 connections",
                      "dense 1-D: 20 weights, 20 of 20 connections",
                      "conv 2-D: 4 weights, 24 of 72 connections",
                      "dense 2-D: 72 weights, 72 of 72 connections"]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_colour_per_tie_label():
    from matplotlib.figure import Figure

    G = conv_graph(np.arange(1.0, 5.0).reshape(2, 2), (3, 4))
    ax = draw_layer_graph(G, Figure().subplots())
    edges = _segments(ax)
    assert len(edges.get_segments()) == G.number_of_edges() == 24
    colours = edges.get_colors()
    by_label = {}
    for (u, v, k), colour in zip(G.edges.data("k"), colours):
        by_label.setdefault(k, set()).add(tuple(np.round(colour, 6)))
    assert all(len(c) == 1 for c in by_label.values())  # a label has one colour ...
    assert len({next(iter(c)) for c in by_label.values()}) == 4  # ... and labels differ
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["w[0]", "w[1]", "w[2]", "w[3]"]


def test_conv_edges_are_local_in_the_picture():
    # Each 1-D conv output is drawn over the inputs it reads: its edges are
    # short, while dense edges span the layer.
    from matplotlib.figure import Figure

    G = conv_graph(np.ones(3), (12,))
    D = dense_graph((1, 12), (1, 10))
    reach = []
    for graph in (G, D):
        segs = _segments(draw_layer_graph(graph, Figure().subplots())).get_segments()
        reach.append(max(abs(s[1][0] - s[0][0]) for s in segs))
    assert reach[0] == pytest.approx(1.0) and reach[1] > 8


def test_folded_edges_are_dashed_and_labelled():
    from matplotlib.figure import Figure

    G = conv_graph(np.array([1.0, 2.0, 3.0]), (4,), padding=1, padding_mode="replicate")
    ax = draw_layer_graph(G, Figure().subplots())
    assert "sum of weights" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert graph_metrics(G).n_edges == len(_segments(ax).get_segments())


def test_seed_figure():
    fig = seed_parameters_figure(2, 3)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == [
        "conv [1, -1]: 2 parameters (10 connections)",
        "dense: H²W² = 36 parameters (36 connections)"]


def test_errors():
    from matplotlib.figure import Figure

    with pytest.raises(ValueError, match=r"H must be >= 1, got H=0"):
        seed_parameters_figure(0, 3)
    with pytest.raises(ValueError, match=r"H\*W must be at most 36 .* got H=7, W=6"):
        seed_parameters_figure(7, 6)
    G = conv_graph(np.ones((2, 2, 2)), (3, 3, 3))
    with pytest.raises(ValueError, match=r"can only draw 1-D or 2-D layers, "
                                         r"got input_shape=\(1, 3, 3, 3\)"):
        draw_layer_graph(G, Figure().subplots())
