"""The conv layer as a graph: sparse, tied connectivity beside the dense layer.

The seed note draws a convolution as a dense layer that is not fully
connected, whose connection weights are tied to the kernel values.  This
module makes that picture a :class:`networkx.DiGraph` you can inspect:

* one node per input unit ``("in", c, i, j, ...)`` and per output unit
  ``("out", c, i, j, ...)``;
* one edge ``input -> output`` per stored entry of :func:`conv_matrix`, read
  from the taps of :func:`conv_taps` (no index is recomputed here), carrying
  the *tie label* ``k`` (the flat index of the weight on that connection),
  its ``value`` and a ``multiplicity``.

Every claim of the seed is then a graph statistic (:func:`graph_metrics`):
the in-degree of an output unit is its receptive field (clipped at borders),
the number of edges per tie label is the sharing count, and the fraction of
the dense graph's edges that the conv keeps is its sparsity.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .transposed_spec import ConvTransposeSpec
from .taps import conv_taps, count_taps, spatial_taps
from .validation import as_int
from .validation import as_shape as _as_shape
from .weights import conv_arguments

__all__ = ["DEFAULT_MAX_EDGES", "GraphMetrics", "conv_graph", "dense_graph", "graph_metrics"]

#: Default ceiling on the edges :func:`conv_graph` and :func:`dense_graph`
#: build.  A networkx edge with three attributes costs roughly 0.5 KB, so
#: this is about 2.5 GB; pass ``max_edges`` to change it for one call.
DEFAULT_MAX_EDGES = 5_000_000


def _check_max_edges(max_edges):
    return as_int(max_edges, "max_edges", minimum=0)


def _unit_nodes(side: str, shape: tuple) -> list:
    """Node keys ``(side, c, i, ...)`` of every unit, in C (matrix) order."""
    return [(side, *idx) for idx in np.ndindex(*shape)]


def _add_units(G: nx.DiGraph, side: str, shape: tuple) -> list:
    nodes = _unit_nodes(side, shape)
    part = 0 if side == "in" else 1
    G.add_nodes_from(
        (node, {"layer": side, "bipartite": part, "channel": node[1], "position": node[2:],
                "index": index})
        for index, node in enumerate(nodes)
    )
    return nodes


def conv_graph(weight, input_shape, *, max_edges=DEFAULT_MAX_EDGES, **conv) -> nx.DiGraph:
    r"""The convolution as a bipartite graph of tied, local connections.

    Parameters
    ----------
    weight : (C_out, C_in/groups, k1, ..., kd) array_like, or (k1, ..., kd)
        Numeric or sympy weights, as for :func:`conv_matrix`.
    input_shape : tuple of int, or ConvSpec
        ``(C_in, n1, ..., nd)``, or ``(n1, ..., nd)`` with the single-channel
        shorthand.
    max_edges : int
        Refuse, before building, a graph with more edges (default
        :data:`DEFAULT_MAX_EDGES`).
    **conv
        ``stride, padding, dilation, groups, padding_mode, flip``; or
        ``transposed=True`` with ``stride, padding, output_padding, dilation,
        groups, flip`` for a transposed conv (``weight`` in PyTorch's
        ``ConvTranspose`` layout ``(C_in, C_out/groups, k...)``, or a
        :class:`ConvTransposeSpec` as ``input_shape``).  Its edges are the
        conv's taps reversed, so ``number_of_edges() ==
        conv_transpose_matrix(...).nnz``.

    Returns
    -------
    G : networkx.DiGraph
        Nodes ``("in", c, i, ...)`` and ``("out", c, o, ...)`` with attributes
        ``layer`` (``"in"``/``"out"``), ``bipartite`` (0/1), ``channel``,
        ``position`` (spatial tuple) and ``index`` (the matrix column or row).
        One edge ``in -> out`` per stored entry of ``conv_matrix``, with
        attributes

        * ``k``: the tie label, the flat index into ``weight`` (C order over
          ``(C_out, C_in/groups, k1, ..., kd)``) of the weight on this
          connection; where reflect, replicate or a wrap folds several taps
          onto one entry, the ``frozenset`` of their weight indices;
        * ``value``: the matrix entry, ``weight.flat[k]`` or the sum over the
          folded taps (a float, or a sympy expression for symbolic weights);
        * ``multiplicity``: the number of taps folded into the entry (1
          unless the boundary mode folds).

        ``G.graph`` holds ``spec`` (the :class:`ConvSpec`), ``input_shape``,
        ``output_shape`` and ``weight_shape``.

    Notes
    -----
    Edges are the taps of :func:`conv_taps`, grouped by ``(row, col)`` only
    where the boundary mode folds; so ``G.number_of_edges() ==
    conv_matrix(...).nnz`` and the edge pattern is structural (an edge per
    tap, even where the weight is 0).  Building takes time and memory linear
    in the number of edges, about 2 microseconds and half a kilobyte per
    edge, nearly all of it networkx's own dict-of-dicts insertion (see
    ``benchmarks/bench_graph.py``).

    A 1-D kernel ``[a, b]`` on 3 inputs (valid)::

        in0 --a--> out0 <--b-- in1 --a--> out1 <--b-- in2

    Examples
    --------
    >>> G = conv_graph(np.array([1.0, -1.0]), (3,))
    >>> sorted((u[2], v[2], d["k"], d["value"]) for u, v, d in G.edges(data=True))
    [(0, 0, 0, 1.0), (1, 0, 1, -1.0), (1, 1, 0, 1.0), (2, 1, 1, -1.0)]
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((4, 3, 3, 3))
    >>> G = conv_graph(w, (3, 8, 8), padding=1)
    >>> G.number_of_edges() == conv_matrix(w, (3, 8, 8), padding=1).nnz
    True
    >>> len({d["k"] for _, _, d in G.edges(data=True)}) == w.size
    True

    A transposed conv, stride 2: every input feeds 3 outputs, an output sees 1 or 2 inputs:

    >>> G = conv_graph(np.ones((1, 1, 3)), (1, 4), transposed=True, stride=2)
    >>> sorted(d for _, d in G.out_degree(n for n in G if n[0] == "in"))
    [3, 3, 3, 3]
    >>> sorted({d for _, d in G.in_degree(n for n in G if n[0] == "out")})
    [1, 2]

    Replicate padding folds two taps onto a corner entry:

    >>> G = conv_graph(np.array([1.0, 2.0, 4.0]), (3,), padding=1, padding_mode="replicate")
    >>> G.edges[("in", 0, 0), ("out", 0, 0)]
    {'k': frozenset({0, 1}), 'value': 3.0, 'multiplicity': 2}
    """
    max_edges = _check_max_edges(max_edges)
    if isinstance(input_shape, ConvTransposeSpec) or conv.get("transposed", False) is True:
        return _transposed_graph(weight, input_shape, max_edges, conv)
    transposed = conv.pop("transposed", False)
    if transposed is not False:
        raise TypeError(f"transposed must be a bool, got transposed={transposed!r}")
    w, spec = conv_arguments(weight, input_shape, **conv)
    n_taps = count_taps(spec)  # counted from the axis tables: nothing is built before the guard
    if n_taps > max_edges:
        raise ValueError(
            f"conv_graph would build {n_taps:,} edges (about {n_taps * 500 / 2**30:.1f} GiB "
            f"in networkx), over max_edges={max_edges:,}; use conv_matrix(...) or conv_taps(...) "
            f"for the same connectivity as arrays, or pass a larger max_edges"
        )
    taps = conv_taps(spec)
    G = nx.DiGraph(spec=spec, input_shape=spec.input_shape, output_shape=spec.output_shape,
                   weight_shape=spec.weight_shape)
    in_nodes = _add_units(G, "in", spec.input_shape)
    out_nodes = _add_units(G, "out", spec.output_shape)
    flat = w.ravel()
    rows, cols, kernel = taps.rows, taps.cols, taps.kernel
    if spatial_taps(spec).canonical:  # cached: conv_taps has just built it
        single = slice(None)
        folded = []
    else:
        # Group the taps that land on one (row, col): those entries are sums.
        key = rows * spec.matrix_shape[1] + cols
        order = np.argsort(key, kind="stable")
        _, start, count = np.unique(key[order], return_index=True, return_counts=True)
        single = order[start[count == 1]]
        folded = [order[s:s + c] for s, c in zip(start[count > 1], count[count > 1])]
    values = flat[kernel[single]]
    G.add_edges_from(
        (in_nodes[c], out_nodes[r], {"k": k, "value": v, "multiplicity": 1})
        for r, c, k, v in zip(rows[single].tolist(), cols[single].tolist(),
                              kernel[single].tolist(), values.tolist())
    )
    for group in folded:
        ks = kernel[group].tolist()
        value = sum(flat[ks].tolist()) if flat.dtype != object else sum(flat[ks], start=0)
        G.add_edge(in_nodes[int(cols[group[0]])], out_nodes[int(rows[group[0]])],
                   k=frozenset(ks), value=value, multiplicity=len(ks))
    return G


def dense_graph(input_shape, output_shape, *, max_edges=DEFAULT_MAX_EDGES) -> nx.DiGraph:
    """The fully connected layer between the same units, for comparison.

    Parameters
    ----------
    input_shape, output_shape : tuple of int
        ``(C, n1, ..., nd)``, channel first as for :func:`conv_graph`; pass
        ``(1, H, W)`` for a single-channel image.
    max_edges : int
        Refuse, before building, more than this many edges.

    Returns
    -------
    G : networkx.DiGraph
        The same node keys and attributes as :func:`conv_graph`, and an edge
        from every input unit to every output unit.  Every edge has its own
        weight: its tie label ``k`` is the flat index ``row * n_in + col`` of
        the dense weight matrix, and ``multiplicity`` is 1.  There is no
        ``value`` (a dense layer's weights are not given).

    Examples
    --------
    The seed's count: a dense map of an H x W image onto itself needs
    ``H**2 * W**2`` weights, one per edge.

    >>> H, W = 3, 4
    >>> G = dense_graph((1, H, W), (1, H, W))
    >>> G.number_of_edges() == H**2 * W**2 == len({d["k"] for *_, d in G.edges(data=True)})
    True
    """
    max_edges = _check_max_edges(max_edges)
    input_shape = _as_shape(input_shape, "input_shape")
    output_shape = _as_shape(output_shape, "output_shape")
    for name, shape in (("input_shape", input_shape), ("output_shape", output_shape)):
        if len(shape) < 2:
            raise ValueError(
                f"{name} must be (C, n1, ..., nd) with a channel axis first, got {name}={shape}; "
                f"pass (1, *shape) for a single channel"
            )
    # Exact (object) products: int64 would wrap around for huge shapes and pass the check.
    n_in = int(np.prod(input_shape, dtype=object))
    n_out = int(np.prod(output_shape, dtype=object))
    if n_in * n_out > max_edges:
        raise ValueError(
            f"dense_graph would build {n_in * n_out:,} edges, over max_edges={max_edges:,}; "
            f"pass a larger max_edges or smaller shapes"
        )
    G = nx.DiGraph(input_shape=input_shape, output_shape=output_shape,
                   weight_shape=(n_out, n_in))
    in_nodes = _add_units(G, "in", input_shape)
    out_nodes = _add_units(G, "out", output_shape)
    G.add_edges_from(
        (u, v, {"k": r * n_in + c, "multiplicity": 1})
        for r, v in enumerate(out_nodes) for c, u in enumerate(in_nodes)
    )
    return G


@dataclass(frozen=True, eq=False)
class GraphMetrics:
    """The seed's claims about a layer, read off its graph.

    Attributes
    ----------
    in_degree : ndarray, shape ``output_shape``
        Inputs each output unit reads: its receptive field within the layer
        (``C_in/groups * prod(k)`` inside, fewer where zero padding clips it).
    out_degree : ndarray, shape ``input_shape``
        Outputs each input unit feeds.
    tie_counts : ndarray, shape ``weight_shape``
        Edges per tie label: the sharing count of each weight.  A folded edge
        counts once for each weight in its label, so this equals
        :meth:`Taps.shared_positions`.
    n_edges, n_dense_edges : int
        Edges of this graph, and of the dense graph between the same units.
    n_ties : int
        Weights that label at least one edge: the free parameters of the
        layer that the graph uses (a weight that only ever meets zero
        padding, as the outer taps of a 5-tap kernel on 1 input, has none).
    density : float
        ``n_edges / n_dense_edges``: the fraction of dense connections kept.

    Examples
    --------
    A 2-tap kernel on 4 inputs: 6 of the dense layer's 12 edges, each
    weight on 3 of them.

    >>> m = graph_metrics(conv_graph(np.array([1.0, -1.0]), (4,)))
    >>> m.n_edges, m.n_dense_edges, m.density, m.tie_counts.tolist()
    (6, 12, 0.5, [[[3, 3]]])
    >>> m.in_degree.tolist(), m.out_degree.tolist()
    ([[2, 2, 2]], [[1, 2, 2, 1]])
    """

    in_degree: np.ndarray
    out_degree: np.ndarray
    tie_counts: np.ndarray
    n_edges: int
    n_dense_edges: int
    n_ties: int
    density: float


def graph_metrics(G: nx.DiGraph) -> GraphMetrics:
    """Degrees, sharing counts and density of a :func:`conv_graph` or :func:`dense_graph`.

    Parameters
    ----------
    G : networkx.DiGraph
        As built by :func:`conv_graph` or :func:`dense_graph` (it reads
        ``G.graph["input_shape"]``, ``["output_shape"]``, ``["weight_shape"]``
        and the node attribute ``index``).

    Returns
    -------
    GraphMetrics

    Examples
    --------
    A 3x3 kernel on a 5x5 image with ``padding=1``: a corner output reads 4
    inputs, an interior one 9; each weight is shared by up to 25 outputs.

    >>> m = graph_metrics(conv_graph(np.ones((3, 3)), (5, 5), padding=1))
    >>> m.in_degree[0].tolist()
    [[4, 6, 6, 6, 4], [6, 9, 9, 9, 6], [6, 9, 9, 9, 6], [6, 9, 9, 9, 6], [4, 6, 6, 6, 4]]
    >>> m.tie_counts[0, 0].tolist()
    [[16, 20, 16], [20, 25, 20], [16, 20, 16]]
    >>> m.n_ties, m.n_edges, m.n_dense_edges
    (9, 169, 625)
    """
    if not isinstance(G, nx.DiGraph):
        raise TypeError(f"G must be a networkx.DiGraph, got {type(G).__name__}")
    missing = [key for key in ("input_shape", "output_shape", "weight_shape") if key not in G.graph]
    if missing:
        raise ValueError(
            f"G.graph lacks {missing}; graph_metrics reads graphs built by conv_graph "
            f"or dense_graph"
        )
    in_shape, out_shape = G.graph["input_shape"], G.graph["output_shape"]
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    index = G.nodes.data("index")
    in_degree = np.zeros(n_out, dtype=np.int64)
    out_degree = np.zeros(n_in, dtype=np.int64)
    for node, deg in G.in_degree():
        if node[0] == "out":
            in_degree[index[node]] = deg
    for node, deg in G.out_degree():
        if node[0] == "in":
            out_degree[index[node]] = deg
    labels = [k for _, _, k in G.edges.data("k")]
    n_weights = int(np.prod(G.graph["weight_shape"]))
    single = [k for k in labels if not isinstance(k, frozenset)]
    folded = [i for k in labels if isinstance(k, frozenset) for i in k]
    tie_counts = np.bincount(np.asarray(single + folded, dtype=np.int64), minlength=n_weights)
    n_edges = G.number_of_edges()
    n_dense = n_in * n_out
    return GraphMetrics(
        in_degree=in_degree.reshape(out_shape),
        out_degree=out_degree.reshape(in_shape),
        tie_counts=tie_counts.reshape(G.graph["weight_shape"]),
        n_edges=n_edges,
        n_dense_edges=n_dense,
        n_ties=int(np.count_nonzero(tie_counts)),
        density=n_edges / n_dense if n_dense else 0.0,
    )


def _transposed_graph(weight, input_shape, max_edges, conv) -> nx.DiGraph:
    """The transposed conv's graph: the taps of the conv it is the adjoint of, reversed."""
    from .transposed import conv_transpose_arguments  # the builders import the graph's peers

    options = {k: v for k, v in conv.items() if k != "transposed"}
    w, spec = conv_transpose_arguments(weight, input_shape, **options)
    n_taps = count_taps(spec.adjoint)
    if n_taps > max_edges:
        raise ValueError(
            f"conv_graph would build {n_taps:,} edges (about {n_taps * 500 / 2**30:.1f} GiB "
            f"in networkx), over max_edges={max_edges:,}; use conv_transpose_matrix(...) for the "
            f"same connectivity, or pass a larger max_edges"
        )
    taps = conv_taps(spec.adjoint)
    G = nx.DiGraph(spec=spec, input_shape=spec.input_shape, output_shape=spec.output_shape,
                   weight_shape=spec.weight_shape)
    in_nodes = _add_units(G, "in", spec.input_shape)
    out_nodes = _add_units(G, "out", spec.output_shape)
    # The conv reads its input (our output, covered part) at col and writes its output (our
    # input) at row: reversed, an edge col -> row becomes in[row] -> out[col].
    out_index = spec.covered_index()
    flat = w.ravel()
    G.add_edges_from(
        (in_nodes[r], out_nodes[c], {"k": k, "value": v, "multiplicity": 1})
        for r, c, k, v in zip(taps.rows.tolist(), out_index[taps.cols].tolist(),
                              taps.kernel.tolist(), flat[taps.kernel].tolist())
    )
    return G
