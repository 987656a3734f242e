"""nn.ConvTranspose1d/2d/3d and nn.functional.conv_transpose*: PyTorch's semantics, exact gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convtheory.nn import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, gradcheck
from convtheory.nn import functional as F
from tests.conftest import requires_torch, torch
from tests.test_transposed import SETTINGS, geometries

# float64 forward and backward: sums of a few hundred O(1) products.
ATOL = 1e-12
FORWARD = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
BACKWARD = {1: F.conv_transpose1d_backward, 2: F.conv_transpose2d_backward,
            3: F.conv_transpose3d_backward}
LAYERS = {1: ConvTranspose1d, 2: ConvTranspose2d, 3: ConvTranspose3d}


@requires_torch
@pytest.mark.parametrize("backend", ["im2col", "matrix"])
@settings(max_examples=150, **SETTINGS)
@given(geom=geometries(max_ndim=3), batch=st.integers(0, 3), bias=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_forward_and_backward_match_torch(backend, geom, batch, bias, seed):
    wshape, ishape, options = geom
    d = len(wshape) - 2
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((batch,) + ishape), rng.standard_normal(wshape)
    b = rng.standard_normal(wshape[1] * options["groups"]) if bias else None
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    fn = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d,
          3: torch.nn.functional.conv_transpose3d}[d]
    yt = fn(xt, wt, bt, **options)
    y = FORWARD[d](x, w, b, backend=backend, **options)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=ATOL, rtol=0)
    g = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(g))
    gx, gw, gb = BACKWARD[d](g, x, w, b, backend=backend, **options)
    assert gx.shape == x.shape and gw.shape == w.shape
    np.testing.assert_allclose(gx, xt.grad.numpy(), atol=ATOL, rtol=0)
    np.testing.assert_allclose(gw, wt.grad.numpy(), atol=ATOL, rtol=0)
    if bias:
        np.testing.assert_allclose(gb, bt.grad.numpy(), atol=ATOL, rtol=0)
    else:
        assert gb is None


@pytest.mark.parametrize("backend", ["im2col", "matrix"])
@pytest.mark.parametrize("d, options", [
    (1, dict(stride=2, padding=1, output_padding=1)),
    (2, dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2)),
    (2, dict(dilation=3, output_padding=2)),   # positions no tap reaches
    (3, dict(stride=2, padding=1)),
])
def test_layers_pass_gradcheck(backend, d, options):
    layer = LAYERS[d](2, 4, 3, seed=0, backend=backend, **options)
    x = np.random.default_rng(1).standard_normal((2, 2) + (3,) * d)
    verdict = gradcheck(layer, x)
    assert verdict, verdict.evidence


def test_gradcheck_fails_a_wrong_backward():
    class Wrong(ConvTranspose2d):
        def backward(self, g):
            return 2 * super().backward(g)

    x = np.random.default_rng(1).standard_normal((1, 2, 3, 3))
    assert not gradcheck(Wrong(2, 3, 3, stride=2, seed=0), x)


@requires_torch
@pytest.mark.parametrize("d", [1, 2, 3])
def test_layer_layout_and_init_follow_torch(d):
    layer = LAYERS[d](4, 6, 3, stride=2, groups=2, seed=0)
    ref = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d,
           3: torch.nn.ConvTranspose3d}[d](4, 6, 3, stride=2, groups=2)
    assert layer.weight.data.shape == tuple(ref.weight.shape)
    assert layer.bias.data.shape == tuple(ref.bias.shape)
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(ref.weight)
    bound = 1 / np.sqrt(fan_in)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.5 * bound
    # same weights, same output
    ref.weight.data = torch.from_numpy(layer.weight.data).float()
    ref.bias.data = torch.from_numpy(layer.bias.data).float()
    layer32 = LAYERS[d](4, 6, 3, stride=2, groups=2, seed=0, dtype=np.float32)
    x = np.random.default_rng(0).standard_normal((2, 4) + (4,) * d).astype(np.float32)
    np.testing.assert_allclose(layer32(x), ref(torch.from_numpy(x)).detach().numpy(), atol=1e-5)


def test_layer_matrix_bias_and_unbatched_input():
    layer = ConvTranspose2d(2, 3, (2, 3), stride=(2, 1), padding=(0, 1), seed=0)
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    y = layer(x)
    M = layer.matrix(x.shape)
    expected = (M @ x.ravel()).reshape(y.shape) + layer.bias.data[:, None, None]
    np.testing.assert_allclose(y, expected, atol=ATOL)
    assert layer.backward(np.ones_like(y)).shape == x.shape


def test_layer_errors_name_the_argument():
    with pytest.raises(ValueError, match="only padding_mode='zeros' is supported.*'reflect'"):
        ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="output_padding must be smaller than either stride or "
                                         "dilation.*output_padding=2, stride=2 and dilation=1"):
        ConvTranspose1d(2, 2, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="groups must divide in_channels and out_channels"):
        ConvTranspose2d(3, 2, 3, groups=2)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        ConvTranspose2d(2, 2, 3, dtype=np.int64)
    layer = ConvTranspose2d(2, 2, 3, seed=0)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 2, n, n\)"):
        layer(np.ones((1, 3, 4, 4)))
    with pytest.raises(RuntimeError, match="backward needs a forward pass first"):
        ConvTranspose2d(2, 2, 3).backward(np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        F.conv_transpose1d(np.ones((1, 2, 3)), np.ones((2, 2, 3)), np.ones(3), groups=2)
    with pytest.raises(ValueError, match=r"grad_output must have shape \(1, 2, 5\)"):
        F.conv_transpose1d_backward(np.ones((1, 2, 4)), np.ones((1, 2, 3)), np.ones((2, 2, 3)))
    with pytest.raises(TypeError, match="input and weight must have the same dtype"):
        F.conv_transpose1d(np.ones((1, 2, 3), np.float32), np.ones((2, 2, 3)))
