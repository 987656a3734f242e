"""Receptive fields: published numbers, closed form against exact ancestry, errors.

Published values are the TF-Slim models' receptive field size ("RF"),
effective stride and effective padding, from the table of the library that
accompanies Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019 (doi:10.23915/distill.00021):
google-research/receptive_field, RECEPTIVE_FIELD_TABLE.md.  The layer lists
below are the TF-Slim architectures written out by hand; TF's "SAME" is
written as the padding it resolves to.
"""

import networkx as nx
import numpy as np
import pytest

from convtheory.receptive_field import LAYER_KEYS, POINTWISE_LAYERS, ReceptiveField, receptive_field

from .conftest import requires_torch


def conv(k, s=1, p=0, d=1):
    return {"kernel_size": k, "stride": s, "padding": p, "dilation": d}


# ---------------------------------------------------------------------------
# Published networks, layer by layer, with the published (RF, stride, padding)
# at each end-point that the table lists.
# ---------------------------------------------------------------------------
ALEXNET_V2 = [  # tf-slim alexnet_v2
    ("conv1", conv(11, 4, "valid"), (11, 4, 0)),
    ("pool1", conv(3, 2), (19, 8, 0)),
    ("conv2", conv(5, 1, "same"), (51, 8, 16)),
    ("pool2", conv(3, 2), None),
    ("conv3", conv(3, 1, "same"), (99, 16, 32)),
    ("conv4", conv(3, 1, "same"), (131, 16, 48)),
    ("conv5", conv(3, 1, "same"), (163, 16, 64)),
    ("pool5", conv(3, 2), (195, 32, 64)),
]

VGG_16 = [  # tf-slim vgg_16: 3x3 convs with padding 1, 2x2 max pools with stride 2
    ("conv1_1", conv(3, 1, 1), (3, 1, 1)),
    ("conv1_2", conv(3, 1, 1), None),
    ("pool1", conv(2, 2), (6, 2, 2)),
    ("conv2_1", conv(3, 1, 1), (10, 2, 4)),
    ("conv2_2", conv(3, 1, 1), None),
    ("pool2", conv(2, 2), (16, 4, 6)),
    ("conv3_1", conv(3, 1, 1), (24, 4, 10)),
    ("conv3_2", conv(3, 1, 1), (32, 4, 14)),
    ("conv3_3", conv(3, 1, 1), None),
    ("pool3", conv(2, 2), (44, 8, 18)),
    ("conv4_1", conv(3, 1, 1), (60, 8, 26)),
    ("conv4_2", conv(3, 1, 1), (76, 8, 34)),
    ("conv4_3", conv(3, 1, 1), None),
    ("pool4", conv(2, 2), (100, 16, 42)),
    ("conv5_1", conv(3, 1, 1), (132, 16, 58)),
    ("conv5_2", conv(3, 1, 1), (164, 16, 74)),
    ("conv5_3", conv(3, 1, 1), None),
    ("pool5", conv(2, 2), (212, 32, 90)),
]


def resnet_v1_50(pool_padding):
    """tf-slim resnet_v1_50 as a DAG: bottleneck units with their shortcuts.

    conv1 is conv2d_same(7x7, stride 2): explicit padding 3 then valid.  The
    3x3 max pool is TF 'SAME' with stride 2, whose padding depends on the
    input size (224: (0, 1); 321: (1, 1)).  TF-Slim puts each block's stride
    on the 3x3 conv (conv2d_same, explicit padding 1) of the block's *last*
    unit; the shortcut is a strided 1x1 (conv or 1x1 max pool).
    """
    G = nx.DiGraph()
    G.add_node("conv1", layer=conv(7, 2, 3))
    G.add_node("pool1", layer=conv(3, 2, (pool_padding, pool_padding)))
    G.add_edge("conv1", "pool1")
    previous = "pool1"
    ends = {}
    for block, units in enumerate([3, 4, 6, 3], start=1):
        for unit in range(1, units + 1):
            stride = 2 if unit == units and block < 4 else 1
            name = f"block{block}/unit_{unit}"
            G.add_node(f"{name}/conv1", layer=conv(1))
            G.add_node(f"{name}/conv2", layer=conv(3, stride, 1))
            G.add_node(f"{name}/conv3", layer=conv(1))
            G.add_node(f"{name}/add")  # no layer: merges the two branches
            nx.add_path(G, [previous, f"{name}/conv1", f"{name}/conv2", f"{name}/conv3",
                            f"{name}/add"])
            if unit == 1 or stride > 1:  # projection, or 1x1 max pool subsampling
                G.add_node(f"{name}/shortcut", layer=conv(1, stride))
                nx.add_path(G, [previous, f"{name}/shortcut", f"{name}/add"])
            else:
                G.add_edge(previous, f"{name}/add")
            previous = f"{name}/add"
        ends[f"block{block}"] = previous
    return G, ends


def main_path(G):
    """The longest input-output path of a DAG, as a chain of its layers."""
    return [G.nodes[n]["layer"] for n in nx.dag_longest_path(G) if "layer" in G.nodes[n]]


class TestPublished:
    @pytest.mark.parametrize("net", [ALEXNET_V2, VGG_16], ids=["alexnet_v2", "vgg_16"])
    def test_chain_endpoints(self, net):
        layers = [layer for _, layer, _ in net]
        for i, (name, _, published) in enumerate(net):
            if published is None:
                continue
            rf = receptive_field(layers[: i + 1])
            r, s, p = published
            assert (rf.size, rf.stride, rf.padding) == ((r, r), (s, s), (p, p)), name
            assert rf.aligned and rf.paths == 1

    def test_alexnet_v2_output_shape_at_224(self):
        rf = receptive_field([layer for _, layer, _ in ALEXNET_V2], (224, 224))
        assert rf.output_shape == (5, 5)  # tf-slim alexnet_v2 pool5 at 224: 5x5

    @pytest.mark.parametrize("resolution, pool_padding, paddings, out", [
        (224, (0, 1), (15, 47, 143, 239), 7),
        (321, (1, 1), (17, 49, 145, 241), 11),
    ])
    def test_resnet_v1_50(self, resolution, pool_padding, paddings, out):
        G, ends = resnet_v1_50(pool_padding)
        sizes, stride = (35, 99, 291, 483), (8, 16, 32, 32)
        for (block, end), r, s, p in zip(ends.items(), sizes, stride, paddings):
            sub = G.subgraph(nx.ancestors(G, end) | {end})
            rf = receptive_field(sub, (resolution, resolution))
            assert (rf.size, rf.stride, rf.padding) == ((r, r), (s, s), (p, p)), block
            assert rf.aligned, rf.note
        assert rf.output_shape == (out, out)
        # 16 units, each with two branches.
        assert rf.paths == 2**16
        # The main path alone gives the same field: it is the largest.
        chain = receptive_field(main_path(G), (resolution, resolution))
        assert (chain.size, chain.stride, chain.padding) == (rf.size, rf.stride, rf.padding)


# ---------------------------------------------------------------------------
# Closed form against exact ancestry, and both against references
# ---------------------------------------------------------------------------
def random_chain(rng, ndim, depth):
    layers = []
    for _ in range(depth):
        k = tuple(int(v) for v in rng.integers(1, 5, ndim))
        d = tuple(int(v) for v in rng.integers(1, 3, ndim))
        s = tuple(int(v) for v in rng.integers(1, 3, ndim))
        p = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(ndim))
        layers.append({"kernel_size": k, "stride": s, "padding": p, "dilation": d})
    return layers


def closed_sums(layers, axis):
    """Araujo et al.'s closed form, written out as the sums over layers."""
    r, P, S = 1, 0, 1
    for layer in layers:
        k, d = layer["kernel_size"][axis], layer["dilation"][axis]
        r += d * (k - 1) * S
        P += layer["padding"][axis][0] * S
        S *= layer["stride"][axis]
    return r, S, P


class TestClosedAgainstExact:
    @pytest.mark.parametrize("seed", range(12))
    def test_random_chains(self, seed):
        rng = np.random.default_rng(9173 + seed)
        ndim = 1 + seed % 2
        layers = random_chain(rng, ndim, depth=1 + seed % 4)
        closed = receptive_field(layers)
        for axis in range(ndim):
            assert (closed.size[axis], closed.stride[axis], closed.padding[axis]) == \
                closed_sums(layers, axis)
        n = tuple(r + 3 * s + 2 * p + 4 for r, s, p in
                  zip(closed.size, closed.stride, closed.padding))
        exact = receptive_field(layers, n, method="exact")
        assert exact.method == "exact" and closed.method == "closed"
        assert (exact.size, exact.stride, exact.padding) == \
            (closed.size, closed.stride, closed.padding)

    def test_published_vgg_exact(self):
        layers = [layer for _, layer, _ in VGG_16]
        exact = receptive_field(layers, (300,), method="exact")
        assert (exact.size, exact.stride, exact.padding) == ((212,), (32,), (90,))

    def test_resnet_like_dag_exact(self):
        G, ends = resnet_v1_50((0, 1))
        sub = G.subgraph(nx.ancestors(G, ends["block2"]) | {ends["block2"]})
        closed = receptive_field(sub, (160, 160))
        exact = receptive_field(sub, (160, 160), method="exact")
        assert (exact.size, exact.stride, exact.padding) == ((99, 99), (16, 16), (47, 47))
        assert (closed.size, closed.stride, closed.padding) == ((99, 99), (16, 16), (47, 47))
        assert exact.aligned and exact.paths == closed.paths == 2**7

    def test_exact_needs_room(self):
        # r = 4, S = 2, P = 1: output o sees inputs 2o-1 .. 2o+2, so on 5
        # inputs only o = 1 is unclipped; the advice r + 2S + 2P = 10 suffices.
        layers = [conv(3, 1, 1), conv(2, 2)]
        with pytest.raises(ValueError, match=r"input_shape=\(5,\) is too small for "
                                             r"method='exact': on axis 0 .* at least 10"):
            receptive_field(layers, (5,), method="exact")
        rf = receptive_field(layers, (10,), method="exact")
        assert (rf.size, rf.stride, rf.padding) == ((4,), (2,), (1,))
        with pytest.raises(ValueError, match=r"method='exact' needs input_shape"):
            receptive_field(layers, method="exact")

    @requires_torch
    def test_exact_is_the_gradient_support(self):
        # Independent reference: with positive weights and average pools, the
        # gradient of output unit o is nonzero exactly on its receptive field.
        import torch

        layers = [conv(3, 1, 2, 2), conv(2, 2), conv(3, 2, 1), conv(3, 1, 0, 3)]
        n = 60
        rf = receptive_field(layers, (n,), method="exact")
        x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
        y = x
        for layer in layers:
            c = torch.nn.Conv1d(1, 1, layer["kernel_size"], stride=layer["stride"],
                                padding=layer["padding"], dilation=layer["dilation"],
                                bias=False).double()
            torch.nn.init.constant_(c.weight, 1.0)
            y = c(y)
        assert y.shape[-1] == rf.output_shape[0]
        checked = 0
        for o in range(y.shape[-1]):
            (g,) = torch.autograd.grad(y[0, 0, o], x, retain_graph=True)
            support = np.flatnonzero(g[0, 0].numpy())
            lo, hi = rf.region(o)[0]
            if lo >= 0 and hi <= n:  # unclipped: the support spans the whole region
                assert (support.min(), support.max() + 1) == (lo, hi)
                checked += 1
            else:
                assert support.min() >= max(lo, 0) and support.max() < min(hi, n)
        assert checked >= 2

    @requires_torch
    def test_torch_layer_objects(self):
        import torch

        layers = [torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.MaxPool2d(2),
                  torch.nn.Conv2d(8, 8, (3, 5), dilation=(1, 2), padding="same"),
                  torch.nn.AvgPool2d(3, stride=2, padding=1)]
        rf = receptive_field(layers, (32, 32))
        described = receptive_field([
            conv(3, 1, 1), conv(2, 2), {"kernel_size": (3, 5), "dilation": (1, 2),
                                        "padding": (1, 4)}, conv(3, 2, 1)], (32, 32))
        assert rf == described
        assert rf.size == (3 + 1 + 2 * 2 + 2 * 2, 3 + 1 + 8 * 2 + 2 * 2)
        net = torch.nn.Sequential(*layers)
        with torch.no_grad():
            y = net(torch.zeros(1, 3, 32, 32))
        assert rf.output_shape == tuple(y.shape[2:])
        assert receptive_field(net, (32, 32)) == rf  # any iterable of layers
        # Pointwise torch layers are identities; Flatten and Linear end the spatial part.
        with_pointwise = torch.nn.Sequential(layers[0], torch.nn.ReLU(), torch.nn.BatchNorm2d(8),
                                             *layers[1:3], torch.nn.Dropout2d(), torch.nn.GELU(),
                                             layers[3], torch.nn.Identity())
        assert receptive_field(with_pointwise, (32, 32)) == rf
        assert receptive_field(with_pointwise, (32, 32), method="exact").size == rf.size
        for mixing in (torch.nn.Flatten(), torch.nn.Linear(4, 4)):
            name = type(mixing).__name__
            with pytest.raises(TypeError, match=rf"layer 1: a layer must be a mapping .* got "
                                                rf"{name}; .* end the list before a layer that "
                                                rf"mixes all positions \(Flatten, Linear\)"):
                receptive_field([layers[0], mixing])
        # A torch model is captured: its spatial part ends before Flatten (and Linear).
        model = torch.nn.Sequential(layers[0], torch.nn.Flatten(), torch.nn.Linear(8 * 32 * 32, 4))
        assert receptive_field(model, (32, 32)) == receptive_field(layers[:1], (32, 32))


class TestPointwiseLayers:
    def test_convtheory_nn_relu_is_an_identity(self):
        from convtheory import nn

        convs = [nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, dilation=2)]
        plain = receptive_field(convs, (20, 20))
        net = nn.Sequential(convs[0], nn.ReLU(), convs[1], nn.ReLU(), convs[2], nn.ReLU())
        assert receptive_field(net, (20, 20)) == plain
        assert receptive_field(net, (20, 20), method="exact") == receptive_field(
            convs, (20, 20), method="exact")
        # r = 1 + (3 - 1) + (2 - 1) * 1 + 2 * (3 - 1) * 2 * 1: the closed form by hand.
        assert plain.size == (1 + 2 + 1 + 8,) * 2

    def test_opt_in_attribute_and_name_rule(self):
        class Gain:
            pointwise = True

        class ReLU:  # a ReLU-named class that carries a kernel is a kernel layer
            kernel_size, stride, padding = 3, 1, 0

        class Scale:  # no kernel, no opt-in: refused
            pass

        assert receptive_field([conv(3), Gain(), conv(3)]).size == (5, 5)
        assert receptive_field([conv(3), ReLU()]).size == (5, 5)
        with pytest.raises(TypeError, match=r"layer 1: .* got Scale; describe other pointwise "
                                            r"layers as \{'kernel_size': 1\}"):
            receptive_field([conv(3), Scale()])
        assert "ReLU" in POINTWISE_LAYERS and "Flatten" not in POINTWISE_LAYERS


class TestDescriptions:
    def test_duck_typed_object_without_dilation(self):
        class Pool:
            kernel_size, stride, padding = 2, 2, 0

        assert receptive_field([Pool(), Pool()]) == receptive_field([conv(2, 2)] * 2)

    def test_defaults_and_ndim(self):
        assert receptive_field([{"kernel_size": 3}]).size == (3, 3)
        rf = receptive_field([{"kernel_size": (3, 1, 5)}])
        assert rf.size == (3, 1, 5) and rf.ndim == 3
        assert receptive_field([{"kernel_size": 3}], (10,)).size == (3,)
        assert receptive_field([]) == ReceptiveField((1, 1), (1, 1), (0, 0))
        assert LAYER_KEYS == ("kernel_size", "stride", "padding", "dilation")

    def test_region_and_centre(self):
        rf = receptive_field([conv(3, 2, 1)] * 2)
        assert (rf.size, rf.stride, rf.padding) == ((7, 7), (4, 4), (3, 3))
        assert rf.start == (-3, -3) and rf.center == (0.0, 0.0)
        assert rf.region(2) == ((5, 12), (5, 12))
        with pytest.raises(ValueError, match=r"index must have 2 entries, got index=\(1,\)"):
            rf.region((1,))


class TestCeilMode:
    def test_ceil_mode_pool_needs_no_input_shape(self):
        class Pool:
            kernel_size, stride, padding, ceil_mode = 3, 2, 0, True

        rf = receptive_field([conv(3), Pool()])
        assert (rf.size, rf.stride, rf.padding) == ((5, 5), (2, 2), (0, 0))
        with pytest.raises(ValueError, match=r"layer 1: ceil_mode=True changes output shapes"):
            receptive_field([conv(3), Pool()], (10, 10))


class TestDag:
    def test_misaligned_branches_are_reported(self):
        G = nx.DiGraph()
        G.add_node("a", layer=conv(3))
        G.add_node("b", layer=conv(1))
        G.add_node("in")
        G.add_node("out")
        nx.add_path(G, ["in", "a", "out"])
        nx.add_path(G, ["in", "b", "out"])
        rf = receptive_field(G)
        assert not rf.aligned and rf.paths == 2
        assert rf.size == (3, 3) and rf.padding == (0, 0)
        assert "paths centre output 0's field at inputs [0.0, 1.0]" in rf.note

    def test_aligned_branches(self):
        G = nx.DiGraph()
        G.add_node("a", layer=conv(3, 1, 1))
        G.add_node("b", layer=conv(5, 1, 2))
        G.add_node("in")
        G.add_node("out", layer=conv(2, 2))
        nx.add_path(G, ["in", "a", "out"])
        nx.add_path(G, ["in", "b", "out"])
        rf = receptive_field(G, (12, 12))
        assert rf.aligned and rf.note == "" and rf.paths == 2
        assert (rf.size, rf.stride, rf.padding) == ((6, 6), (2, 2), (2, 2))
        exact = receptive_field(G, (12, 12), method="exact")
        assert (exact.size, exact.stride, exact.padding) == (rf.size, rf.stride, rf.padding)

    def test_jumps_disagree(self):
        G = nx.DiGraph()
        G.add_node("a", layer=conv(1, 2))
        G.add_node("b", layer=conv(1, 1))
        G.add_node("out")
        G.add_node("in")
        nx.add_path(G, ["in", "a", "out"])
        nx.add_path(G, ["in", "b", "out"])
        rf = receptive_field(G)
        assert not rf.aligned and "the paths have jumps [1, 2]" in rf.note

    def test_graph_errors(self):
        G = nx.DiGraph([("a", "b"), ("a", "c")])
        with pytest.raises(ValueError, match=r"one input node and one output node, got "
                                             r"sources \['a'\] and sinks \['b', 'c'\]"):
            receptive_field(G)
        with pytest.raises(ValueError, match=r"layers must be acyclic"):
            receptive_field(nx.DiGraph([("a", "b"), ("b", "a")]))
        with pytest.raises(ValueError, match=r"layers is an empty graph"):
            receptive_field(nx.DiGraph())
        G = nx.DiGraph([("in", "a"), ("in", "b"), ("a", "out"), ("b", "out")])
        G.nodes["a"]["layer"] = conv(3)
        with pytest.raises(ValueError, match=r"node 'out': its inputs have different spatial "
                                             r"shapes \[\(8,\), \(10,\)\]"):
            receptive_field(G, (10,))
        G.nodes["b"]["layer"] = {"kernel_size": 3, "stride": 0}
        with pytest.raises(ValueError, match=r"node 'b': stride must be >= 1"):
            receptive_field(G)


class TestErrors:
    @pytest.mark.parametrize("layers, exc, msg", [
        ([conv(3), {"kernel_size": -3}], ValueError,
         r"layer 1: kernel_size must be >= 1 on every axis, got kernel_size=-3"),
        ([{"kernel_size": 0}], ValueError, r"layer 0: kernel_size must be >= 1"),
        ([{"kernel_size": 3, "stride": 0}], ValueError,
         r"layer 0: stride must be >= 1 on every axis, got stride=0"),
        ([conv(3), conv(3), {"kernel_size": 3, "strides": 2}], TypeError,
         r"layer 2: unknown key 'strides'; a layer description takes the keys "
         r"\['kernel_size', 'stride', 'padding', 'dilation'\]"),
        ([{"stride": 2}], TypeError, r"layer 0: missing key 'kernel_size' \(required\)"),
        ([{"kernel_size": 3, "dilation": 0}], ValueError, r"layer 0: dilation must be >= 1"),
        ([{"kernel_size": 3, "padding": -1}], ValueError,
         r"layer 0: padding must be >= 0, got padding=-1"),
        ([{"kernel_size": 2.5}], TypeError, r"layer 0: kernel_size must be an int or a tuple"),
        ([{"kernel_size": (3, 3)}, {"kernel_size": 3, "stride": (1, 1, 1)}], ValueError,
         r"layer 1: stride must be an int or a tuple of 2 ints"),
        ([{"kernel_size": 3, "stride": 2, "padding": "same"}], ValueError,
         r"layer 0: padding='same' needs stride 1"),
        ([conv(3), "conv"], TypeError, r"layer 1: a layer must be a mapping .* got str"),
        ([conv(3), object()], TypeError,
         r"layer 1: a layer must be a mapping .* got object; describe other pointwise layers"),
    ])
    def test_bad_layer_names_index_and_key(self, layers, exc, msg):
        with pytest.raises(exc, match=msg):
            receptive_field(layers)

    def test_bad_arguments(self):
        with pytest.raises(TypeError, match=r"layers must be a sequence of layer descriptions "
                                            r"or a networkx.DiGraph of them, got dict"):
            receptive_field(conv(3))
        with pytest.raises(ValueError, match=r"method must be one of \('closed', 'exact'\), "
                                             r"got method='fast'"):
            receptive_field([conv(3)], method="fast")
        with pytest.raises(ValueError, match=r"layer 1: input_shape is too small: the dilated "
                                             r"kernel is larger"):
            receptive_field([conv(3), conv(5)], (6,))
        with pytest.raises(ValueError, match=r"input_shape\[0\] must be >= 1"):
            receptive_field([conv(3)], (0,))
