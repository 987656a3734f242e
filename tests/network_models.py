"""Real networks for the network-analysis tests, defined as their authors define them.

* MTCNN's P-Net, R-Net and O-Net (Zhang et al. 2016) with the trained weights
  that the ``facenet-pytorch`` wheel ships as state-dict files; the
  architectures follow the state-dict keys and facenet-pytorch's
  ``models/mtcnn.py``.  The files are found with ``importlib.util.find_spec``
  without importing the package (it pins an old torch).
* ``resnet18``, ``vgg11``, ``mobilenet_v2`` and ``alexnet`` as torchvision
  0.2x defines them (``torchvision/models/{resnet,vgg,mobilenetv2,alexnet}.py``),
  with seeded random weights: torchvision does not install beside this torch.
* ``small_unet``: a two-level U-Net with ``ConvTranspose2d`` and a skip ``cat``.
* ``small_net`` and ``classifier``: small float64 CNNs of the analysis tests
  (batch norm, groups, an average pool and a transposed conv; a global pool,
  flatten and linear).

Each factory takes ``seed`` and returns a model in eval mode with random
running statistics for its BatchNorms, so that BatchNorm is not the identity.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

# Only the tests that compare with torch import this module; where torch is missing they
# (and the doctest collection of this file) are skipped, never the other tests.
torch = pytest.importorskip("torch")
nn = torch.nn

__all__ = ["MODELS", "Classifier", "PNet", "RNet", "ONet", "SmallNet", "alexnet", "classifier",
           "facenet_weights", "mobilenet_v2", "pnet_graph_48", "resnet18", "small_net",
           "small_unet", "vgg11"]


# --------------------------------------------------------------------------
# MTCNN (facenet-pytorch 2.6.0 weights)
# --------------------------------------------------------------------------
def facenet_weights(name: str):
    """The state dict ``facenet_pytorch/data/<name>.pt``, or None where the wheel is absent."""
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", f"{name}.pt")
    return torch.load(path, weights_only=True) if os.path.exists(path) else None


def _permuted_dense(weight, channels, height, width):
    """Columns of a dense layer that read ``x.permute(0, 3, 2, 1).flatten(1)``, reordered
    to read ``x.flatten(1)``: the same map, without a permute in the graph."""
    index = torch.arange(channels * height * width).reshape(channels, height, width)
    return weight[:, index.permute(2, 1, 0).reshape(-1).argsort()]


class PNet(nn.Module):
    """MTCNN's proposal net: a fully convolutional 12x12 face detector with stride 2."""

    def __init__(self, weights=None):
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
        if weights is not None:
            self.load_state_dict(weights)
        self.eval()

    def forward(self, x):
        x = self.prelu1(self.conv1(x))
        x = self.pool1(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        a = self.softmax4_1(self.conv4_1(x))
        b = self.conv4_2(x)
        return b, a


class RNet(nn.Module):
    """MTCNN's refinement net on 24x24 crops.

    facenet-pytorch flattens ``x.permute(0, 3, 2, 1)``; here ``dense4``'s
    columns are reordered at load time so that a plain flatten computes the
    same function (``tests/test_network_capture.py`` checks it).
    """

    def __init__(self, weights=None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.flatten = nn.Flatten()
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.softmax5_1 = nn.Softmax(dim=1)
        self.dense5_2 = nn.Linear(128, 4)
        if weights is not None:
            weights = dict(weights)
            weights["dense4.weight"] = _permuted_dense(weights["dense4.weight"], 64, 3, 3)
            self.load_state_dict(weights)
        self.eval()

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.dense4(self.flatten(x)))
        return self.dense5_2(x), self.softmax5_1(self.dense5_1(x))


class ONet(nn.Module):
    """MTCNN's output net on 48x48 crops (box, landmarks, face probability)."""

    def __init__(self, weights=None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.flatten = nn.Flatten()
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.softmax6_1 = nn.Softmax(dim=1)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)
        if weights is not None:
            weights = dict(weights)
            weights["dense5.weight"] = _permuted_dense(weights["dense5.weight"], 128, 3, 3)
            self.load_state_dict(weights)
        self.eval()

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(self.flatten(x)))
        return self.dense6_2(x), self.dense6_3(x), self.softmax6_1(self.dense6_1(x))


# --------------------------------------------------------------------------
# torchvision architectures, seeded random weights
# --------------------------------------------------------------------------
def _randomise(model, seed):
    """Seeded weights, and BatchNorm statistics that make BatchNorm a real affine map."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=generator))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=generator))
    return model.eval()


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, layers=(2, 2, 2, 2), num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet18(seed=0):
    """torchvision's ``resnet18`` (BasicBlock, [2, 2, 2, 2])."""
    return _randomise(ResNet(), seed)


_VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class VGG(nn.Module):
    def __init__(self, cfg=_VGG11, num_classes=1000, hidden=4096):
        super().__init__()
        layers, channels = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(p=0.5),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=0.5),
            nn.Linear(hidden, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def vgg11(seed=0, num_classes=1000, hidden=4096):
    """torchvision's ``vgg11`` (configuration "A", no BatchNorm).

    ``hidden`` is the classifier's width (torchvision: 4096, 120M weights);
    the tests narrow it to keep memory small, the convolutional part is unchanged.
    """
    return _randomise(VGG(num_classes=num_classes, hidden=hidden), seed)


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000, hidden=4096):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5), nn.Linear(256 * 6 * 6, hidden), nn.ReLU(inplace=True),
            nn.Dropout(p=0.5), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def alexnet(seed=0, num_classes=1000, hidden=4096):
    """torchvision's ``alexnet`` (``hidden``: the classifier's width, as in :func:`vgg11`)."""
    return _randomise(AlexNet(num_classes, hidden), seed)


class ConvBNReLU(nn.Sequential):
    def __init__(self, inp, out, kernel_size=3, stride=1, groups=1):
        padding = (kernel_size - 1) // 2
        super().__init__(nn.Conv2d(inp, out, kernel_size, stride, padding, groups=groups,
                                   bias=False),
                         nn.BatchNorm2d(out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [ConvBNReLU(inp, hidden, kernel_size=1)] if expand_ratio != 1 else []
        layers += [ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes=1000):
        super().__init__()
        channels, last = 32, 1280
        features = [ConvBNReLU(3, channels, stride=2)]
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(channels, c, s if i == 0 else 1, t))
                channels = c
        features.append(ConvBNReLU(channels, last, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2(seed=0, num_classes=1000):
    """torchvision's ``mobilenet_v2`` (width 1.0; depthwise 3x3 convs, ReLU6)."""
    return _randomise(MobileNetV2(num_classes), seed)


# --------------------------------------------------------------------------
# A small U-Net
# --------------------------------------------------------------------------
class SmallUNet(nn.Module):
    """Two levels: conv, pool, conv, ConvTranspose2d up, cat with the skip, conv."""

    def __init__(self, channels=1, width=4):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1),
                                 nn.BatchNorm2d(width), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.mid = nn.Sequential(nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(2 * width, width, kernel_size=2, stride=2)
        self.dec = nn.Sequential(nn.Conv2d(2 * width, width, 3, padding=1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(width, channels, 1))

    def forward(self, x):
        skip = self.enc(x)
        x = self.up(self.mid(self.pool(skip)))
        return self.dec(torch.cat([x, skip], dim=1))


def small_unet(seed=0):
    return _randomise(SmallUNet(), seed)


def _trained(cls, name):
    weights = facenet_weights(name)
    if weights is None:
        raise RuntimeError(f"MTCNN's {name}.pt ships in the facenet-pytorch wheel: "
                           f"pip install --no-deps facenet-pytorch==2.6.0")
    return cls(weights)


def pnet():
    return _trained(PNet, "pnet")


def rnet():
    return _trained(RNet, "rnet")


def onet():
    return _trained(ONet, "onet")


# --------------------------------------------------------------------------
# Small CNNs of the analysis tests (float64, seeded)
# --------------------------------------------------------------------------

class SmallNet(nn.Module):
    """Batch norm, strides, padding, groups, an average pool and a transposed conv."""

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


def small_net():
    """A :class:`SmallNet` in float64 with non-trivial batch-norm statistics."""
    torch.manual_seed(1)
    net = SmallNet()
    with torch.no_grad():  # non-trivial batch-norm statistics
        net.bn1.running_mean.uniform_(-1, 1)
        net.bn1.running_var.uniform_(0.5, 2)
        net.bn1.weight.uniform_(0.5, 1.5)
        net.bn1.bias.uniform_(-1, 1)
    return net.double().eval()


class Classifier(nn.Module):
    """Conv, global average pool, flatten, linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        return self.fc(self.flatten(self.gap(self.relu(self.conv(x)))))


def classifier():
    """A :class:`Classifier` in float64."""
    torch.manual_seed(2)
    return Classifier().double().eval()


def pnet_graph_48():
    """P-Net (trained, float64) captured on 3x48x48: a factory of a graph for ``convtheory analyze``."""
    from convtheory.network import capture

    return capture(pnet().double(), (3, 48, 48))


def _narrow(factory):
    return lambda: factory(num_classes=10, hidden=64)


#: name -> (factory, input_shape (C, H, W)) at a size where the test runs quickly.
MODELS = {
    "pnet": (pnet, (3, 12, 12)),
    "rnet": (rnet, (3, 24, 24)),
    "onet": (onet, (3, 48, 48)),
    "resnet18": (resnet18, (3, 64, 64)),
    "vgg11": (_narrow(vgg11), (3, 32, 32)),
    "alexnet": (_narrow(alexnet), (3, 64, 64)),
    "mobilenet_v2": (mobilenet_v2, (3, 32, 32)),
    "small_unet": (small_unet, (1, 16, 16)),
}
