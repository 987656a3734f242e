"""A zero-size batch gives empty results of the right shapes, forward and backward, on both backends."""

import numpy as np
import pytest

from convtheory.nn import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from convtheory.nn import functional as F

BACKENDS = ["im2col", "matrix"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_functional_conv1d_of_an_empty_batch(backend):
    x, w, b = np.zeros((0, 4, 10)), np.ones((5, 4, 3)), np.ones(5)
    y = F.conv1d(x, w, b, backend=backend)
    assert y.shape == (0, 5, 8) and y.dtype == x.dtype
    gx, gw, gb = F.conv1d_backward(np.zeros((0, 5, 8)), x, w, b, backend=backend)
    assert gx.shape == (0, 4, 10)
    # No samples, no gradient: exactly zero, not garbage from an uninitialised buffer.
    assert gw.shape == w.shape and not gw.any()
    assert gb.shape == (5,) and not gb.any()


@pytest.mark.parametrize("backend", BACKENDS)
def test_functional_conv_transpose2d_of_an_empty_batch(backend):
    x, w, b = np.zeros((0, 4, 3, 3)), np.ones((4, 2, 3, 3)), np.ones(2)
    y = F.conv_transpose2d(x, w, b, stride=2, output_padding=1, backend=backend)
    assert y.shape == (0, 2, 8, 8)
    gx, gw, gb = F.conv_transpose2d_backward(np.zeros(y.shape), x, w, b, stride=2,
                                             output_padding=1, backend=backend)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (2,)
    assert not gw.any() and not gb.any()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layer, spatial, out_spatial", [
    (Conv1d(2, 3, 3, padding=1, padding_mode="reflect", seed=0), (6,), (6,)),
    (Conv2d(2, 3, 3, stride=2, seed=0), (7, 7), (3, 3)),
    (Conv3d(2, 3, 2, seed=0), (3, 3, 3), (2, 2, 2)),
    (ConvTranspose1d(2, 3, 3, stride=2, seed=0), (4,), (9,)),
    (ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, seed=0), (3, 3), (6, 6)),
    (ConvTranspose3d(2, 3, 2, seed=0), (2, 2, 2), (3, 3, 3)),
])
def test_layers_take_an_empty_batch(backend, layer, spatial, out_spatial):
    layer.backend = backend
    layer._plan = None
    x = np.zeros((0, 2) + spatial)
    y = layer(x)
    assert y.shape == (0, 3) + out_spatial
    gx = layer.backward(np.zeros(y.shape))
    assert gx.shape == x.shape
    assert not layer.weight.grad.any() and not layer.bias.grad.any()
