"""Test models of the network analysis: P-Net with MTCNN's trained weights, small CNNs.

``graph_of`` is a minimal capture of a chain of torch modules (with optional
heads) into a NetworkGraph, enough for these tests; the package's own
``convtheory.network.capture.capture`` supersedes it.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from convtheory.network.graph import INPUT, NetworkGraph, Node

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - CI always has torch
    torch = nn = None


def _pairs(p):
    return tuple((int(v), int(v)) for v in p)


def _node(name, m, src, in_shape, out_shape):
    """One torch module as a Node (the kinds these tests use)."""
    def arr(t):
        return None if t is None else t.detach().double().numpy().copy()

    if isinstance(m, nn.Conv2d):
        return Node(name, "conv", (src,), (in_shape,), out_shape, {
            "weight": arr(m.weight), "bias": arr(m.bias), "stride": m.stride,
            "padding": _pairs(m.padding), "dilation": m.dilation, "groups": m.groups,
            "padding_mode": m.padding_mode})
    if isinstance(m, nn.ConvTranspose2d):
        return Node(name, "conv_transpose", (src,), (in_shape,), out_shape, {
            "weight": arr(m.weight), "bias": arr(m.bias), "stride": m.stride,
            "padding": m.padding, "output_padding": m.output_padding, "dilation": m.dilation,
            "groups": m.groups})
    if isinstance(m, nn.BatchNorm2d):
        scale = arr(m.weight) / np.sqrt(arr(m.running_var) + m.eps)
        return Node(name, "batch_norm", (src,), (in_shape,), out_shape,
                    {"scale": scale, "shift": arr(m.bias) - scale * arr(m.running_mean)})
    if isinstance(m, nn.MaxPool2d):
        two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        return Node(name, "max_pool", (src,), (in_shape,), out_shape, {
            "kernel_size": two(m.kernel_size), "stride": two(m.stride), "padding": two(m.padding),
            "dilation": two(m.dilation), "ceil_mode": m.ceil_mode})
    if isinstance(m, nn.AvgPool2d):
        two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        return Node(name, "avg_pool", (src,), (in_shape,), out_shape, {
            "kernel_size": two(m.kernel_size), "stride": two(m.stride), "padding": two(m.padding),
            "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad,
            "divisor_override": m.divisor_override})
    if isinstance(m, nn.AdaptiveAvgPool2d):
        size = m.output_size if isinstance(m.output_size, tuple) else (m.output_size,) * 2
        return Node(name, "adaptive_avg_pool", (src,), (in_shape,), out_shape,
                    {"output_size": tuple(size)})
    if isinstance(m, nn.ReLU):
        return Node(name, "activation", (src,), (in_shape,), out_shape, {"op": "relu", "lipschitz": 1.0})
    if isinstance(m, nn.PReLU):
        a = arr(m.weight)
        return Node(name, "activation", (src,), (in_shape,), out_shape,
                    {"op": "prelu", "parameter": a, "lipschitz": float(max(1.0, np.abs(a).max()))})
    if isinstance(m, nn.Softmax):
        return Node(name, "activation", (src,), (in_shape,), out_shape,
                    {"op": "softmax", "axis": m.dim - 1, "lipschitz": 1.0})
    if isinstance(m, nn.Flatten):
        return Node(name, "flatten", (src,), (in_shape,), out_shape, {})
    if isinstance(m, nn.Linear):
        return Node(name, "linear", (src,), (in_shape,), out_shape,
                    {"weight": arr(m.weight), "bias": arr(m.bias)})
    raise TypeError(f"graph_of does not know {type(m).__name__}")


def graph_of(model, input_shape, trunk, heads=()):
    """NetworkGraph of ``model``: ``trunk`` and each head are lists of attribute names, in order."""
    model = model.eval()
    mods = dict(model.named_modules())
    nodes = []

    def chain(names, src, x):
        for name in names:
            m = mods[name].double()
            y = m(x)
            nodes.append(_node(name, m, src, tuple(x.shape[1:]), tuple(y.shape[1:])))
            src, x = name, y
        return src, x

    with torch.no_grad():
        end, x = chain(trunk, INPUT, torch.zeros((1,) + tuple(input_shape), dtype=torch.float64))
        outputs = tuple(chain(h, end, x)[0] for h in heads) if heads else (end,)
    return NetworkGraph(tuple(nodes), tuple(input_shape), outputs, "torch")


# ---- MTCNN's P-Net -------------------------------------------------------------

def pnet_weights_path():
    """``facenet_pytorch/data/pnet.pt``, found without importing the package, or None."""
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "pnet.pt")
    return path if os.path.isfile(path) else None


if nn is not None:
    class PNet(nn.Module):
        """MTCNN's proposal network, from the keys of its state-dict (12x12 detector, stride 2)."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
            self.prelu1 = nn.PReLU(10)
            self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
            self.prelu2 = nn.PReLU(16)
            self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
            self.prelu3 = nn.PReLU(32)
            self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
            self.softmax4_1 = nn.Softmax(dim=1)
            self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

        def forward(self, x):
            x = self.prelu1(self.conv1(x))
            x = self.pool1(x)
            x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
            return self.softmax4_1(self.conv4_1(x)), self.conv4_2(x)

PNET_TRUNK = ["conv1", "prelu1", "pool1", "conv2", "prelu2", "conv3", "prelu3"]
PNET_HEADS = (["conv4_1", "softmax4_1"], ["conv4_2"])


def pnet(trained=True):
    """P-Net in float64, with MTCNN's trained weights when the wheel is installed."""
    torch.manual_seed(0)
    net = PNet()
    path = pnet_weights_path()
    if trained and path is not None:
        net.load_state_dict(torch.load(path, weights_only=True))
    return net.double().eval()


def pnet_graph(input_shape=(3, 12, 12), trained=True):
    return graph_of(pnet(trained), input_shape, PNET_TRUNK, PNET_HEADS)


def pnet_graph_48():
    """Factory for ``convtheory analyze tests.network_analysis_models:pnet_graph_48``."""
    return pnet_graph((3, 48, 48))


# ---- a small CNN with batch norm, strides, padding and a transposed conv ---------

if nn is not None:
    class SmallNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(4)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
            self.pool = nn.AvgPool2d(2, 2)
            self.up = nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1, output_padding=1)
            self.relu2 = nn.ReLU()

        def forward(self, x):
            x = self.relu1(self.bn1(self.conv1(x)))
            return self.relu2(self.up(self.pool(self.conv2(x))))

SMALL_TRUNK = ["conv1", "bn1", "relu1", "conv2", "pool", "up", "relu2"]


def small_net():
    torch.manual_seed(1)
    net = SmallNet()
    with torch.no_grad():  # non-trivial batch-norm statistics
        net.bn1.running_mean.uniform_(-1, 1)
        net.bn1.running_var.uniform_(0.5, 2)
        net.bn1.weight.uniform_(0.5, 1.5)
        net.bn1.bias.uniform_(-1, 1)
    return net.double().eval()


# ---- a classifier: conv, global average pool, flatten, linear ---------------------

if nn is not None:
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.relu = nn.ReLU()
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            return self.fc(self.flatten(self.gap(self.relu(self.conv(x)))))

CLASSIFIER_TRUNK = ["conv", "relu", "gap", "flatten", "fc"]


def classifier():
    torch.manual_seed(2)
    return Classifier().double().eval()
