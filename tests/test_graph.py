import networkx as nx
import numpy as np
import pytest
import sympy

from convtheory import ConvSpec, conv_matrix, conv_taps, kernel_symbols
from convtheory.graph import DEFAULT_MAX_EDGES, conv_graph, dense_graph, graph_metrics

from .conftest import requires_torch, traced_peak

# (weight shape, input shape, conv options): every boundary mode, stride,
# dilation, groups, flip, 1-D to 3-D, and folds where the taps coincide.
CASES = [
    ((3,), (7,), {}),
    ((1, 1, 3), (1, 5), dict(padding=1, padding_mode="zeros", flip=True)),
    ((2, 1, 3), (1, 6), dict(padding=2, padding_mode="replicate")),
    ((2, 2, 4), (2, 5), dict(padding=(3,), padding_mode="replicate", stride=2)),
    ((1, 1, 3), (1, 4), dict(padding=2, padding_mode="reflect", dilation=1)),
    ((2, 1, 5), (1, 3), dict(padding=4, padding_mode="circular")),   # wraps twice: folds
    ((4, 3, 3, 3), (3, 6, 5), dict(padding=1)),
    ((4, 1, 3, 2), (2, 6, 5), dict(padding=((1, 2), (0, 1)), groups=2, stride=(2, 1))),
    ((2, 3, 3, 3), (3, 7, 7), dict(dilation=2, padding=2, padding_mode="reflect")),
    ((3, 2, 2, 3), (2, 4, 5), dict(padding="same", padding_mode="circular")),
    ((2, 1, 2, 2, 2), (1, 3, 4, 3), dict(padding=1, padding_mode="replicate")),
]
IDS = [f"{w}-{x}-{sorted(kw)}" for w, x, kw in CASES]


def _edge_matrix(G, shape):
    """The dense matrix the edges of G describe: M[out.index, in.index] = value."""
    M = np.zeros(shape)
    index = G.nodes.data("index")
    for u, v, value in G.edges.data("value"):
        assert M[index[v], index[u]] == 0, "two edges on one entry"
        M[index[v], index[u]] = value
    return M


def _pattern(G):
    index = G.nodes.data("index")
    return {(index[v], index[u]) for u, v in G.edges()}


@pytest.fixture(params=CASES, ids=IDS)
def case(request, rng):
    wshape, xshape, kw = request.param
    return rng.standard_normal(wshape), xshape, kw


class TestAgainstMatrix:
    def test_edges_are_the_stored_entries(self, case):
        w, xshape, kw = case
        M = conv_matrix(w, xshape, **kw)
        G = conv_graph(w, xshape, **kw)
        assert G.number_of_edges() == M.nnz
        coo = M.tocoo()
        assert _pattern(G) == set(zip(coo.row.tolist(), coo.col.tolist()))
        assert np.array_equal(_edge_matrix(G, M.shape), M.toarray())

    def test_nodes_and_coordinates(self, case):
        w, xshape, kw = case
        G = conv_graph(w, xshape, **kw)
        spec = G.graph["spec"]
        assert G.graph["input_shape"] == spec.input_shape
        for side, shape in (("in", spec.input_shape), ("out", spec.output_shape)):
            nodes = [n for n, d in G.nodes(data=True) if d["layer"] == side]
            assert len(nodes) == np.prod(shape)
            for node in nodes:
                data = G.nodes[node]
                assert data["channel"] == node[1] and data["position"] == node[2:]
                assert data["index"] == np.ravel_multi_index(node[1:], shape)
                assert data["bipartite"] == (side == "out")
        assert nx.is_bipartite(G) and nx.is_directed_acyclic_graph(G)
        assert all(u[0] == "in" and v[0] == "out" for u, v in G.edges())

    def test_tie_labels_are_the_weights(self, case):
        w, xshape, kw = case
        G = conv_graph(w, xshape, **kw)
        flat = w.ravel()
        seen = set()
        for _, _, d in G.edges(data=True):
            ks = d["k"] if isinstance(d["k"], frozenset) else {d["k"]}
            assert d["multiplicity"] == len(ks)
            assert d["value"] == pytest.approx(sum(flat[k] for k in ks), rel=1e-15)
            seen |= ks
        # Every weight labels some edge: the distinct tie labels are the weights.
        assert seen == set(range(w.size))
        taps = conv_taps(G.graph["spec"])
        assert sum(d for _, _, d in G.edges.data("multiplicity")) == len(taps)

    def test_metrics_restate_matrix_and_taps(self, case):
        w, xshape, kw = case
        M = conv_matrix(w, xshape, **kw)
        G = conv_graph(w, xshape, **kw)
        spec = G.graph["spec"]
        m = graph_metrics(G)
        pattern = M.copy()
        pattern.data[:] = 1  # structural: count stored entries, whatever their value
        assert np.array_equal(m.in_degree.ravel(), pattern.sum(axis=1))
        assert np.array_equal(m.out_degree.ravel(), pattern.sum(axis=0))
        assert np.array_equal(m.tie_counts, conv_taps(spec).shared_positions())
        assert m.n_edges == M.nnz
        assert m.n_dense_edges == M.shape[0] * M.shape[1]
        assert m.density == M.nnz / (M.shape[0] * M.shape[1])
        assert m.n_ties == spec.n_weights


class TestCanonical:
    def test_distinct_labels_equal_number_of_weights(self, rng):
        w = rng.standard_normal((5, 2, 3, 3))
        G = conv_graph(w, (2, 9, 8), stride=2, padding=1)
        labels = {k for _, _, k in G.edges.data("k")}
        assert labels == set(range(w.size))
        assert {d for _, _, d in G.edges.data("multiplicity")} == {1}

    def test_in_degree_is_clipped_receptive_field(self):
        # Zero padding clips the window: count, per axis, the kernel positions
        # o*s + a*d - lo that land in [0, n), by hand (an independent reference).
        n, k, s, d, lo = (9, 8), (3, 2), (2, 1), (1, 3), (2, 1)
        G = conv_graph(np.ones((1, 2) + k), (2,) + n, stride=s, dilation=d, padding=lo)
        m = graph_metrics(G)
        out = G.graph["output_shape"][1:]
        per_axis = [
            np.array([sum(0 <= o * s[i] + a * d[i] - lo[i] < n[i] for a in range(k[i]))
                      for o in range(out[i])])
            for i in range(2)
        ]
        expected = 2 * np.multiply.outer(*per_axis)  # two input channels
        assert np.array_equal(m.in_degree[0], expected)
        assert m.in_degree.max() == 2 * 3 * 2

    def test_out_degree_counts_outputs_fed(self):
        # 1-D, kernel 3, valid on 6 inputs: 4 outputs; input i feeds the
        # outputs o with o <= i <= o+2.
        m = graph_metrics(conv_graph(np.ones(3), (6,)))
        assert m.out_degree[0].tolist() == [1, 2, 3, 3, 2, 1]

    def test_symbolic_values_exact(self):
        w = kernel_symbols((2, 1, 3))
        kw = dict(padding=1, padding_mode="replicate")
        S = conv_matrix(w, (1, 4), **kw)
        G = conv_graph(w, (1, 4), **kw)
        index = G.nodes.data("index")
        assert G.number_of_edges() == len(S.todok())
        for u, v, value in G.edges.data("value"):
            assert sympy.expand(value - S[index[v], index[u]]) == 0
        corner = G.edges[("in", 0, 0), ("out", 0, 0)]
        assert corner["multiplicity"] == 2
        assert sympy.expand(corner["value"] - w[0, 0, 0] - w[0, 0, 1]) == 0

    def test_weight_that_only_meets_padding_labels_no_edge(self):
        # A 5-tap kernel on one input with padding 2: only the centre tap is real.
        G = conv_graph(np.arange(1.0, 6.0), (1,), padding=2)
        assert list(G.edges(data=True)) == [
            (("in", 0, 0), ("out", 0, 0), {"k": 2, "value": 3.0, "multiplicity": 1})]
        m = graph_metrics(G)
        assert m.n_ties == 1 and m.tie_counts.ravel().tolist() == [0, 0, 1, 0, 0]
        assert m.n_edges == conv_matrix(np.ones(5), (1,), padding=2).nnz

    def test_accepts_spec(self, rng):
        spec = ConvSpec((2, 1, 3), (1, 6), padding=1)
        w = rng.standard_normal(spec.weight_shape)
        assert conv_graph(w, spec).edges == conv_graph(w, (1, 6), padding=1).edges

    def test_removed_edge_is_seen(self, rng):
        # The metrics are not tautologies: drop one edge and both the sharing
        # count and the degrees disagree with the taps.
        w = rng.standard_normal((2, 1, 3, 3))
        G = conv_graph(w, (1, 5, 5), padding=1)
        G.remove_edge(("in", 0, 2, 2), ("out", 1, 2, 2))
        m = graph_metrics(G)
        assert not np.array_equal(m.tie_counts, conv_taps(G.graph["spec"]).shared_positions())
        assert m.in_degree[1, 2, 2] == 8
        assert m.n_edges == conv_matrix(w, (1, 5, 5), padding=1).nnz - 1


@requires_torch
class TestAsALayer:
    @pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, dilation=2, padding=2),
                                    dict(padding=2, padding_mode="reflect"),
                                    dict(padding=1, padding_mode="replicate", groups=3)])
    def test_message_passing_equals_torch(self, rng, kw):
        # Each output unit sums value * input over its in-edges: the graph is the layer.
        import torch

        groups = kw.get("groups", 1)
        w = rng.standard_normal((6, 3 // groups, 3, 3))
        x = rng.standard_normal((3, 7, 6))
        G = conv_graph(w, x.shape, **kw)
        y = {v: 0.0 for v in G if v[0] == "out"}
        for u, v, value in G.edges.data("value"):
            y[v] += value * x[u[1:]]
        conv = torch.nn.Conv2d(3, 6, 3, bias=False, **kw).double()
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w))
            ref = conv(torch.from_numpy(x)[None])[0].numpy()
        got = np.zeros(ref.shape)
        for v, value in y.items():
            got[v[1:]] = value
        # float64 sums of at most 27 products: agreement to rounding.
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


class TestDense:
    def test_every_pair_its_own_weight(self):
        G = dense_graph((2, 3), (1, 4))
        m = graph_metrics(G)
        assert m.n_edges == m.n_dense_edges == 24 == m.n_ties
        assert m.density == 1.0
        assert np.all(m.in_degree == 6) and np.all(m.out_degree == 4)
        assert np.all(m.tie_counts == 1)
        assert set(G.nodes) == {("in", c, i) for c in range(2) for i in range(3)} | {
            ("out", 0, i) for i in range(4)}

    @pytest.mark.parametrize("H, W", [(3, 3), (4, 5)])
    def test_seed_example_two_parameters_against_h2w2(self, H, W):
        # The seed: a conv needs 2 parameters where the dense layer needs
        # H^2 W^2.  A 1x2 difference kernel padded on the right keeps H x W.
        conv = graph_metrics(conv_graph(np.array([[1.0, -1.0]]), (H, W), padding=((0, 0), (0, 1))))
        dense = graph_metrics(dense_graph((1, H, W), (1, H, W)))
        assert conv.in_degree.shape == dense.in_degree.shape == (1, H, W)
        assert conv.n_ties == 2
        assert dense.n_ties == H**2 * W**2 == dense.n_edges
        assert conv.n_edges == H * (2 * W - 1)
        assert conv.density == conv.n_edges / (H**2 * W**2)
        assert conv.tie_counts.tolist() == [[[[H * W, H * (W - 1)]]]]


class TestErrors:
    def test_too_many_edges_refused_before_building(self):
        # 16 * 3 channel pairs, 62 * 62 valid outputs, 9 taps each.
        with pytest.raises(ValueError, match=r"conv_graph would build 1,660,608 edges .* "
                                             r"over max_edges=1,000,000; use conv_matrix"):
            conv_graph(np.ones((16, 3, 3, 3)), (3, 64, 64), max_edges=1_000_000)

    def test_huge_input_refused_from_the_count_alone(self):
        # 10^12 outputs: the guard counts taps from the axis tables (tens of MB)
        # and refuses before any tap, node or edge exists.
        with traced_peak() as peak:
            with pytest.raises(ValueError, match=r"conv_graph would build 8,999,964,000,036 edges"):
                conv_graph(np.ones((3, 3)), (10**6, 10**6))
        assert peak.bytes < 256 * 2**20

    def test_dense_too_many_edges(self):
        with pytest.raises(ValueError, match=r"dense_graph would build 16,777,216 edges, "
                                             r"over max_edges=5,000,000"):
            dense_graph((1, 64, 64), (1, 64, 64))
        assert DEFAULT_MAX_EDGES == 5_000_000

    @pytest.mark.parametrize("bad, exc, msg", [
        (1.5, TypeError, r"max_edges must be an integer, got 1.5 of type float"),
        (True, TypeError, r"max_edges must be an integer, got True of type bool"),
        (-1, ValueError, r"max_edges must be >= 0, got max_edges=-1"),
    ])
    def test_bad_max_edges(self, bad, exc, msg):
        with pytest.raises(exc, match=msg):
            conv_graph(np.ones(2), (4,), max_edges=bad)
        with pytest.raises(exc, match=msg):
            dense_graph((1, 2), (1, 2), max_edges=bad)

    def test_dense_needs_channel_axis(self):
        with pytest.raises(ValueError, match=r"input_shape must be \(C, n1, ..., nd\) with a "
                                             r"channel axis first, got input_shape=\(5,\)"):
            dense_graph((5,), (1, 5))
        with pytest.raises(TypeError, match=r"output_shape must be a sequence of integers"):
            dense_graph((1, 5), 5)

    def test_conv_arguments_validated(self):
        with pytest.raises(TypeError, match=r"unknown conv options \['strides'\]"):
            conv_graph(np.ones(2), (4,), strides=2)

    def test_metrics_need_a_layer_graph(self):
        with pytest.raises(TypeError, match=r"G must be a networkx.DiGraph, got Graph"):
            graph_metrics(nx.Graph())
        with pytest.raises(ValueError, match=r"G.graph lacks \['input_shape', 'output_shape', "
                                             r"'weight_shape'\]"):
            graph_metrics(nx.DiGraph())
