"""Layers and the Module API: torch parity, initialisation, shape errors naming the layer."""

import numpy as np
import pytest

from convtheory.nn import (AvgPool1d, AvgPool2d, Conv1d, Conv2d, Conv3d, Flatten, Linear, MaxPool1d,
                           MaxPool2d, Module, Parameter, ReLU, Sequential, gradcheck)

try:
    import torch
except ImportError:  # only the tests marked torch compare with it; tests/conftest.py skips those
    torch = None


def copy_into(torch_layer, layer):
    with torch.no_grad():
        torch_layer.weight.copy_(torch.from_numpy(layer.weight.data))
        if layer.bias is not None:
            torch_layer.bias.copy_(torch.from_numpy(layer.bias.data))


@pytest.mark.torch
@pytest.mark.parametrize("backend", ["im2col", "matrix"])
@pytest.mark.parametrize("cls, tcls, ndim, kw", [
    (Conv1d, "Conv1d", 1, dict(padding="same", padding_mode="reflect", dilation=2)),
    (Conv2d, "Conv2d", 2, dict(stride=2, padding=1, groups=2, padding_mode="circular")),
    (Conv2d, "Conv2d", 2, dict(padding="valid", bias=False)),
    (Conv3d, "Conv3d", 3, dict(padding=1, padding_mode="replicate")),
])
def test_conv_layer_matches_torch_layer(cls, tcls, ndim, kw, backend):
    rng = np.random.default_rng(31)
    layer = cls(4, 6, 3, seed=1, backend=backend, **kw)
    ref = getattr(torch.nn, tcls)(4, 6, 3, dtype=torch.float64, **kw)
    copy_into(ref, layer)
    x = rng.standard_normal((2, 4) + (7,) * ndim)
    y = layer(x)
    g = rng.standard_normal(y.shape)
    gx = layer.backward(g)
    xt = torch.from_numpy(x).requires_grad_()
    yt = ref(xt)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=0, atol=1e-10)
    if layer.bias is not None:
        np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=0, atol=1e-10)


def test_gradients_accumulate_with_plus_equals():
    rng = np.random.default_rng(2)
    layer = Conv2d(2, 3, 3, seed=0)
    x = rng.standard_normal((1, 2, 5, 5))
    g = rng.standard_normal((1, 3, 3, 3))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy()
    layer(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once, rtol=1e-14)
    layer.zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


@pytest.mark.torch
def test_linear_matches_torch():
    rng = np.random.default_rng(4)
    lin = Linear(5, 3, seed=0)
    ref = torch.nn.Linear(5, 3, dtype=torch.float64)
    copy_into(ref, lin)
    x = rng.standard_normal((4, 5))
    g = rng.standard_normal((4, 3))
    xt = torch.from_numpy(x).requires_grad_()
    ref(xt).backward(torch.from_numpy(g))
    np.testing.assert_allclose(lin(x), ref(torch.from_numpy(x)).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(lin.backward(g), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(lin.weight.grad, ref.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(lin.bias.grad, ref.bias.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("make, fan_in", [
    (lambda: Conv2d(6, 8, (3, 5), groups=2, seed=0), 3 * 15),
    (lambda: Conv1d(2, 3, 4, seed=0), 8),
    (lambda: Linear(50, 7, seed=0), 50),
])
def test_init_is_torch_kaiming_uniform(make, fan_in):
    """Uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] (PyTorch's default), seeded."""
    layer = make()
    bound = 1 / np.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.5 * bound  # spread over the interval, not collapsed
    np.testing.assert_array_equal(make().weight.data, layer.weight.data)


def test_layer_attributes_are_torch_tuples():
    conv = Conv2d(1, 2, 3, stride=2, padding=1, dilation=(1, 2))
    assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation) == ((3, 3), (2, 2), (1, 1), (1, 2))
    assert Conv2d(1, 2, 3, padding="same").padding == "same"
    assert conv.weight.shape == (2, 1, 3, 3) and conv.bias.shape == (2,)
    pool = MaxPool2d(3, padding=1)
    assert (pool.kernel_size, pool.stride, pool.padding) == ((3, 3), (3, 3), (1, 1))


def test_float32_layer_stays_float32():
    layer = Conv2d(2, 2, 3, dtype=np.float32, seed=0)
    y = layer(np.ones((1, 2, 5, 5), np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.weight.grad.dtype == np.float32


LAYERS = [
    (lambda: Conv1d(2, 3, 3, stride=2, padding=1, padding_mode="reflect", seed=0), (2, 2, 9)),
    (lambda: Conv2d(2, 4, 3, padding="same", groups=2, padding_mode="circular", seed=0), (2, 2, 5, 5)),
    (lambda: Conv2d(2, 2, 2, dilation=2, padding=1, padding_mode="replicate", seed=0, backend="matrix"),
     (1, 2, 5, 6)),
    (lambda: Conv3d(1, 2, 2, seed=0), (1, 1, 3, 4, 3)),
    (lambda: Linear(6, 4, seed=0), (3, 6)),
    (lambda: ReLU(), (2, 7)),
    (lambda: Flatten(), (2, 3, 4)),
    (lambda: MaxPool1d(3, stride=2, padding=1), (2, 2, 9)),
    (lambda: MaxPool2d(2), (1, 2, 6, 6)),
    (lambda: AvgPool1d(2, stride=1), (2, 2, 5)),
    (lambda: AvgPool2d(3, stride=2, padding=1), (1, 2, 7, 7)),
    (lambda: Sequential(Conv2d(1, 2, 3, padding=1, seed=0), ReLU(), MaxPool2d(2), Flatten(),
                        Linear(2 * 3 * 3, 3, seed=1)), (2, 1, 6, 6)),
]


@pytest.mark.parametrize("make, shape", LAYERS)
def test_gradcheck_every_layer(make, shape):
    x = np.random.default_rng(17).standard_normal(shape)
    verdict = gradcheck(make(), x)
    assert verdict, verdict.counterexample


def test_unbatched_conv_input():
    layer = Conv2d(2, 3, 3, seed=0)
    x = np.random.default_rng(0).standard_normal((2, 5, 5))
    batched = layer(x[None])[0]
    np.testing.assert_allclose(layer(x), batched, rtol=0, atol=0)
    assert layer.backward(np.ones((3, 3, 3))).shape == (2, 5, 5)
    with pytest.raises(ValueError, match=r"Conv2d\(2, 3.*grad_out must have shape \(3, 3, 3\)"):
        layer.backward(np.ones((1, 3, 3, 3)))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: Conv2d(3, 4, 3)(np.ones((1, 2, 8, 8))), ValueError,
     r"Conv2d\(3, 4, kernel_size=\(3, 3\).*expected input of shape \(N, 3, n, n\).*got input.shape=\(1, 2, 8, 8\)"),
    (lambda: Conv2d(1, 1, 5)(np.ones((1, 1, 3, 3))), ValueError,
     r"Conv2d\(1, 1, kernel_size=\(5, 5\).*cannot take input.shape=\(1, 1, 3, 3\)"),
    (lambda: Conv2d(1, 1, 3)(np.ones((1, 1, 5, 5), np.float32)), TypeError, "dtype float32 but the layer"),
    (lambda: Conv2d(3, 4, 3, groups=2), ValueError, "groups must divide"),
    (lambda: Conv2d(1, 1, 3, padding_mode="mirror"), ValueError, "padding_mode must be one of"),
    (lambda: Conv2d(1, 1, 3, backend="fft"), ValueError, "backend must be one of"),
    (lambda: Conv2d(0, 1, 3), ValueError, "in_channels must be >= 1, got in_channels=0"),
    (lambda: Conv2d(1, 1, 3, dtype=np.int64), TypeError, "dtype must be float32 or float64"),
    # A fan-in of 2**80 overflows int64 to 0: the estimate must refuse, not divide by zero.
    (lambda: Conv2d(2, 3, 2**40), ValueError, r"a parameter of shape \(3, 2, 1099511627776, "
                                              r"1099511627776\) would need about"),
    (lambda: Linear(4, 2)(np.ones((3, 5))), ValueError, r"Linear\(in_features=4.*expected input of shape \(\.\.\., 4\)"),
    (lambda: MaxPool2d(2)(np.ones(4)), ValueError, r"MaxPool2d.*expected input of shape"),
    (lambda: MaxPool2d(4, padding=3)(np.ones((1, 8, 8))), ValueError, "padding should be at most half"),
    (lambda: AvgPool1d(2)(np.ones((1, 8), int)), TypeError, r"AvgPool1d.*float32 or float64, got dtype int64"),
    (lambda: Sequential(ReLU(), "relu"), TypeError, "argument 1 must be a Module"),
    (lambda: Parameter(np.ones(3, int)), TypeError, "float32 or float64"),
])
def test_bad_input_names_the_layer(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_parameters_are_found_once():
    conv = Conv2d(1, 1, 3, seed=0)
    net = Sequential(conv, ReLU(), conv)
    assert len(net.parameters()) == 2
    assert isinstance(net, Module) and len(net) == 3 and net[0] is conv


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="backward needs a forward pass first"):
        Conv2d(1, 1, 3).backward(np.ones((1, 1, 3, 3)))
