"""analyze_network on real models: a torch module and its ONNX export, through capture.

The analysis reads the captured graph only, so a model and its ONNX export
must give the same analysis, layer for layer; and each conv layer's exact norm
must be the largest singular value of its matrix, built here independently
from the framework's own weight by ``conv_matrix`` and a dense SVD.
"""

import numpy as np
import pytest

from convtheory import analyze_network, conv_matrix

from .conftest import requires_torch, torch
from .test_network_capture import export, onnx

pytestmark = requires_torch


@pytest.fixture(scope="module")
def pnet():
    from .network_models import PNet, facenet_weights

    return PNet(facenet_weights("pnet"))   # the trained weights where the wheel is installed


def test_pnet_is_a_12x12_detector_with_stride_2(pnet):
    a = analyze_network(pnet, (3, 12, 12), equivariance=False)
    assert a.receptive_field == (12, 12) and a.jump == (2, 2)
    assert a.equivariant_shifts == (2, 2)


def test_pnet_exact_norms_are_the_largest_singular_values(pnet):
    a = analyze_network(pnet, (3, 12, 12), equivariance=False)
    convs = [layer for layer in a.layers if layer.kind == "conv"]
    assert [layer.name for layer in convs][:3] == ["conv1", "conv2", "conv3"]
    for layer in convs:
        module = dict(pnet.named_modules())[layer.name]
        w = module.weight.detach().double().numpy()
        M = conv_matrix(w, layer.input_shape).toarray()
        sigma = np.linalg.svd(M, compute_uv=False)[0]
        lo, hi = layer.spectral_norm_bounds
        assert lo <= sigma * (1 + 1e-12) and sigma <= hi * (1 + 1e-12), (layer.name, lo, sigma, hi)
        assert abs(layer.spectral_norm - sigma) <= 1e-8 * sigma


def test_a_wrong_norm_would_be_caught(pnet):
    a = analyze_network(pnet, (3, 12, 12), equivariance=False)
    conv1 = next(layer for layer in a.layers if layer.name == "conv1")
    w = 1.01 * dict(pnet.named_modules())["conv1"].weight.detach().double().numpy()
    sigma = np.linalg.svd(conv_matrix(w, conv1.input_shape).toarray(), compute_uv=False)[0]
    lo, hi = conv1.spectral_norm_bounds
    assert not lo <= sigma <= hi


@pytest.mark.skipif(onnx is None, reason="onnx is not importable")
def test_the_onnx_export_gives_the_same_analysis(pnet):
    ours = analyze_network(pnet, (3, 12, 12), equivariance=False)
    theirs = analyze_network(export(pnet, (3, 12, 12)), (3, 12, 12), equivariance=False)
    assert ours.receptive_field == theirs.receptive_field and ours.jump == theirs.jump
    a = [layer for layer in ours.layers if layer.kind != "identity"]
    b = [layer for layer in theirs.layers if layer.kind != "identity"]
    assert [(x.kind, x.input_shape, x.output_shape) for x in a] == \
        [(x.kind, x.input_shape, x.output_shape) for x in b]
    for x, y in zip(a, b):
        if x.spectral_norm is not None:   # float32 weights on both sides
            assert abs(x.spectral_norm - y.spectral_norm) <= 1e-6 * x.spectral_norm, x.name
    assert abs(ours.lipschitz_upper_bound - theirs.lipschitz_upper_bound) <= \
        1e-6 * ours.lipschitz_upper_bound


def test_output_padding_positions_are_border_and_feed_the_next_layer():
    # output_padding adds a last position that no input reaches (the bias alone). Its
    # geometry stopped one short (152 border flags for 153 outputs), so a ceil-mode pool
    # whose last window reads that position raised IndexError in analyze_network.
    from convtheory.network import capture
    from convtheory.network.shapes import propagate
    net = torch.nn.Sequential(torch.nn.ConvTranspose1d(4, 2, 5, stride=3, output_padding=1),
                              torch.nn.MaxPool1d(4, ceil_mode=True)).eval()
    g = capture(net, (4, 50))
    border = propagate(g)[g.nodes[0].name].border[0]
    assert border.shape == (153,) and border[-1] and not border[75]
    a = analyze_network(net, (4, 50), spectra=False)
    assert [x.output_shape for x in a.layers] == [(2, 153), (2, 39)]


def test_a_transposed_conv_with_output_padding_is_torch_s_map():
    # output_padding adds outputs past the conv it transposes; the operator must keep them.
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1,
                                                       output_padding=1)).double().eval()
    a = analyze_network(net, (2, 5, 5), equivariance=False)
    (layer,) = [x for x in a.layers if x.kind == "conv_transpose"]
    x = np.random.default_rng(0).standard_normal((2, 5, 5))
    with torch.no_grad():
        expected = (net(torch.from_numpy(x[None]))[0] - net[0].bias[:, None, None]).numpy()
    assert layer.output_shape == expected.shape == (3, 10, 10)
    np.testing.assert_allclose(layer.operator() @ x.ravel(), expected.ravel(), rtol=0, atol=1e-12)
    M = layer.operator() @ np.eye(50)
    sigma = np.linalg.svd(M, compute_uv=False)[0]
    lo, hi = layer.spectral_norm_bounds
    assert lo <= sigma * (1 + 1e-12) and sigma <= hi * (1 + 1e-12)
