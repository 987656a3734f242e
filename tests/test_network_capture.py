"""capture(): the captured graph against the framework's own shapes, weights and outputs.

* torch: every module node's output shape equals what a forward hook sees,
  and the outputs are the model's outputs;
* ONNX: every node's shape equals what ``onnx.reference.ReferenceEvaluator``
  computes for that tensor;
* the capture of a torch model equals the capture of its ONNX export node for
  node (kinds, shapes, geometry exactly; weights to float32 rounding);
* every unsupported operator is a named error.
"""

import io
import math
import re
import warnings

import numpy as np
import pytest

from convtheory import nn as cnn
from convtheory.network.onnx_capture import onnx_auto_pad
from convtheory.network import INPUT, NetworkGraph, Node, UnsupportedOperatorError, capture
from convtheory.network.activations import activation_lipschitz

from .conftest import requires_torch, torch

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnx.reference import ReferenceEvaluator
except ImportError:  # pragma: no cover - CI installs onnx
    onnx = None

requires_onnx = pytest.mark.skipif(onnx is None, reason="onnx is not importable")
CAPTURED = ("pnet", "rnet", "onet", "resnet18", "vgg11", "alexnet", "mobilenet_v2", "small_unet")


@pytest.fixture(scope="module")
def models():
    from . import network_models
    return network_models


def export(model, input_shape, **options):
    """``torch.onnx.export`` (TorchScript exporter) to a ModelProto; BatchNorm is kept.

    The legacy exporter warns that it is deprecated, and that PRESERVE with constant
    folding could fold a model in training mode; ours is in eval mode.  Those two
    warnings are expected here only.
    """
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", "It is recommended that constant folding be turned "
                                          "off", UserWarning)
        torch.onnx.export(model, (torch.zeros((1,) + input_shape),), buffer, dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE, **options)
    return onnx.load_from_string(buffer.getvalue())


def module_path(name, modules):
    """The module a captured node came from (a second call is suffixed ``_1``), or None."""
    if name in modules:
        return name
    base, _, k = name.rpartition("_")
    return base if k.isdigit() and base in modules else None


# --------------------------------------------------------------------------
# torch
# --------------------------------------------------------------------------
@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("name", CAPTURED)
def test_torch_shapes_equal_forward_hooks(models, name):
    factory, shape = models.MODELS[name]
    model = factory()
    seen = []
    modules = dict(model.named_modules())
    leaves = {p: m for p, m in modules.items() if not list(m.children())}
    hooks = [m.register_forward_hook(lambda m, i, o, p=p: seen.append((p, tuple(o.shape[1:]))))
             for p, m in leaves.items()]
    with torch.no_grad():
        out = model(torch.randn((1,) + shape, generator=torch.Generator().manual_seed(0)))
    for h in hooks:
        h.remove()
    graph = capture(model, shape)
    captured = [(module_path(n.name, leaves), n.output_shape) for n in graph
                if module_path(n.name, leaves) is not None]
    assert captured == seen and len(seen) > 0
    # Each input shape is the shape its producer outputs; the outputs are the model's.
    produced = {INPUT: shape, **{n.name: n.output_shape for n in graph}}
    for n in graph:
        assert n.input_shapes == tuple(produced[i] for i in n.inputs), n.name
    out = out if isinstance(out, tuple) else (out,)
    assert [graph[o].output_shape for o in graph.outputs] == [tuple(t.shape[1:]) for t in out]
    assert model.training is False and graph.source == "torch"


@requires_torch
@pytest.mark.torch
def test_torch_attributes_are_the_modules(models):
    model = models.resnet18()
    graph = capture(model, (3, 64, 64))
    conv, bn = model.layer2[0].conv1, model.layer2[0].bn1
    node = graph["layer2.0.conv1"]
    assert node.kind == "conv" and node.attrs["stride"] == (2, 2)
    assert node.attrs["padding"] == ((1, 1), (1, 1)) and node.attrs["groups"] == 1
    assert np.array_equal(node.attrs["weight"], conv.weight.detach().double().numpy())
    assert node.attrs["bias"] is None and node.attrs["weight"].dtype == np.float64
    # BatchNorm in eval mode is the affine map scale*x + shift, per channel.
    x = torch.randn(1, 128, 5, 5, dtype=torch.float64)
    a = graph["layer2.0.bn1"].attrs
    expected = bn.double()(x).detach().numpy()
    got = a["scale"][:, None, None] * x.numpy()[0] + a["shift"][:, None, None]
    assert np.allclose(got, expected[0], rtol=0, atol=1e-12)
    assert not np.allclose(a["scale"], 1)  # a real affine map, not the identity
    # The residual adds read the block's two branches; the second relu call is its own node.
    adds = [n for n in graph if n.kind == "add"]
    assert len(adds) == 8 and adds[1].inputs == ("layer1.1.bn2", "layer1.0.relu_1")
    assert graph["layer2.0.downsample.0"].attrs["stride"] == (2, 2)
    depthwise = capture(models.mobilenet_v2(), (3, 32, 32))["features.1.conv.0.0"]
    assert depthwise.attrs["groups"] == 32 and depthwise.attrs["weight"].shape == (32, 1, 3, 3)


@requires_torch
@pytest.mark.torch
def test_torch_activations_and_pools(models):
    graph = capture(models.pnet(), (3, 12, 12))
    prelu = graph["prelu1"].attrs
    slopes = models.pnet().prelu1.weight.detach().double().numpy()
    assert prelu["op"] == "prelu" and prelu["lipschitz"] == max(1.0, np.abs(slopes).max())
    assert graph["pool1"].attrs == dict(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0),
                                        dilation=(1, 1), ceil_mode=True)
    assert graph["softmax4_1"].attrs == {"op": "softmax", "lipschitz": 1.0}
    assert graph.outputs == ("conv4_2", "softmax4_1")
    model = torch.nn.Sequential(
        torch.nn.Conv1d(2, 4, 3, padding="same", padding_mode="circular"), torch.nn.ELU(2.0),
        torch.nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        torch.nn.ConvTranspose1d(4, 2, 3, stride=2, padding=1, output_padding=1),
        torch.nn.SiLU(), torch.nn.MaxPool1d(2, dilation=2), torch.nn.GELU(), torch.nn.Sigmoid(),
        torch.nn.AdaptiveMaxPool1d(3), torch.nn.Hardswish(), torch.nn.Flatten(),
        torch.nn.Linear(6, 3), torch.nn.Tanh(), torch.nn.ReLU6(), torch.nn.LeakyReLU(-3.0))
    g = capture(model, (2, 11))
    assert [n.kind for n in g] == ["conv", "activation", "avg_pool", "conv_transpose",
                                   "activation", "max_pool", "activation", "activation",
                                   "adaptive_max_pool", "activation", "flatten", "linear",
                                   "activation", "activation", "activation"]
    assert g["0"].attrs["padding_mode"] == "circular" and g["0"].attrs["padding"] == ((1, 1),)
    assert g["2"].attrs["count_include_pad"] is False and g["2"].attrs["ceil_mode"] is True
    assert g["3"].attrs["output_padding"] == (1,) and g["5"].attrs["dilation"] == (2,)
    assert [g[k].attrs["lipschitz"] for k in ("1", "7", "9", "12", "13", "14")] == \
        [2.0, 0.25, 1.5, 1.0, 1.0, 3.0]
    assert g["8"].attrs["output_size"] == (3,)


@requires_torch
@pytest.mark.torch
def test_torch_functional_nodes():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.b = torch.nn.Conv2d(3, 2, 1)

        def forward(self, x):
            y = torch.cat([torch.relu(self.a(x)), torch.nn.functional.relu(self.b(x))], dim=1)
            y = torch.add(y, torch.sigmoid(y))
            y = torch.nn.functional.adaptive_avg_pool2d(y, 1)
            return torch.softmax(y.view(y.size(0), -1), dim=1)

    g = capture(Net(), (3, 6, 6))
    assert [n.kind for n in g] == ["conv", "activation", "conv", "activation", "concat",
                                   "activation", "add", "adaptive_avg_pool", "flatten",
                                   "activation"]
    cat = [n for n in g if n.kind == "concat"][0]
    assert cat.output_shape == (6, 6, 6) and cat.input_shapes == ((4, 6, 6), (2, 6, 6))


# --------------------------------------------------------------------------
# ONNX, and torch against its ONNX export
# --------------------------------------------------------------------------
def reference_shapes(model, x):
    """Every tensor's shape as ReferenceEvaluator computes it (all tensors made outputs)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    names = [o for node in model.graph.node for o in node.output if o]
    del model.graph.output[:]
    model.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names)
    values = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x})
    return {n: v.shape[1:] for n, v in zip(names, values)}


@requires_torch
@requires_onnx
@pytest.mark.torch
@pytest.mark.parametrize("name", ["pnet", "rnet", "small_unet", "resnet18"])
def test_onnx_shapes_equal_reference_evaluator(models, name):
    factory, shape = models.MODELS[name]
    proto = export(factory(), shape)
    graph = capture(proto)
    shapes = reference_shapes(proto, np.zeros((1,) + shape, np.float32))
    tensor = {node.name: node.output[0] for node in proto.graph.node}
    checked = 0
    for n in graph:
        assert n.output_shape == shapes[tensor[n.name]], n.name
        checked += 1
    assert checked == len(graph) > 0 and graph.source == "onnx"


def without_identities(graph: NetworkGraph) -> NetworkGraph:
    """The graph with its identity nodes (Dropout in eval mode) bypassed: the ONNX
    exporter drops them."""
    source = {}
    nodes = []
    for n in graph:
        inputs = tuple(source.get(i, i) for i in n.inputs)
        if n.kind == "identity":
            source[n.name] = inputs[0]
        else:
            nodes.append(Node(n.name, n.kind, inputs, n.input_shapes, n.output_shape, n.attrs))
    return NetworkGraph(tuple(nodes), graph.input_shape,
                        tuple(source.get(o, o) for o in graph.outputs), graph.source)


def assert_same_graph(a: NetworkGraph, b: NetworkGraph):
    """Node for node: kinds, shapes, geometry exactly; weights to float32 rounding.

    Identity nodes are not compared: the ONNX exporter drops Dropout.
    """
    a, b = without_identities(a), without_identities(b)
    assert len(a) == len(b) and a.input_shape == b.input_shape
    index_a = {INPUT: -1, **{n.name: i for i, n in enumerate(a)}}
    index_b = {INPUT: -1, **{n.name: i for i, n in enumerate(b)}}
    for x, y in zip(a, b):
        assert (x.kind, x.input_shapes, x.output_shape) == (y.kind, y.input_shapes, y.output_shape)
        assert [index_a[i] for i in x.inputs] == [index_b[i] for i in y.inputs], x.name
        assert sorted(x.attrs) == sorted(y.attrs), x.name
        for key, u in x.attrs.items():
            v = y.attrs[key]
            if isinstance(u, np.ndarray) or isinstance(v, np.ndarray):
                u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
                assert u.shape == v.shape, (x.name, key)
                # float32 weights, rescaled in float64 on both sides: a few ulps of float32.
                assert np.allclose(u, v, rtol=1e-6, atol=1e-6 * np.abs(u).max()), (x.name, key)
            else:
                assert u == v or (isinstance(u, float) and math.isclose(u, v, rel_tol=1e-6)), \
                    (x.name, key, u, v)
    assert [index_a[o] for o in a.outputs] == [index_b[o] for o in b.outputs]


@requires_torch
@requires_onnx
@pytest.mark.torch
@pytest.mark.parametrize("name", ["pnet", "rnet", "onet", "resnet18", "small_unet",
                                  "mobilenet_v2"])
def test_torch_capture_equals_onnx_export(models, name, tmp_path):
    factory, shape = models.MODELS[name]
    model = factory()
    proto = export(model, shape)
    ours = capture(model, shape)
    assert_same_graph(ours, capture(proto))
    path = tmp_path / "model.onnx"
    onnx.save(proto, path)
    assert_same_graph(ours, capture(str(path)))
    # A different input size is propagated through ONNX shape inference as through torch.
    bigger = (shape[0],) + tuple(2 * n for n in shape[1:])
    if name in ("pnet", "small_unet"):
        assert_same_graph(capture(model, bigger), capture(path, bigger))


@requires_torch
@requires_onnx
@pytest.mark.torch
def test_activations_and_pools_round_trip_through_onnx():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1, dilation=1), torch.nn.ELU(1.5), torch.nn.Hardswish(),
        torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        torch.nn.Softplus(), torch.nn.Hardtanh(-2.0, 2.0), torch.nn.ReLU6(),
        torch.nn.Conv2d(4, 4, 3, groups=2, stride=2, padding=(1, 2)), torch.nn.Sigmoid(),
        torch.nn.MaxPool2d(2, 1, padding=1, dilation=2), torch.nn.Tanh(),
        torch.nn.LeakyReLU(0.2), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Dropout(), torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1)).eval()
    ours = capture(model, (2, 9, 9))
    theirs = capture(export(model, (2, 9, 9)))
    assert_same_graph(ours, theirs)
    assert [n.attrs["op"] for n in theirs if n.kind == "activation"] == [
        "elu", "hardswish", "softplus", "hardtanh", "relu6", "sigmoid", "tanh", "leaky_relu",
        "softmax"]


@requires_torch
@requires_onnx
@pytest.mark.torch
def test_the_comparison_can_fail(models):
    model = models.pnet()
    proto = export(model, (3, 12, 12))
    with torch.no_grad():
        model.conv2.weight[0, 0, 0, 0] += 1e-3
    with pytest.raises(AssertionError):
        assert_same_graph(capture(model, (3, 12, 12)), capture(proto))
    model = models.pnet()
    model.pool1.ceil_mode = False
    with pytest.raises(AssertionError):
        assert_same_graph(capture(model, (3, 12, 12)), capture(proto))


@requires_onnx
def test_onnx_hand_built_graph():
    """auto_pad, Constant, Reshape, MatMul+Add, Gemm, GlobalAveragePool, Concat, AveragePool."""
    rng = np.random.default_rng(283592436523456)
    w1 = rng.standard_normal((3, 2, 4, 4)).astype(np.float32)
    w2 = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    m = rng.standard_normal((5, 4)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    g = rng.standard_normal((3, 4)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="up", auto_pad="SAME_UPPER",
                         strides=[2, 2]),
        helper.make_node("Conv", ["x", "w2"], ["c2"], name="low", auto_pad="SAME_LOWER",
                         strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Concat", ["r1", "c2"], ["cat"], name="cat", axis=1),
        helper.make_node("AveragePool", ["cat"], ["ap"], name="ap", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["ap"], ["gap"], name="gap"),
        helper.make_node("Constant", [], ["shape"], name="shape",
                         value=numpy_helper.from_array(np.array([1, -1], np.int64))),
        helper.make_node("Reshape", ["gap", "shape"], ["flat"], name="flat"),
        helper.make_node("MatMul", ["flat", "m"], ["mm"], name="mm"),
        helper.make_node("Add", ["mm", "bias"], ["lin"], name="bias"),
        helper.make_node("Gemm", ["lin", "g"], ["y"], name="gemm", transB=1, alpha=2.0),
    ]
    proto = helper.make_model(helper.make_graph(
        nodes, "hand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 7, 7])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (w2, "w2"), (m, "m"),
                                                    (bias, "bias"), (g, "g"))]),
        opset_imports=[helper.make_opsetid("", 17)])
    graph = capture(proto)
    assert [n.kind for n in graph] == ["conv", "conv", "activation", "concat", "avg_pool",
                                       "adaptive_avg_pool", "flatten", "linear", "linear"]
    # auto_pad resolved with the input size: output ceil(7/2) = 4, total pad 3 / 2.
    assert graph["up"].attrs["padding"] == ((1, 2), (1, 2))
    assert graph["low"].attrs["padding"] == ((1, 1), (1, 1))
    assert graph["ap"].attrs["count_include_pad"] is False  # ONNX's default
    assert np.array_equal(graph["mm"].attrs["weight"], m.T.astype(np.float64))
    assert np.array_equal(graph["mm"].attrs["bias"], bias.astype(np.float64))
    assert np.array_equal(graph["gemm"].attrs["weight"], 2.0 * g.astype(np.float64))
    assert graph.outputs == ("gemm",)
    shapes = reference_shapes(proto, np.zeros((1, 2, 7, 7), np.float32))
    for n in graph:
        out = {"mm": "lin"}.get(n.name, {nd.name: nd.output[0] for nd in nodes}[n.name])
        assert n.output_shape == shapes[out], n.name


@requires_torch
@requires_onnx
@pytest.mark.torch
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("n,k,s,d", [(7, 4, 2, 1), (8, 3, 3, 1), (5, 2, 1, 2), (6, 5, 2, 1)])
def test_onnx_auto_pad_against_reference_evaluator(auto_pad, n, k, s, d):
    """The resolved pairs, applied by torch, reproduce ONNX's own Conv output."""
    rng = np.random.default_rng(283592436523456)
    x = rng.standard_normal((1, 1, n, n))
    w = rng.standard_normal((1, 1, k, k))
    node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=auto_pad, strides=[s, s],
                            dilations=[d, d])
    proto = helper.make_model(helper.make_graph(
        [node], "c", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(w, "w")]), opset_imports=[helper.make_opsetid("", 17)])
    (expected,) = ReferenceEvaluator(proto).run(None, {"x": x})
    pairs = onnx_auto_pad(auto_pad, (n, n), (k, k), stride=s, dilation=d)
    padded = torch.nn.functional.pad(torch.from_numpy(x), [v for p in reversed(pairs) for v in p])
    got = torch.nn.functional.conv2d(padded, torch.from_numpy(w), stride=s, dilation=d).numpy()
    assert got.shape == expected.shape and np.allclose(got, expected, rtol=0, atol=1e-12)
    assert capture(proto).nodes[0].attrs["padding"] == pairs


def test_onnx_auto_pad_rejects_unknown_modes():
    with pytest.raises(ValueError, match=r"auto_pad must be one of .*got auto_pad='SAME'"):
        onnx_auto_pad("SAME", (5,), (3,))


# --------------------------------------------------------------------------
# Unsupported operators are named errors
# --------------------------------------------------------------------------
def unsupported(node, op):
    return rf"node '{re.escape(node)}' is a '{re.escape(op)}', which the network analysis " \
           rf"does not support; supported: .*Conv2d.*"


@requires_torch
@pytest.mark.torch
def test_torch_unsupported_operators_are_named():
    class WithLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(2, 4, 3)
            self.lstm = torch.nn.LSTM(7, 4)

        def forward(self, x):
            return self.lstm(self.conv(x))[0]

    class WithEinsum(torch.nn.Module):
        def forward(self, x):
            return torch.einsum("nchw->nhwc", x)

    class SpatialSoftmax(torch.nn.Module):
        def forward(self, x):
            return torch.softmax(x, dim=2)

    class SpatialLinear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(5, 5)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(UnsupportedOperatorError, match=unsupported("lstm", "LSTM")):
        capture(WithLSTM(), (2, 9))
    with pytest.raises(UnsupportedOperatorError, match=unsupported("einsum", "einsum")):
        capture(WithEinsum(), (3, 4, 5))
    with pytest.raises(UnsupportedOperatorError, match=r"'softmax' is a 'softmax\(dim=2\)'.*"
                                                       r"channel axis"):
        capture(SpatialSoftmax(), (3, 4, 5))
    with pytest.raises(UnsupportedOperatorError, match=r"'fc' is a 'Linear'.*flatten first"):
        capture(SpatialLinear(), (3, 4, 5))
    class Viewer(torch.nn.Module):
        def forward(self, x):
            return x.view(x.size(0), x.size(1), -1)

    with pytest.raises(UnsupportedOperatorError, match=r"'view' is a 'view'.*\(N, -1\)"):
        capture(Viewer(), (3, 4, 5))
    with pytest.raises(UnsupportedOperatorError, match=r"'0' is a 'BatchNorm2d'.*batch "
                                                       r"statistics"):
        capture(torch.nn.Sequential(torch.nn.BatchNorm2d(3, track_running_stats=False)),
                (3, 4, 4))


@requires_torch
@requires_onnx
@pytest.mark.torch
def test_onnx_unsupported_operators_are_named():
    node = helper.make_node("Sin", ["x"], ["y"], name="wave")
    proto = helper.make_model(helper.make_graph(
        [node], "s", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 3])]))
    with pytest.raises(UnsupportedOperatorError, match=r"node 'wave' is a 'Sin', which the "
                                                       r"network analysis does not support; "
                                                       r"supported: Conv, ConvTranspose"):
        capture(proto)

    class WithEinsum(torch.nn.Module):
        def forward(self, x):
            return torch.einsum("ncl,ndl->ncd", x, x)

    with pytest.raises(UnsupportedOperatorError, match=r"node '/Einsum' is a 'Einsum'"):
        capture(export(WithEinsum(), (3, 4)))


def test_bad_models_and_shapes():
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module, a path to an .onnx "
                                        r"file, an onnx.ModelProto or a convtheory.nn module, "
                                        r"got list"):
        capture([cnn.ReLU()], (1, 4))
    with pytest.raises(ValueError, match=r"input_shape is required: \(C, n1, ..., nd\)"):
        capture(cnn.ReLU())
    with pytest.raises(ValueError, match=r"layer 0 \(Conv2d\) does not run on input shape "
                                        r"\(2, 8, 8\)"):
        capture(cnn.Sequential(cnn.Conv2d(1, 2, 3)), (2, 8, 8))
    with pytest.raises(UnsupportedOperatorError, match=r"node '1' is a 'Sequential'"):
        capture(cnn.Sequential(cnn.ReLU(), cnn.Sequential(cnn.ReLU())), (1, 4))
    with pytest.raises(UnsupportedOperatorError, match=r"node '0' is a 'Flatten'.*only a flatten "
                                                       r"to \(N, -1\), got \(2, 12\)"):
        capture(cnn.Sequential(cnn.Flatten(start_dim=2)), (2, 3, 4))


@requires_onnx
def test_missing_onnx_file(tmp_path):
    with pytest.raises(ValueError, match=r"model='.*absent.onnx': no such ONNX file"):
        capture(str(tmp_path / "absent.onnx"))


@requires_onnx
def test_unreadable_onnx_file(tmp_path):
    # protobuf's DecodeError is no ValueError: it escaped the CLI as a traceback (exit 1).
    (tmp_path / "corrupt.onnx").write_text("not a protobuf\n")
    with pytest.raises(ValueError, match=r"model='.*corrupt.onnx': cannot read the ONNX file "
                                         r"\(DecodeError: "):
        capture(str(tmp_path / "corrupt.onnx"))


@requires_torch
@pytest.mark.torch
def test_torch_model_that_does_not_run_prints_no_traceback(capsys):
    # torch.fx's ShapeProp prints the model's traceback to stderr before it re-raises;
    # the ValueError already names the cause, and the CLI promises one line, no traceback.
    with pytest.raises(ValueError, match=r"the model does not run on input_shape=\(2, 8, 8\)"):
        capture(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)), (2, 8, 8))
    assert capsys.readouterr().err == ""
    capture(torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU()), (2, 8, 8))
    assert capsys.readouterr().err == ""


@requires_torch
@pytest.mark.torch
def test_torch_model_that_does_not_run_or_trace():
    with pytest.raises(ValueError, match=r"the model does not run on input_shape=\(2, 8, 8\) "
                                         r"\(RuntimeError: .*expected input.* to have 3 channels"):
        capture(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)), (2, 8, 8))

    class Branchy(torch.nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(ValueError, match=r"torch.fx could not trace the model \(TraceError: .*"
                                         r"without data-dependent control flow"):
        capture(Branchy(), (1, 4))


# --------------------------------------------------------------------------
# convtheory.nn
# --------------------------------------------------------------------------
def test_convtheory_nn_capture_matches_its_forward():
    net = cnn.Sequential(cnn.Conv1d(2, 3, 3, padding="same", seed=0), cnn.ReLU(),
                         cnn.AvgPool1d(2), cnn.Flatten(), cnn.Linear(12, 2, seed=1))
    graph = capture(net, (2, 8))
    x = np.zeros((1, 2, 8))
    for layer, node in zip(net, graph):
        x = layer(x)
        assert node.output_shape == x.shape[1:]
    assert np.array_equal(graph["0"].attrs["weight"], net[0].weight.data)
    assert graph["0"].attrs["padding"] == ((1, 1),) and graph.source == "convtheory"
    assert graph["2"].attrs["count_include_pad"] is True
    single = capture(cnn.Conv2d(1, 1, 3, seed=0), (1, 5, 5))
    assert len(single) == 1 and single.outputs == ("0",)


# --------------------------------------------------------------------------
# MTCNN's dense layers read a permuted flatten in facenet-pytorch
# --------------------------------------------------------------------------
@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("name,dense,size,channels", [("rnet", "dense4", 24, 64),
                                                       ("onet", "dense5", 48, 128)])
def test_mtcnn_flatten_reordering_is_the_same_function(models, name, dense, size, channels):
    model = getattr(models, name)()
    original = models.facenet_weights(name)
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = {}
        hook = getattr(model, dense).register_forward_hook(
            lambda m, i, o: features.update(flat=i[0]))
        model(x)
        hook.remove()
        # facenet-pytorch: x.permute(0, 3, 2, 1).contiguous().view(N, -1) @ W.T + b
        spatial = features["flat"].reshape(2, channels, 3, 3)
        permuted = spatial.permute(0, 3, 2, 1).reshape(2, -1)
        theirs = permuted @ original[f"{dense}.weight"].T + original[f"{dense}.bias"]
        ours = getattr(model, dense)(features["flat"])
    assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(features["flat"] @ original[f"{dense}.weight"].T, theirs - original[
        f"{dense}.bias"], atol=1e-3)  # the reordering matters


# --------------------------------------------------------------------------
# Lipschitz constants of activations
# --------------------------------------------------------------------------
@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("op,module", [
    ("gelu", "GELU()"), ("silu", "SiLU()"), ("sigmoid", "Sigmoid()"), ("tanh", "Tanh()"),
    ("hardswish", "Hardswish()"), ("hardsigmoid", "Hardsigmoid()"), ("relu6", "ReLU6()"),
    ("softplus", "Softplus()")])
def test_lipschitz_constants_are_the_largest_slope(op, module):
    """The constant is sup |f'|: autograd's largest slope on a fine grid reaches it."""
    f = eval(f"torch.nn.{module}")  # noqa: S307 - a fixed list of module constructors
    # Step 1e-5 near a smooth maximum: the grid misses it by ~1e-10; softplus's slope tends
    # to 1 only as x grows, hence the far points.
    x = torch.cat([torch.linspace(-8, 8, 1_600_001, dtype=torch.float64),
                   torch.tensor([-60.0, 60.0], dtype=torch.float64)]).requires_grad_()
    (slope,) = torch.autograd.grad(f(x).sum(), x)
    largest = slope.abs().max().item()
    constant = activation_lipschitz(op)
    # torch's hardsigmoid multiplies by the float32 1/6: one float32 ulp above the true slope.
    assert largest <= constant * (1 + 1e-7)
    assert largest >= constant - 1e-9


def test_parametric_lipschitz_and_bad_parameters():
    assert activation_lipschitz("leaky_relu", 0.01) == 1.0
    assert activation_lipschitz("leaky_relu", -3.0) == 3.0
    assert activation_lipschitz("elu", 2.5) == 2.5 and activation_lipschitz("elu", 0.5) == 1.0
    with pytest.raises(ValueError, match=r"activation 'prelu' needs a finite parameter, got "
                                        r"\[0.1, nan\]"):
        activation_lipschitz("prelu", [0.1, float("nan")])
    with pytest.raises(ValueError, match=r"activation 'elu' needs a finite parameter, got None"):
        activation_lipschitz("elu")
    with pytest.raises(ValueError, match=r"op must be one of .*got op='swish'"):
        activation_lipschitz("swish")


@requires_onnx
def test_onnx_symbolic_shapes_need_input_shape():
    rng = np.random.default_rng(283592436523456)
    w = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    proto = helper.make_model(helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, "H", "W"])],
        [numpy_helper.from_array(w, "w")]), opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match=r"the ONNX input 'x' has no static shape; pass "
                                         r"input_shape"):
        capture(proto)
    graph = capture(proto, (1, 5, 7))
    assert graph.input_shape == (1, 5, 7) and graph["conv"].output_shape == (2, 5, 7)
    assert graph["conv"].attrs["padding"] == ((1, 1), (1, 1))


def test_missing_framework_names_the_extra(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"needs onnx: pip install convtheory\[onnx\]"):
        capture(str(tmp_path / "model.onnx"))


# --------------------------------------------------------------------------
# An ONNX Pad before a Conv is the conv's padding
# --------------------------------------------------------------------------
def assert_conv_is_the_reference(proto, graph, b, x):
    """The captured single conv's operator plus its bias equals ONNX's own output for
    ``x`` (the reference evaluator, float64) to 1e-12."""
    from convtheory.network import analyze_network
    (expected,) = ReferenceEvaluator(proto).run(None, {"x": x})
    (layer,) = analyze_network(graph, spectra=False, equivariance=False).layers
    assert graph.nodes[0].output_shape == expected.shape[1:]
    got = (layer.operator() @ x.ravel()).reshape(expected.shape[1:]) + b[:, None, None]
    assert np.allclose(got, expected[0], rtol=0, atol=1e-12)


def _pad_conv_model(mode, pads, conv_pads=(0, 0, 0, 0), value=None, extra=None):
    """float64 x (1, 2, 6, 7) -> Pad(mode, pads [, value]) -> Conv(w 3 x 2 x 3 x 2) [-> extra]."""
    rng = np.random.default_rng(7)
    w, b = rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
             numpy_helper.from_array(np.array(pads, dtype=np.int64), "pads")]
    pad_inputs = ["x", "pads"]
    if value is not None:
        inits.append(numpy_helper.from_array(np.array(value, dtype=np.float64), "value"))
        pad_inputs.append("value")
    nodes = [helper.make_node("Pad", pad_inputs, ["p"], mode=mode, name="pad"),
             helper.make_node("Conv", ["p", "w", "b"], ["y"], pads=list(conv_pads), name="conv")]
    out = "y"
    if extra is not None:
        nodes.append(helper.make_node(extra, ["p"], ["z"], name="other"))
        out = "z"
    proto = helper.make_model(helper.make_graph(
        nodes, "padconv", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 2, 6, 7])],
        [helper.make_tensor_value_info(out, TensorProto.DOUBLE, None)], inits),
        opset_imports=[helper.make_opsetid("", 18)])
    return proto, w, b


@requires_onnx
@pytest.mark.parametrize("mode, padding_mode", [("reflect", "reflect"), ("edge", "replicate"),
                                                ("wrap", "circular"), ("constant", "zeros")])
def test_an_onnx_pad_into_a_conv_is_its_padding(mode, padding_mode):
    """Uneven pads of every Pad mode: the captured conv's operator reproduces ONNX's own
    Pad + Conv (the reference evaluator, float64) to 1e-12."""
    pads = [0, 0, 1, 2, 0, 0, 2, 1]  # begins then ends over (N, C, H, W)
    proto, w, b = _pad_conv_model(mode, pads)
    graph = capture(proto)
    (conv,) = graph.nodes
    assert conv.kind == "conv" and conv.inputs == (INPUT,) and conv.input_shapes == ((2, 6, 7),)
    assert conv.attrs["padding"] == ((1, 2), (2, 1)) and conv.attrs["padding_mode"] == padding_mode
    assert_conv_is_the_reference(proto, graph, b, np.random.default_rng(8).standard_normal(
        (1, 2, 6, 7)))


@requires_onnx
def test_a_zero_pad_adds_to_the_convs_own_pads():
    proto, _, _ = _pad_conv_model("constant", [0, 0, 1, 0, 0, 0, 0, 2], conv_pads=(1, 1, 1, 1),
                                  value=0.0)
    assert capture(proto).nodes[0].attrs["padding"] == ((2, 1), (1, 3))


@requires_onnx
@pytest.mark.parametrize("kwargs, why", [
    (dict(mode="reflect", pads=[0, 0, 1, 1, 0, 0, 1, 1], extra="Relu"),
     r"its output feeds \['Conv', 'Relu'\], not one Conv alone"),
    (dict(mode="constant", pads=[0, 0, 1, 1, 0, 0, 1, 1], value=1.0),
     r"a constant value of 1\.0 \(only 0 is a conv's padding\)"),
    (dict(mode="reflect", pads=[0, 1, 1, 1, 0, 0, 1, 1]),
     r"pads \[0, 1, 1, 1, 0, 0, 1, 1\] that are not on the spatial axes"),
    (dict(mode="edge", pads=[0, 0, -1, 1, 0, 0, 1, 1]), r"negative pads"),
])
def test_a_pad_that_is_not_a_convs_padding_is_refused_by_name(kwargs, why):
    proto, _, _ = _pad_conv_model(**kwargs)
    with pytest.raises(UnsupportedOperatorError,
                       match=r"node 'pad' is a 'Pad\(mode=\w+\)'.*only a Pad into a Conv, got "
                             + why):
        capture(proto)


@requires_onnx
def test_a_reflect_pad_before_a_zero_padded_conv_is_refused():
    proto, _, _ = _pad_conv_model("reflect", [0, 0, 1, 1, 0, 0, 1, 1], conv_pads=(1, 1, 1, 1))
    with pytest.raises(UnsupportedOperatorError,
                       match=r"node 'conv' is a 'Conv'.*zero pads \(\(1, 1\), \(1, 1\)\) of its "
                             r"own after a reflect Pad"):
        capture(proto)


@requires_torch
@requires_onnx
@pytest.mark.torch
@pytest.mark.parametrize("padding_mode", ["reflect", "replicate"])
@pytest.mark.parametrize("folding", [True, False], ids=["torch-folds", "torch-does-not-fold"])
# torch's exporter says it cannot fold the slices of its own pads computation (it folds them
# only partly); the capture folds what is left.
@pytest.mark.filterwarnings("ignore:Constant folding - Only steps=1:UserWarning")
def test_reflect_and_replicate_convs_round_trip_through_onnx(padding_mode, folding):
    """torch exports them as a Pad (its pads computed by constant subgraphs) and a Conv:
    the capture equals the torch model's, node for node.  Without torch's constant folding
    the subgraph starts from the Shape of a constant, which is a constant too."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1, padding_mode=padding_mode), torch.nn.ReLU(),
        torch.nn.Conv2d(4, 2, (3, 5), stride=2, padding=(1, 2), padding_mode=padding_mode)).eval()
    proto = export(model, (3, 9, 10), do_constant_folding=folding)
    assert ("Shape" in {n.op_type for n in proto.graph.node}) == (not folding)
    theirs = capture(proto)
    assert_same_graph(capture(model, (3, 9, 10)), theirs)
    assert [n.attrs["padding_mode"] for n in theirs if n.kind == "conv"] == [padding_mode] * 2


@requires_torch
@requires_onnx
@pytest.mark.torch
def test_a_circular_conv_exported_as_slices_is_refused_by_name():
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"))
    with pytest.raises(UnsupportedOperatorError, match=r"node '/0/Slice' is a 'Slice'"):
        capture(export(model.eval(), (2, 6, 6)))


@requires_onnx
def test_constant_shape_arithmetic_is_folded_and_only_that():
    """A Pad's pads computed from constants (Concat, Cast) are read as numbers, and a
    weight scaled by a constant (Mul) is the product; a Squeeze with the old axes
    attribute (which the reference evaluator ignores) is not folded but refused by name."""
    rng = np.random.default_rng(9)
    w = rng.standard_normal((2, 1, 3, 3))
    lo = numpy_helper.from_array(np.array([0, 0, 1, 2], np.int32), "lo")
    hi = numpy_helper.from_array(np.array([0, 0, 2, 1], np.int32), "hi")
    nodes = [helper.make_node("Concat", ["lo", "hi"], ["p32"], axis=0),
             helper.make_node("Cast", ["p32"], ["pads"], to=TensorProto.INT64),
             helper.make_node("Mul", ["w0", "two"], ["w"]),
             helper.make_node("Pad", ["x", "pads"], ["p"], mode="edge", name="pad"),
             helper.make_node("Conv", ["p", "w"], ["y"], name="conv")]
    proto = helper.make_model(helper.make_graph(
        nodes, "folded", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [lo, hi, numpy_helper.from_array(w, "w0"), numpy_helper.from_array(np.array(2.0), "two")]),
        opset_imports=[helper.make_opsetid("", 18)])
    (conv,) = capture(proto).nodes
    assert conv.attrs["padding"] == ((1, 2), (2, 1)) and conv.attrs["padding_mode"] == "replicate"
    assert np.array_equal(conv.attrs["weight"], 2.0 * w)
    squeeze = helper.make_model(helper.make_graph(
        [helper.make_node("Squeeze", ["c"], ["s"], axes=[0]),
         helper.make_node("Add", ["x", "s"], ["y"], name="add")], "sq",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(np.zeros((1, 1, 4)), "c")]),
        opset_imports=[helper.make_opsetid("", 11)])
    with pytest.raises(UnsupportedOperatorError, match=r"is a 'Squeeze'"):
        capture(squeeze)


@requires_onnx
@pytest.mark.parametrize("opset", [2, 10])
def test_a_pad_with_the_old_value_attribute_is_read(opset):
    """Before opset 11 a Pad's pads and constant value are attributes: a value of 1.5 is not a
    conv's zero padding and is refused; a value of 0 is the conv's padding, whose operator
    reproduces ONNX's own Pad + Conv."""
    rng = np.random.default_rng(11)
    w, b = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)

    def proto(value):
        nodes = [helper.make_node("Pad", ["x"], ["p"], mode="constant",
                                  pads=[0, 0, 1, 2, 0, 0, 2, 1], value=value, name="pad"),
                 helper.make_node("Conv", ["p", "w", "b"], ["y"], name="conv")]
        return helper.make_model(helper.make_graph(
            nodes, "oldpad",
            [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 2, 5, 5])],
            [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
            [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]),
            opset_imports=[helper.make_opsetid("", opset)])

    with pytest.raises(UnsupportedOperatorError,
                       match=r"node 'pad' is a 'Pad\(mode=constant\)'.*a constant value of 1\.5 "
                             r"\(only 0 is a conv's padding\)"):
        capture(proto(1.5))
    graph = capture(proto(0.0))
    assert graph.nodes[0].attrs["padding"] == ((1, 2), (2, 1))
    assert_conv_is_the_reference(proto(0.0), graph, b, rng.standard_normal((1, 2, 5, 5)))


@requires_onnx
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_a_convs_auto_pad_after_a_pad_is_resolved_on_the_padded_input(auto_pad):
    """ONNX resolves a Conv's auto_pad with the size of its input, which is the Pad's output:
    with stride 2 the SAME padding of a 7 + 1 wide input differs from that of a 7 wide one."""
    rng = np.random.default_rng(12)
    w, b = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], mode="constant", name="pad"),
             helper.make_node("Conv", ["p", "w", "b"], ["y"], auto_pad=auto_pad, strides=[2, 2],
                              name="conv")]
    proto = helper.make_model(helper.make_graph(
        nodes, "autopad", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 2, 7, 6])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
         numpy_helper.from_array(np.array([0, 0, 1, 0, 0, 0, 0, 0], np.int64), "pads")]),
        opset_imports=[helper.make_opsetid("", 18)])
    graph = capture(proto)
    assert_conv_is_the_reference(proto, graph, b, rng.standard_normal((1, 2, 7, 6)))


@requires_onnx
def test_arithmetic_with_the_legacy_broadcast_is_not_folded():
    """Before opset 7, Add/Sub/Mul/Div broadcast B from ``axis`` (``broadcast=1``), which the
    reference evaluator ignores (it broadcasts from the last axis as numpy does): a weight
    scaled per output channel at opset 6 would be scaled per column.  Such a node is refused
    by name; at opset 7 the same scale, numpy-broadcast, is folded."""
    rng = np.random.default_rng(13)
    w0, scale = rng.standard_normal((3, 3, 3, 3)), np.array([1.0, 10.0, 100.0])

    def proto(opset):
        kw, s = ((dict(broadcast=1, axis=0), scale) if opset < 7
                 else ({}, scale[:, None, None, None]))
        nodes = [helper.make_node("Mul", ["w0", "s"], ["w"], name="scale", **kw),
                 helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
        return helper.make_model(helper.make_graph(
            nodes, "legacy",
            [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 3, 5, 5])],
            [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
            [numpy_helper.from_array(w0, "w0"), numpy_helper.from_array(s, "s")]),
            opset_imports=[helper.make_opsetid("", opset)])

    with pytest.raises(UnsupportedOperatorError, match=r"node 'scale' is a 'Mul'"):
        capture(proto(6))
    (conv,) = capture(proto(7)).nodes
    assert np.array_equal(conv.attrs["weight"], w0 * scale[:, None, None, None])


@requires_onnx
def test_a_pad_whose_constant_value_is_computed_is_refused():
    """A constant_value computed from the activation (here its maximum) is not a conv's
    zero padding: it is refused, not read as 0."""
    w = np.random.default_rng(14).standard_normal((3, 1, 3, 3))
    nodes = [helper.make_node("GlobalMaxPool", ["x"], ["g"], name="max"),
             helper.make_node("Flatten", ["g"], ["v"], name="flat"),
             helper.make_node("Pad", ["x", "pads", "v"], ["p"], mode="constant", name="pad"),
             helper.make_node("Conv", ["p", "w"], ["y"], name="conv")]
    proto = helper.make_model(helper.make_graph(
        nodes, "maxpad", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(w, "w"),
         numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")]),
        opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(UnsupportedOperatorError,
                       match=r"node 'pad' is a 'Pad'.*its constant value is not a constant"):
        capture(proto)


@requires_onnx
@pytest.mark.parametrize("op, inputs", [
    ("ConstantOfShape", [np.array([400, 400], np.int64)]),
    ("Range", [np.array(0.0), np.array(1.6e5), np.array(1.0)]),
    ("Add", [np.zeros((400, 1)), np.zeros((1, 400))]),  # broadcast: 400 x 400 from 800
])
def test_a_folded_constant_over_max_bytes_is_refused_before_it_is_made(op, inputs):
    """Evaluating constant shape arithmetic allocates its output: an estimate (8 bytes a
    value) is checked against max_bytes first, as for a torch model's input."""
    names = [f"c{i}" for i in range(len(inputs))]
    nodes = [helper.make_node(op, names, ["big"], name="big"),
             helper.make_node("Relu", ["x"], ["y"], name="relu")]
    proto = helper.make_model(helper.make_graph(
        nodes, "big", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(v, n) for v, n in zip(inputs, names)]),
        opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(ValueError, match=rf"evaluating the constant node 'big' \({op}\) would "
                                         r"need about .*pass a larger max_bytes"):
        capture(proto, max_bytes=2**20)
    assert [n.kind for n in capture(proto, max_bytes=2**21)] == ["activation"]


@requires_onnx
def test_unnamed_nodes_keep_their_labels_when_constants_are_folded():
    """An unnamed node is labelled by its operator and its index in the model: folding the
    nodes before it does not shift the label an error names."""
    nodes = [helper.make_node("Concat", ["lo", "hi"], ["pads"], axis=0),
             helper.make_node("Pad", ["x", "pads"], ["p"], mode="edge"),
             helper.make_node("Conv", ["p", "w"], ["c"]),
             helper.make_node("Sin", ["c"], ["y"])]
    proto = helper.make_model(helper.make_graph(
        nodes, "unnamed", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(np.array([0, 0, 1, 1], np.int64), "lo"),
         numpy_helper.from_array(np.array([0, 0, 1, 1], np.int64), "hi"),
         numpy_helper.from_array(np.ones((1, 1, 3, 3)), "w")]),
        opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(UnsupportedOperatorError, match=r"node 'Sin_3' is a 'Sin'"):
        capture(proto)
    proto.graph.node.pop()
    proto.graph.output[0].name = "c"
    assert [n.name for n in capture(proto)] == ["Conv_2"]


@requires_onnx
def test_a_pad_of_a_constant_is_refused_by_name():
    """A Pad of a weight is not a conv's padding; the refusal says so (input_shape would not
    help)."""
    nodes = [helper.make_node("Pad", ["w", "pads"], ["wp"], mode="constant", name="pad"),
             helper.make_node("Conv", ["x", "wp"], ["y"], name="conv")]
    proto = helper.make_model(helper.make_graph(
        nodes, "padw", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(np.ones((1, 1, 2, 2)), "w"),
         numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 0, 0], np.int64), "pads")]),
        opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(UnsupportedOperatorError,
                       match=r"node 'pad' is a 'Pad'.*only a Pad into a Conv, got a Pad of the "
                             r"constant 'w'"):
        capture(proto)


@requires_onnx
@pytest.mark.parametrize("mode", ["reflect", "edge", "wrap"])
def test_a_constant_value_is_ignored_outside_constant_mode(mode):
    """ONNX uses a Pad's constant_value in mode constant only: a reflect/edge/wrap Pad with a
    value of 1.5 is still the conv's padding, equal to the reference evaluator's."""
    proto, _, b = _pad_conv_model(mode, [0, 0, 1, 2, 0, 0, 2, 1], value=1.5)
    graph = capture(proto)
    assert_conv_is_the_reference(proto, graph, b, np.random.default_rng(15).standard_normal(
        (1, 2, 6, 7)))


@requires_onnx
def test_a_fold_that_numpy_warns_about_is_the_same_under_any_warning_filter():
    """A NaN cast to an integer warns in numpy: the fold happens all the same (pytest turns
    warnings into errors here), and the captured model does not depend on the filters."""
    from convtheory.network.onnx_fold import fold_constants
    proto = helper.make_model(helper.make_graph(
        [helper.make_node("Cast", ["c"], ["i"], to=TensorProto.INT64)], "cast",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1])],
        [helper.make_tensor_value_info("i", TensorProto.INT64, None)],
        [numpy_helper.from_array(np.array([np.nan, 1.0]), "c")]),
        opset_imports=[helper.make_opsetid("", 18)])
    folded = fold_constants(proto)
    assert [n.op_type for n in folded.graph.node] == []
    assert "i" in {t.name for t in folded.graph.initializer}


@requires_onnx
def test_constants_of_every_numeric_form_are_read_in_float64():
    """A bfloat16 initializer (raw bytes to numpy) and a Constant node's value_floats are
    weights like any other: float64 in the graph, equal to their values; value_ints give
    a Pad its pads; a string constant is refused by name."""
    w = np.array([[[[0.5, -1.25], [2.0, 0.75]]]])
    bias = [0.25, -0.5]
    nodes = [helper.make_node("Constant", [], ["pads"], value_ints=[0, 0, 1, 0, 0, 0, 0, 1]),
             helper.make_node("Constant", [], ["b"], value_floats=bias),
             helper.make_node("Pad", ["x", "pads"], ["p"], mode="reflect", name="pad"),
             helper.make_node("Conv", ["p", "w", "b"], ["y"], name="conv")]
    w2 = np.concatenate([w, -w])  # 2 output channels
    proto = helper.make_model(helper.make_graph(
        nodes, "forms", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("w", TensorProto.BFLOAT16, w2.shape, w2.ravel().tolist())]),
        opset_imports=[helper.make_opsetid("", 18)])
    (conv,) = capture(proto).nodes
    assert conv.attrs["weight"].dtype == np.float64 and np.array_equal(conv.attrs["weight"], w2)
    assert conv.attrs["bias"].dtype == np.float64 and conv.attrs["bias"].tolist() == bias
    assert conv.attrs["padding"] == ((1, 0), (0, 1)) and conv.attrs["padding_mode"] == "reflect"
    text = helper.make_model(helper.make_graph(
        [helper.make_node("Constant", [], ["s"], value_string="a", name="text"),
         helper.make_node("Relu", ["x"], ["y"])], "text",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]),
        opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(UnsupportedOperatorError,
                       match=r"node 'text' is a 'Constant'.*only numeric constants, got "
                             r"\['value_string'\]"):
        capture(text)
