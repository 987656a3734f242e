"""Figures of the conv layer as a graph: sparse, tied edges beside the dense layer.

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot (so no GUI backend and no global state); save it with
``fig.savefig(path)``.  Graphs come from :func:`convtheory.conv_graph` and
:func:`convtheory.dense_graph`; the pictures only lay them out.
"""

from __future__ import annotations

import numpy as np

from ..graph import conv_graph, dense_graph, graph_metrics
from ..validation import as_int

__all__ = ["conv_vs_dense_figure", "draw_layer_graph", "seed_parameters_figure"]

_FOLDED = "0.15"    # colour of an edge whose entry sums several weights
_IN_FACE, _OUT_FACE = "0.85", "white"


_SHEAR = 0.45   # 2-D: rows recede to the right, as a plane seen obliquely
_SHEAR_SLOPE = 1.0  # x moves right by one unit per unit that y drops (x and y both scale by _SHEAR)


def _layout(G) -> dict:
    """Node positions: inputs below, outputs above, each output over what it reads.

    1-D units sit on two lines.  2-D units sit on two sheared grids (an
    input plane and, lifted above it, an output plane), so the edges of a
    local window rise to its output like the textbook picture.  A conv
    output sits over the mean position of the inputs it reads, so local
    connections look local; a dense output, which reads everything, is
    spread evenly over the input plane instead.
    """
    in_shape, out_shape = G.graph["input_shape"], G.graph["output_shape"]
    ndim = len(in_shape) - 1
    if ndim not in (1, 2):
        raise ValueError(f"can only draw 1-D or 2-D layers, got input_shape={in_shape}")
    n = np.array(in_shape[1:], dtype=float)
    rows = n[0] if ndim == 2 else 0.0
    channel_step = n[-1] + 1.0 + _SHEAR * rows  # channels side by side, one unit apart
    lift = 1.0 if ndim == 1 else _SHEAR * rows + 3.0

    def project(c, grid, level):
        if ndim == 1:
            return (c * channel_step + grid[0], level * lift)
        i, j = grid
        return (c * channel_step + j + _SHEAR * i, level * lift - _SHEAR * i)

    grid_of = {}
    for node, data in G.nodes(data=True):
        if data["layer"] == "in":
            grid_of[node] = (data["channel"], np.array(data["position"], dtype=float))
    dense = "spec" not in G.graph
    span = np.array(out_shape[1:], dtype=float)
    pos = {node: project(c, g, 0) for node, (c, g) in grid_of.items()}
    c_in = in_shape[0]
    for node, data in G.nodes(data=True):
        if data["layer"] != "out":
            continue
        c = data["channel"]
        if dense:
            # Spread each output channel's units over the whole input plane.
            frac = (np.array(data["position"]) + 0.5) / span
            grid = frac * n - 0.5
            pos[node] = project(c * c_in / out_shape[0], grid, 1)
            continue
        reads = [grid_of[u] for u in G.predecessors(node)]
        channels = {rc for rc, _ in reads}
        grid = np.mean([g for _, g in reads], axis=0) if reads else np.zeros(ndim)
        anchor = min(channels) if len(channels) == 1 else (c_in - 1) / 2
        pos[node] = project(anchor, grid, 1)
    return pos


def _draw_planes(ax, pos, G):
    """Faint outlines of the 2-D input and output planes (one per channel)."""
    from matplotlib.patches import Polygon

    for side in ("in", "out"):
        by_channel = {}
        for node, data in G.nodes(data=True):
            if data["layer"] == side:
                by_channel.setdefault(data["channel"], []).append(pos[node])
        for xy in by_channel.values():
            xy = np.array(xy)
            # The sheared grid's corners: extreme x - y and x + y combinations.
            lo, hi = xy[:, 1].min() - 0.35, xy[:, 1].max() + 0.35
            left = xy[:, 0] + _SHEAR_SLOPE * (xy[:, 1] - hi)  # unshear: x at the top edge
            x0, x1 = left.min() - 0.3, left.max() + 0.3
            corners = [(x0, hi), (x1, hi),
                       (x1 + _SHEAR_SLOPE * (hi - lo), lo), (x0 + _SHEAR_SLOPE * (hi - lo), lo)]
            ax.add_patch(Polygon(corners, closed=True, facecolor="0.96", edgecolor="0.75",
                                 linewidth=0.8, zorder=0))


def draw_layer_graph(G, ax, *, title=None, node_size=60, cmap="tab10", legend=True):
    """Draw a :func:`conv_graph` or :func:`dense_graph` with edges coloured by tie label.

    Parameters
    ----------
    G : networkx.DiGraph
        A 1-D or 2-D layer graph.
    ax : matplotlib.axes.Axes
    title : str, optional
        Default: the number of weights and of connections, from
        :func:`graph_metrics`.
    node_size : float
    cmap : str
        Colour map of the tie labels (cycled when there are more labels than
        colours).  Folded edges (a sum of weights) are drawn dark and dashed.
    legend : bool
        Label the colours ``w[k]`` (only when there are at most 12 labels).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> ax = draw_layer_graph(conv_graph(np.array([1.0, -1.0]), (4,)), ax)
    >>> ax.get_title()
    '2 weights, 6 of 12 connections'
    """
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    pos = _layout(G)
    m = graph_metrics(G)
    labels = sorted({k for _, _, k in G.edges.data("k") if not isinstance(k, frozenset)})
    colours = colormaps[cmap]
    n_colours = getattr(colours, "N", 256)
    # Qualitative maps (tab10) give one colour per label; continuous ones
    # (viridis), or too many labels, spread the labels along the map.
    many = len(labels) > n_colours or n_colours >= 256
    colour_of = {k: colours((i / max(len(labels) - 1, 1)) if many else i % n_colours)
                 for i, k in enumerate(labels)}
    segments, edge_colours, styles = [], [], []
    for u, v, k in G.edges.data("k"):
        segments.append((pos[u], pos[v]))
        folded = isinstance(k, frozenset)
        edge_colours.append(_FOLDED if folded else colour_of[k])
        styles.append("--" if folded else "-")
    width = 1.6 if len(segments) <= 200 else 0.6
    ax.add_collection(LineCollection(segments, colors=edge_colours, linestyles=styles,
                                     linewidths=width, alpha=0.9, zorder=1))
    if len(G.graph["input_shape"]) == 3:
        _draw_planes(ax, pos, G)
    for side, face in (("in", _IN_FACE), ("out", _OUT_FACE)):
        xy = np.array([pos[n] for n, d in G.nodes(data=True) if d["layer"] == side])
        ax.scatter(xy[:, 0], xy[:, 1], s=node_size, c=face, edgecolors="0.2",
                   linewidths=0.8, zorder=2, label=f"{side}put units")
    ax.set_title(title if title is not None else
                 f"{m.n_ties} weights, {m.n_edges} of {m.n_dense_edges} connections")
    ax.set_aspect("auto")
    ax.autoscale_view()
    ax.margins(0.08)
    ax.set_axis_off()
    if legend and len(labels) <= 12:
        handles = [Line2D([], [], color=colour_of[k], lw=2, label=f"w[{k}]") for k in labels]
        if any(isinstance(k, frozenset) for _, _, k in G.edges.data("k")):
            handles.append(Line2D([], [], color=_FOLDED, lw=2, ls="--", label="sum of weights"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7,
                  frameon=False, title="tie label", title_fontsize=7)
    return ax


def conv_vs_dense_figure(n_1d=6, kernel_1d=3, input_2d=(4, 4), kernel_2d=(2, 2)):
    """A small 1-D and 2-D convolution beside the dense layer between the same units.

    Parameters
    ----------
    n_1d : int
        Input length of the 1-D layer.
    kernel_1d : int
        Its kernel length (valid correlation).
    input_2d, kernel_2d : tuple of int
        Image and kernel shape of the 2-D layer (valid correlation).

    Returns
    -------
    matplotlib.figure.Figure
        Two rows (1-D, 2-D) of two panels (conv, dense).  Conv edges are
        coloured by tie label: one colour per kernel weight, repeated at
        every position (parameter sharing); the dense layer has a weight per
        edge.

    Examples
    --------
    >>> fig = conv_vs_dense_figure()
    >>> [ax.get_title() for ax in fig.axes]  # doctest: +NORMALIZE_WHITESPACE
    ['conv 1-D: 3 weights, 12 of 24 connections',
     'dense 1-D: 24 weights, 24 of 24 connections',
     'conv 2-D: 4 weights, 36 of 144 connections',
     'dense 2-D: 144 weights, 144 of 144 connections']
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplots(2, 2, width_ratios=(1, 1))
    weights = {1: np.arange(1.0, kernel_1d + 1.0),
               2: np.arange(1.0, np.prod(kernel_2d) + 1.0).reshape(kernel_2d)}
    shapes = {1: (n_1d,), 2: tuple(input_2d)}
    for row, ndim in enumerate((1, 2)):
        G = conv_graph(weights[ndim], shapes[ndim])
        D = dense_graph(G.graph["input_shape"], G.graph["output_shape"])
        for ax, graph, name in ((axes[row, 0], G, "conv"), (axes[row, 1], D, "dense")):
            m = graph_metrics(graph)
            draw_layer_graph(graph, ax, legend=name == "conv", cmap="tab10" if name == "conv"
                             else "viridis",
                             title=f"{name} {ndim}-D: {m.n_ties} weights, {m.n_edges} of "
                                   f"{m.n_dense_edges} connections")
    fig.suptitle("A conv layer is a dense layer with most edges removed and the rest tied "
                 "(colour = tie label)")
    return fig


def seed_parameters_figure(H=3, W=3):
    """The seed's count: a conv needs 2 parameters where the dense layer needs H²W².

    A 1x2 difference kernel ``[1, -1]`` (padded on the right so the output is
    H x W again) against the dense layer from the H x W image to itself.

    Parameters
    ----------
    H, W : int
        Image size (keep it small: the dense panel draws H²W² edges).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = seed_parameters_figure(3, 3)
    >>> [ax.get_title() for ax in fig.axes]
    ['conv [1, -1]: 2 parameters (15 connections)', 'dense: H²W² = 81 parameters (81 connections)']
    """
    from matplotlib.figure import Figure

    for name, value in (("H", H), ("W", W)):
        as_int(value, name, minimum=1)
    if H * W > 36:
        raise ValueError(f"H*W must be at most 36 to draw H²W² edges legibly, got H={H}, W={W}")
    G = conv_graph(np.array([[1.0, -1.0]]), (H, W), padding=((0, 0), (0, 1)))
    D = dense_graph(G.graph["input_shape"], G.graph["output_shape"])
    mg, md = graph_metrics(G), graph_metrics(D)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_conv, ax_dense = fig.subplots(1, 2)
    draw_layer_graph(G, ax_conv, title=f"conv [1, -1]: {mg.n_ties} parameters "
                                       f"({mg.n_edges} connections)")
    draw_layer_graph(D, ax_dense, cmap="viridis", legend=False,
                     title=f"dense: H²W² = {md.n_ties} parameters ({md.n_edges} connections)")
    fig.suptitle(f"{H}x{W} image (lower plane) to {H}x{W} feature map (upper plane)")
    return fig
