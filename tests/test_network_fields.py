"""receptive_field of real models, through graph capture.

Each field is checked twice, independently of the closed form the code uses:
* against the value derived by hand from the architecture (and published by
  Araujo, Norris & Sim, Distill 2019, where they list it: AlexNet 195,
  MobileNet-v2 491; ResNet-18's 435 is the widely quoted value);
* against the gradient support of output units in torch, with every
  activation and BatchNorm made the identity, max pools replaced by average
  pools of the same geometry and positive weights, so that no gradient
  cancels: the input pixels with a nonzero gradient are exactly the field.
"""

import copy
import math

import numpy as np
import pytest

from convtheory import analyze_network, receptive_field
from convtheory.network import capture
from convtheory.network.fields import layer_dag

from .conftest import requires_torch, torch

try:
    import onnx  # noqa: F401
except ImportError:  # pragma: no cover - CI installs onnx
    onnx = None


@pytest.fixture(scope="module")
def models():
    from . import network_models
    return network_models


def by_hand(layers):
    """Araujo et al.'s recurrence over (dilated kernel extent, stride, low padding), input first."""
    size, jump, pad = 1, 1, 0
    for extent, stride, lo in layers:
        size, pad, jump = size + (extent - 1) * jump, pad + lo * jump, jump * stride
    return size, jump, pad


def conv3(stride=1):
    return (3, stride, 1)


def resnet18_layers():
    layers = [(7, 2, 3), (3, 2, 1)]                 # conv1, maxpool
    for stride in (1, 2, 2, 2):                      # layer1..4, two BasicBlocks each
        layers += [conv3(stride), conv3(), conv3(), conv3()]
    return layers


def vgg11_layers():
    layers = []
    for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
        layers.append((2, 2, 0) if v == "M" else conv3())
    return layers


ALEXNET = [(11, 4, 2), (3, 2, 0), (5, 1, 2), (3, 2, 0), conv3(), conv3(), conv3(), (3, 2, 0)]


def mobilenet_v2_layers():
    layers = [conv3(2)]                              # the stem; 1x1 convs add nothing
    for _, _, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        layers += [conv3(s)] + [conv3()] * (n - 1)   # one depthwise 3x3 per block
    return layers


PNET = [(3, 1, 0), (2, 2, 0), (3, 1, 0), (3, 1, 0), (1, 1, 0)]
RNET = [(3, 1, 0), (3, 2, 0), (3, 1, 0), (3, 2, 0), (2, 1, 0)]
ONET = [(3, 1, 0), (3, 2, 0), (3, 1, 0), (3, 2, 0), (3, 1, 0), (2, 2, 0), (2, 1, 0)]

#: name -> (hand-derived layers, published (size, jump) or None, the module ending the
#: spatial part, the captured node there when the adaptive pool after it is included
#: otherwise, the input size when the model runs on one size only)
FIELDS = {
    "pnet": (PNET, (12, 2), "conv4_2", None, None),  # MTCNN: a 12x12 detector, stride 2
    "rnet": (RNET, None, "conv3", None, 24),
    "onet": (ONET, None, "conv4", None, 48),
    "resnet18": (resnet18_layers(), (435, 32), "layer4", None, None),
    "vgg11": (vgg11_layers(), None, "features", "features.20", None),
    "alexnet": (ALEXNET, (195, 32), "features", "features.12", None),
    "mobilenet_v2": (mobilenet_v2_layers(), (491, 32), "features", None, None),
}


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("name", list(FIELDS))
def test_receptive_field_equals_hand_derivation(models, name):
    layers, published, _, at, fixed = FIELDS[name]
    shape = None if fixed is None else (fixed, fixed)
    rf = receptive_field(models.MODELS[name][0](), shape, at=at)
    size, jump, pad = by_hand(layers)
    assert rf.size == (size, size) and rf.stride == (jump, jump) and rf.padding == (pad, pad)
    assert rf.aligned
    assert (rf.output_shape is None) == (fixed is None)  # None: traced at a nominal size
    if published is not None:
        assert (size, jump) == published


def linearised(model):
    """A copy whose gradient support is its receptive field: no activation, no BatchNorm,
    average pools in place of max pools, positive weights (1/fan-in) and no bias."""
    model = copy.deepcopy(model).float()
    identity = ("ReLU", "ReLU6", "PReLU", "Softmax", "BatchNorm2d", "Dropout", "LeakyReLU")
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            cls = type(child).__name__
            if cls in identity:
                setattr(parent, name, torch.nn.Identity())
            elif cls == "MaxPool2d":
                assert child.dilation in (1, (1, 1))
                setattr(parent, name, torch.nn.AvgPool2d(child.kernel_size, child.stride,
                                                         child.padding, ceil_mode=child.ceil_mode))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
    return model


def gradient_box(model, end, x, index):
    """Bounding box (start, stop) per axis of the input pixels with a nonzero gradient for
    channel 0 of output unit ``index`` of module ``end``, and whether the box is full."""
    out = {}
    hook = dict(model.named_modules())[end].register_forward_hook(
        lambda m, i, o: out.update(y=o))
    x = x.clone().requires_grad_()
    model(x)
    hook.remove()
    (grad,) = torch.autograd.grad(out["y"][(0, 0) + tuple(index)], x)
    support = grad[0].abs().sum(0).numpy() > 0
    rows, cols = np.nonzero(support)
    box = ((rows.min(), rows.max() + 1), (cols.min(), cols.max() + 1))
    full = support[box[0][0]:box[0][1], box[1][0]:box[1][1]].all()
    return tuple((int(a), int(b)) for a, b in box), bool(full), tuple(out["y"].shape[2:])


@requires_torch
@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("name", list(FIELDS))
def test_receptive_field_equals_gradient_support(models, name):
    _, _, end, at, fixed = FIELDS[name]
    model = models.MODELS[name][0]()
    rf = receptive_field(model, None if fixed is None else (fixed, fixed), at=at)
    (r, _), (s, _), (p, _) = rf.size, rf.stride, rf.padding
    # The first unit whose field the border does not clip, and the next one along each axis.
    o = math.ceil(p / s)
    n = o * s - p + r + s
    if fixed is not None:
        assert n <= fixed
        n = fixed
    rf_n = receptive_field(model, (n, n), at=at)
    assert (rf_n.size, rf_n.stride, rf_n.padding) == (rf.size, rf.stride, rf.padding)
    x = torch.ones(1, 3, n, n)
    lin = linearised(model)
    for index in [(o, o), (o + 1, o), (o, o + 1)]:
        box, full, out_shape = gradient_box(lin, end, x, index)
        assert out_shape == rf_n.output_shape
        assert box == rf.region(index), (index, box, rf.region(index))
        assert full


@requires_torch
@pytest.mark.torch
@pytest.mark.slow
def test_after_the_global_pool_every_output_sees_the_whole_input(models):
    """ResNet-18 at 3x224x224: the last block's field is 435 with jump 32 (padding included);
    the global average pool and the Linear read every position, so the field of the output
    is the gradient support, the whole 224x224 input, and there is no jump."""
    model = models.resnet18()
    a = analyze_network(model, (3, 224, 224), spectra=False, equivariance=False)
    layers = {l.name: l for l in a.layers}
    last = layers["layer4.1.relu_1"]
    assert (last.receptive_field, last.jump) == ((435, 435), (32, 32))
    box, full, _ = gradient_box(linearised(model), "fc", torch.ones(1, 3, 224, 224), ())
    assert box == ((0, 224), (0, 224)) and full
    for name in ("avgpool", "flatten", "fc"):
        assert (layers[name].receptive_field, layers[name].jump) == ((224, 224), None)
    assert (a.receptive_field, a.jump) == ((224, 224), None)
    assert a.equivariant_shifts is None and a.border is None


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("padding", [0, 1])
def test_the_field_after_a_global_pool_is_its_gradient_support(padding):
    """Padding adds nothing to it (the closed form would give 3 + 3*2 = 9 on 8 pixels with
    padding 1), and pixels that the stride skips are not in it (7 of 8 without padding)."""
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, stride=2, padding=padding),
                                torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(2, 3))
    a = analyze_network(model, (1, 8, 9), spectra=False, equivariance=False)
    box, full, _ = gradient_box(linearised(model), "4", torch.ones(1, 1, 8, 9), ())
    assert full and box[0][0] == box[1][0] == 0
    assert a.receptive_field == tuple(stop - start for start, stop in box)
    assert a.receptive_field == ((7, 9), (8, 9))[padding] and a.jump is None
    assert [l.jump for l in a.layers] == [(2, 2), (2, 2), None, None, None]


@requires_torch
@pytest.mark.torch
def test_the_gradient_check_can_fail(models):
    """A field one unit too small, or with the wrong jump, is caught by the gradient box."""
    lin = linearised(models.pnet())
    box, full, _ = gradient_box(lin, "conv4_2", torch.ones(1, 3, 14, 14), (1, 1))
    assert box == ((2, 14), (2, 14)) and full
    from convtheory import ReceptiveField
    for wrong in (ReceptiveField((11, 11), (2, 2), (0, 0)), ReceptiveField((12, 12), (1, 1), (0, 0))):
        assert box != wrong.region((1, 1))


@requires_torch
@pytest.mark.torch
def test_fields_at_nodes_and_captured_graphs(models):
    model = models.resnet18()
    graph = capture(model, (3, 64, 64))
    rf = receptive_field(graph)
    assert rf.size == (435, 435) and rf.output_shape == (2, 2)
    assert receptive_field(model, (64, 64)) == rf == receptive_field(model, (3, 64, 64))
    # After layer2 (its last relu): by hand, conv1, maxpool and six 3x3 convs.
    at = receptive_field(graph, at="layer2.1.relu_1")
    assert (at.size, at.stride) == ((by_hand(resnet18_layers()[:10])[0],) * 2, (8, 8))
    assert at.size == (99, 99) and at.output_shape == (8, 8)
    pnet = models.pnet()
    exact = receptive_field(pnet, (3, 20, 20), method="exact")
    assert (exact.size, exact.stride, exact.padding) == ((12, 12), (2, 2), (0, 0))
    assert receptive_field(pnet, (20, 20)).output_shape == (5, 5)
    with pytest.raises(ValueError, match=r"at='fc' is a 'linear' node, after which no unit has "
                                         r"a spatial receptive field"):
        receptive_field(graph, at="fc")
    with pytest.raises(ValueError, match=r"at='nope' is not a node of the spatial part"):
        receptive_field(graph, at="nope")
    with pytest.raises(TypeError, match=r"at='conv1' names a node of a model; layers is a list"):
        receptive_field([{"kernel_size": 3}], at="conv1")
    with pytest.raises(ValueError, match=r"input_shape=\(3, 32, 32\) differs from the captured "
                                         r"graph's \(3, 64, 64\)"):
        receptive_field(graph, (3, 32, 32))


@requires_torch
@pytest.mark.torch
def test_channels_and_axes_are_read_from_the_model():
    pools = torch.nn.Sequential(torch.nn.MaxPool2d(2), torch.nn.BatchNorm2d(5),
                                torch.nn.Conv2d(5, 2, 3))
    rf = receptive_field(pools, (16, 16))
    assert (rf.size, rf.stride, rf.output_shape) == ((6, 6), (2, 2), (6, 6))
    one_d = receptive_field(torch.nn.Sequential(torch.nn.ReLU(), torch.nn.AvgPool1d(3)), (12,))
    assert (one_d.size, one_d.stride, one_d.output_shape) == ((3,), (3,), (4,))
    with pytest.raises(ValueError, match=r"input_shape is required for a torch model without "
                                         r"a 1-D, 2-D or 3-D layer"):
        receptive_field(torch.nn.Sequential(torch.nn.ReLU()))


@requires_torch
@pytest.mark.torch
def test_fields_the_closed_form_cannot_give_are_refused(models):
    # A transposed conv divides the jump by its stride: the closed form is a bounding box
    # of every unit's exact field (here the U-Net's up path returns to jump 1).
    unet = models.small_unet()
    closed = receptive_field(unet, (16, 16))
    exact = receptive_field(unet, (16, 16), method="exact")
    assert closed.output_shape == exact.output_shape == (16, 16)
    assert all(e <= c for e, c in zip(exact.size, closed.size)) and closed.stride == (1, 1)
    uneven = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.AdaptiveAvgPool2d(4))
    with pytest.raises(ValueError, match=r"node '1': an adaptive pool from \(6, 6\) to \(4, 4\) "
                                         r"has windows of different sizes"):
        receptive_field(uneven, (8, 8))
    # Whole windows: an adaptive pool from 6 to 3 is a 2x2 pool with stride 2.
    even = receptive_field(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3),
                                               torch.nn.AdaptiveMaxPool2d(3)), (8, 8))
    assert (even.size, even.stride, even.output_shape) == ((4, 4), (2, 2), (3, 3))


@requires_torch
@pytest.mark.torch
@pytest.mark.skipif(onnx is None, reason="onnx is not importable")
def test_field_of_an_onnx_export_equals_the_torch_model(models, tmp_path):
    from .test_network_capture import export

    for name, shape in [("pnet", (3, 24, 24)), ("resnet18", (3, 64, 64))]:
        model = models.MODELS[name][0]()
        proto = export(model, shape)
        path = tmp_path / f"{name}.onnx"
        import onnx as onnx_module
        onnx_module.save(proto, path)
        expected = receptive_field(model, shape)
        assert receptive_field(proto) == expected == receptive_field(str(path))
        assert receptive_field(proto, shape[1:]) == expected


def test_layer_dag_merges_several_outputs():
    from convtheory import nn
    from convtheory.network import INPUT, NetworkGraph, Node

    relu = {"op": "relu", "lipschitz": 1.0}
    conv = {"weight": np.ones((1, 1, 3)), "bias": None, "stride": (1,), "padding": ((0, 0),),
            "dilation": (1,), "groups": 1, "padding_mode": "zeros"}
    graph = NetworkGraph((Node("a", "conv", (INPUT,), ((1, 8),), (1, 6), conv),
                          Node("b", "activation", ("a",), ((1, 6),), (1, 6), relu),
                          Node("c", "activation", ("a",), ((1, 6),), (1, 6), relu)),
                         (1, 8), ("b", "c"))
    dag, shape = layer_dag(graph)
    assert sorted(dag.predecessors("<output>")) == ["b", "c"] and shape == (6,)
    assert receptive_field(graph).size == (3,)
    with pytest.raises(TypeError, match="graph must be a NetworkGraph, got Sequential"):
        layer_dag(nn.Sequential(nn.ReLU()))
