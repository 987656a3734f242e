"""nn.functional against PyTorch autograd: forward, input, weight and bias gradients."""

import numpy as np
import pytest

from convtheory.nn import functional as F

try:
    import torch
except ImportError:  # only the tests marked torch compare with it; tests/conftest.py skips those
    torch = None

# float64: both sides sum the same products in different orders; 1e-10 is
# ~1e5 ulps of the O(10) values here, far above reordering noise.
TOL64 = 1e-10
# float32: the same sums in single precision, with C_in*K up to 54 terms of
# O(1): reordering gives a few ulps of 1.2e-7 times the sum's magnitude.
TOL32 = 2e-4

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_BACKWARD = {1: F.conv1d_backward, 2: F.conv2d_backward, 3: F.conv3d_backward}
TORCH_CONV = {1: "Conv1d", 2: "Conv2d", 3: "Conv3d"}  # names: torch may be absent


def torch_conv(x, w, b, g, **conv):
    """Output and autograd gradients of torch.nn.ConvNd with these weights."""
    ndim = w.ndim - 2
    layer = getattr(torch.nn, TORCH_CONV[ndim])(w.shape[1] * conv.get("groups", 1), w.shape[0], w.shape[2:],
                             bias=b is not None, dtype=torch.from_numpy(w).dtype, **conv)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
        if b is not None:
            layer.bias.copy_(torch.from_numpy(b))
    xt = torch.from_numpy(x).requires_grad_()
    y = layer(xt)
    y.backward(torch.from_numpy(g))
    gb = layer.bias.grad.numpy() if b is not None else None
    return y.detach().numpy(), xt.grad.numpy(), layer.weight.grad.numpy(), gb


OPTIONS = [
    dict(),
    dict(stride=2),
    dict(stride=(1, 3)),
    dict(padding=1),
    dict(padding=(2, 0)),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(dilation=(2, 1), stride=2, padding=2),
    dict(groups=3, padding=1),
    dict(padding=2, padding_mode="circular"),
    dict(padding=2, padding_mode="reflect", stride=2),
    dict(padding=(1, 2), padding_mode="replicate", dilation=2),
    dict(padding="same", padding_mode="reflect"),
    dict(padding="same", padding_mode="circular", dilation=2),
    dict(padding=1, padding_mode="replicate", groups=3, stride=2),
]


@pytest.mark.torch
@pytest.mark.parametrize("backend", F.BACKENDS)
@pytest.mark.parametrize("conv", OPTIONS, ids=repr)
def test_conv2d_matches_torch(conv, backend):
    rng = np.random.default_rng(20240611)
    groups = conv.get("groups", 1)
    x = rng.standard_normal((2, 6, 9, 8))
    w = rng.standard_normal((9, 6 // groups, 3, 3))
    b = rng.standard_normal(9)
    y = F.conv2d(x, w, b, backend=backend, **conv)
    g = rng.standard_normal(y.shape)
    ref = torch_conv(x, w, b, g, **conv)
    got = (y,) + F.conv2d_backward(g, x, w, b, backend=backend, **conv)
    for name, a, r in zip(("output", "grad_input", "grad_weight", "grad_bias"), got, ref):
        assert a.shape == r.shape, name
        np.testing.assert_allclose(a, r, rtol=0, atol=TOL64, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("ndim, conv", [
    (1, dict(padding="same", dilation=3)),
    (1, dict(stride=2, padding=3, padding_mode="reflect")),
    (1, dict(groups=2, padding_mode="circular", padding=4)),
    (3, dict(padding=1)),
    (3, dict(padding="same", padding_mode="replicate")),
    (3, dict(stride=(1, 2, 1), padding=(1, 0, 2), padding_mode="reflect")),
    (3, dict(dilation=2, padding=2, padding_mode="circular", groups=2)),
])
@pytest.mark.parametrize("backend", F.BACKENDS)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv1d_conv3d_match_torch(ndim, conv, backend):
    rng = np.random.default_rng(777)
    groups = conv.get("groups", 1)
    x = rng.standard_normal((2, 4) + (7,) * ndim)
    w = rng.standard_normal((4, 4 // groups) + (2, 3, 4)[:ndim] if ndim == 3 else (4, 4 // groups, 4))
    b = rng.standard_normal(4)
    y = CONV[ndim](x, w, b, backend=backend, **conv)
    g = rng.standard_normal(y.shape)
    ref = torch_conv(x, w, b, g, **conv)
    got = (y,) + CONV_BACKWARD[ndim](g, x, w, b, backend=backend, **conv)
    for a, r in zip(got, ref):
        np.testing.assert_allclose(a, r, rtol=0, atol=TOL64)


@pytest.mark.torch
@pytest.mark.parametrize("c_in, c_out, groups", [(1, 1, 1), (3, 1, 1), (4, 4, 4)])
def test_single_output_channel_per_group_matches_torch(c_in, c_out, groups):
    """C_out/groups == 1 takes the outer-product path for the input gradient."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, c_in, 8, 7))
    w = rng.standard_normal((c_out, c_in // groups, 5, 5))
    b = rng.standard_normal(c_out)
    conv = dict(padding="same", groups=groups)
    y = F.conv2d(x, w, b, **conv)
    g = rng.standard_normal(y.shape)
    ref = torch_conv(x, w, b, g, **conv)
    for a, r in zip((y,) + F.conv2d_backward(g, x, w, b, **conv), ref):
        np.testing.assert_allclose(a, r, rtol=0, atol=TOL64)


@pytest.mark.torch
@pytest.mark.parametrize("conv", [
    dict(padding=2, padding_mode="reflect", stride=2),
    dict(padding=(1, 3), padding_mode="replicate", dilation=(1, 2)),
    dict(padding=2, padding_mode="circular"),
    dict(padding=(0, 2), stride=(2, 1)),
], ids=repr)
@pytest.mark.parametrize("dtype, tol", [("float64", TOL64), ("float32", TOL32)])
def test_depthwise_matches_torch(conv, dtype, tol):
    """One channel pair per group: the input gradient is a broadcasted scatter-add."""
    rng = np.random.default_rng(31)
    x = rng.standard_normal((2, 5, 9, 8)).astype(dtype)
    w = rng.standard_normal((5, 1, 3, 3)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    y = F.conv2d(x, w, b, groups=5, **conv)
    g = rng.standard_normal(y.shape).astype(dtype)
    ref = torch_conv(x, w, b, g, groups=5, **conv)
    for a, r in zip((y,) + F.conv2d_backward(g, x, w, b, groups=5, **conv), ref):
        assert a.dtype == r.dtype
        np.testing.assert_allclose(a, r, rtol=0, atol=tol)


@pytest.mark.parametrize("conv", OPTIONS, ids=repr)
def test_backends_agree(conv):
    rng = np.random.default_rng(5)
    groups = conv.get("groups", 1)
    x = rng.standard_normal((3, 6, 7, 10))
    w = rng.standard_normal((3, 6 // groups, 2, 3))
    y_fast = F.conv2d(x, w, **conv)
    y_mat = F.conv2d(x, w, backend="matrix", **conv)
    np.testing.assert_allclose(y_fast, y_mat, rtol=0, atol=1e-12)
    g = rng.standard_normal(y_fast.shape)
    for a, b in zip(F.conv2d_backward(g, x, w, **conv), F.conv2d_backward(g, x, w, backend="matrix", **conv)):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("backend", F.BACKENDS)
def test_conv2d_float32_matches_torch(backend):
    rng = np.random.default_rng(99)
    x = rng.standard_normal((2, 6, 10, 10)).astype(np.float32)
    w = rng.standard_normal((5, 6, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    conv = dict(padding="same", padding_mode="reflect")
    y = F.conv2d(x, w, b, backend=backend, **conv)
    assert y.dtype == np.float32
    g = rng.standard_normal(y.shape).astype(np.float32)
    got = (y,) + F.conv2d_backward(g, x, w, b, backend=backend, **conv)
    ref = torch_conv(x, w, b, g, **conv)
    for a, r in zip(got, ref):
        assert a.dtype == np.float32
        # grad_weight sums N*P = 200 products: scale the tolerance by the magnitude.
        np.testing.assert_allclose(a, r, rtol=TOL32, atol=TOL32 * np.abs(r).max())


def test_unbatched_input_gives_unbatched_output():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    np.testing.assert_allclose(F.conv2d(x, w), F.conv2d(x[None], w)[0], rtol=0, atol=0)
    gx, gw, gb = F.conv2d_backward(np.ones((3, 3, 3)), x, w)
    assert gx.shape == x.shape and gb is None


def test_conv_detects_a_wrong_gradient():
    """The reference comparison is not vacuous: a perturbed gradient fails it."""
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 3, 3))
    g = rng.standard_normal((1, 1, 3, 3))
    _, gw, _ = F.conv2d_backward(g, x, w)
    _, gw_flipped, _ = F.conv2d_backward(g, x[..., ::-1, ::-1].copy(), w)
    assert np.abs(gw - gw_flipped).max() > 1e-3


@pytest.mark.parametrize("call, match", [
    (lambda: F.conv2d(np.ones((1, 2, 5, 5)), np.ones((1, 3, 3, 3))), "channel mismatch"),
    (lambda: F.conv2d(np.ones((5, 5)), np.ones((1, 1, 3, 3))), r"input must have shape \(N, C_in, n, n\)"),
    (lambda: F.conv2d(np.ones((1, 1, 5, 5)), np.ones((3, 3))), r"weight must have shape"),
    (lambda: F.conv2d(np.ones((1, 1, 5, 5), np.float32), np.ones((1, 1, 3, 3))), "same dtype"),
    (lambda: F.conv2d(np.ones((1, 1, 5, 5), int), np.ones((1, 1, 3, 3))), "float32 or float64"),
    (lambda: F.conv2d(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)), np.ones(3)), r"bias must have shape \(2,\)"),
    (lambda: F.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), backend="dense"), "backend must be one of"),
    (lambda: F.conv2d_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))),
     r"grad_output must have shape \(1, 1, 3, 3\)"),
])
def test_conv_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# --------------------------------------------------------------------------
# Pools
# --------------------------------------------------------------------------
POOLS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
    dict(kernel_size=4, stride=3, padding=2),
]


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool", POOLS, ids=repr)
def test_pool2d_matches_torch(kind, pool):
    rng = np.random.default_rng(4242)
    x = rng.standard_normal((2, 3, 9, 8))
    fwd = F.max_pool2d if kind == "max" else F.avg_pool2d
    bwd = F.max_pool2d_backward if kind == "max" else F.avg_pool2d_backward
    layer = (torch.nn.MaxPool2d if kind == "max" else torch.nn.AvgPool2d)(**pool)
    y = fwd(x, **pool)
    g = rng.standard_normal(y.shape)
    xt = torch.from_numpy(x).requires_grad_()
    yt = layer(xt)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=TOL64)
    np.testing.assert_allclose(bwd(g, x, **pool), xt.grad.numpy(), rtol=0, atol=TOL64)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool1d_matches_torch(kind):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 11))  # unbatched (C, L)
    pool = dict(kernel_size=3, stride=2, padding=1)
    fwd = F.max_pool1d if kind == "max" else F.avg_pool1d
    bwd = F.max_pool1d_backward if kind == "max" else F.avg_pool1d_backward
    ref = torch.nn.functional.max_pool1d if kind == "max" else torch.nn.functional.avg_pool1d
    xt = torch.from_numpy(x).requires_grad_()
    yt = ref(xt, **pool)
    g = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(fwd(x, **pool), yt.detach().numpy(), rtol=0, atol=TOL64)
    np.testing.assert_allclose(bwd(g, x, **pool), xt.grad.numpy(), rtol=0, atol=TOL64)


def test_max_pool_padding_never_wins():
    x = -np.ones((1, 1, 4))
    np.testing.assert_array_equal(F.max_pool1d(x, 2, padding=1), -np.ones((1, 1, 3)))


@pytest.mark.parametrize("call, match", [
    (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), "padding should be at most half"),
    (lambda: F.avg_pool1d(np.ones((1, 1, 4, 4)), 2), r"input must have shape \(N, C, n\)"),
    (lambda: F.max_pool2d(np.ones((1, 4, 4)), (2, 2, 2)), "kernel_size must be an int or a tuple of 2"),
    (lambda: F.max_pool2d(np.ones((1, 4, 4)), 0), "kernel_size must be >= 1"),
])
def test_pool_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


NONFINITE_GEOMETRIES = [
    ((1, 1, 3), (1, 4), dict(padding=1)),                                 # the border, stride 1
    ((2, 3, 3, 3), (3, 5, 6), dict(padding=2, stride=2, dilation=2)),    # strided (im2col)
    ((4, 2, 3, 3), (4, 6, 6), dict(padding=1, groups=2)),
]


@pytest.mark.torch
@pytest.mark.parametrize("backend", F.BACKENDS)
@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("w_shape, x_shape, conv", NONFINITE_GEOMETRIES)
def test_a_nonfinite_gradient_at_the_border_spreads_as_in_torch(w_shape, x_shape, conv, value,
                                                                backend):
    """A nan or inf of the output gradient at an output that reads zero padding: torch sums
    g * 0 there, so the weights read through the padding get nan.  Both backends give
    torch's nan pattern for every gradient, without a numpy warning."""
    from convtheory.nn.conv_plan import ConvPlan
    from convtheory.spec import ConvSpec
    spec = ConvSpec(w_shape, x_shape, **conv)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2,) + x_shape), rng.standard_normal(w_shape)
    g = rng.standard_normal((2,) + spec.output_shape)
    g[(0, 0) + (0,) * spec.ndim] = value
    plan = ConvPlan(spec, backend)
    plan.forward(x, w)
    got = plan.backward(g, w)
    _, *expected = torch_conv(x, w, np.zeros(w_shape[0]), g, **conv)
    for a, r in zip(got, expected):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(r))
        np.testing.assert_allclose(np.nan_to_num(a), np.nan_to_num(r), rtol=1e-12, atol=1e-12)
    assert np.isnan(got[1]).any()  # the case is one where the padding matters
