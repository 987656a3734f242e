"""The flat gather of stride-1 convs, and the layer paths built on it.

Checked against :class:`~convtheory.im2col.Im2col` (entry for entry), the
explicit matrix (``backend="matrix"``) and PyTorch, for every boundary mode,
dilation, groups (depthwise included) and 1-, 2- and 3-D, with the default
blocks and with blocks of a few columns (block edges inside a sample and
blocks of several samples).
"""

import numpy as np
import pytest

import convtheory.flat_gather as flat_module
from convtheory.flat_gather import FlatGather
from convtheory.im2col import Im2col
import convtheory.nn as cnn
from convtheory.nn import conv_plan
from convtheory.nn import functional as F
from convtheory.spec import ConvSpec

try:
    import torch
except ImportError:  # only the tests marked torch compare with it; tests/conftest.py skips those
    torch = None

MODES = ["zeros", "circular", "reflect", "replicate", "symmetric"]
TORCH_MODES = ["zeros", "circular", "reflect", "replicate"]

# (weight shape, batch + input shape, conv options); every one has stride 1.
GEOMETRIES = [
    ((2, 3, 5), (2, 3, 11), dict(padding=2)),                        # Conv1d, k = 5
    ((2, 3, 3), (3, 3, 12), dict(padding=2, dilation=2)),
    ((4, 2, 3, 3), (2, 2, 7, 8), dict(padding=2, dilation=2)),      # dilated Conv2d
    ((3, 2, 2, 3), (2, 2, 6, 7), dict(padding=((1, 0), (2, 1)))),   # uneven padding
    ((4, 1, 3, 3), (3, 4, 7, 6), dict(padding=1, groups=4)),        # depthwise
    ((6, 1, 3, 3), (2, 3, 6, 6), dict(padding="same", groups=3)),   # 2 outputs per group
    ((4, 2, 3, 3), (2, 4, 5, 6), dict(padding=1, groups=2)),
    ((2, 3, 3, 3, 3), (2, 3, 5, 4, 6), dict(padding=1)),            # Conv3d
    ((2, 2, 2, 3, 2), (1, 2, 4, 6, 5), dict(padding=1, dilation=(1, 2, 1))),
]
IDS = [f"{len(w) - 2}d-{i}" for i, (w, _, _) in enumerate(GEOMETRIES)]
# torch.nn.ConvNd pads evenly; the uneven geometry is checked against the matrix only.
TORCH_GEOMETRIES = [(g, i) for g, i in zip(GEOMETRIES, IDS) if not isinstance(g[2]["padding"], tuple)]
CONV = {1: (F.conv1d, F.conv1d_backward), 2: (F.conv2d, F.conv2d_backward),
        3: (F.conv3d, F.conv3d_backward)}

# float64: the same products summed in another order (blocks, BLAS); 1e-12 of
# the largest entry is ~1e4 ulps, far above reordering noise.
TOL64 = 1e-12
# float32 against a float64 reference: a few ulps (1.2e-7) per term of sums of
# up to 2 * 54 terms, relative to the largest entry.
TOL32 = 1e-5


@pytest.fixture(params=["default", "tiny"])
def blocks(request, monkeypatch):
    """The default blocks, or blocks of a few columns (edges inside a sample, several per sample)."""
    if request.param == "tiny":
        monkeypatch.setattr(flat_module, "BLOCK_BYTES", 7 * 8 * 54)
    return request.param


def _spec_and_data(geometry, mode, dtype, seed=0):
    w_shape, x_shape, conv = geometry
    groups = conv.get("groups", 1)
    spec = ConvSpec(w_shape, x_shape[1:], padding_mode=mode, **conv)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    g = rng.standard_normal((x_shape[0],) + spec.output_shape).astype(dtype)
    return spec, x, w, b, g, dict(conv, groups=groups, padding_mode=mode)


def _close(actual, expected, tol):
    """Entry for entry within ``tol`` of the largest entry of the reference."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    scale = max(float(np.max(np.abs(expected))), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol * scale)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_gather_is_im2col_at_the_outputs(geometry, mode, blocks):
    """Cropped to the true outputs, every block of the flat gather is im2col, exactly."""
    spec, x, *_ = _spec_and_data(geometry, mode, "float64")
    flat = FlatGather(spec)
    n, c = x.shape[:2]
    expected = Im2col(spec)(x).reshape((c, flat.k_vol, n) + spec.output_spatial)
    got = np.full((c, flat.k_vol, n, flat.length), np.nan)
    xp = flat.pad(x)
    for block in flat.blocks(n, x.itemsize):
        n0, n1, s, e = block
        got[:, :, n0:n1, s:e] = flat.gather(xp, block).reshape(c, flat.k_vol, n1 - n0, e - s)
    np.testing.assert_array_equal(flat.crop(got), expected)
    assert not np.isnan(got).any()  # the blocks cover every column


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_one_view_of_all_taps_is_the_gather_tap_by_tap(geometry, blocks):
    """The gather's one strided copy of every tap equals one copy per tap from the offsets."""
    spec, x, *_ = _spec_and_data(geometry, "reflect", "float64")
    fast, slow = FlatGather(spec), FlatGather(spec)
    assert fast._taps is not None  # every stride-1 geometry here takes the one-copy path
    slow._taps = None
    xp = fast.pad(x)
    for block in fast.blocks(x.shape[0], x.itemsize):
        expected = slow.gather(xp, block).copy()
        np.testing.assert_array_equal(fast.gather(xp, block), expected)
        # Tap j of the columns is the run at offsets[j]: the loop is an independent reference.
        n0, n1, s, e = block
        j = spec.n_weights // spec.out_channels // 2
        start = slow.offsets[j % fast.k_vol]
        np.testing.assert_array_equal(
            expected.reshape(x.shape[1], fast.k_vol, n1 - n0, e - s)[:, j % fast.k_vol],
            xp[n0:n1, :, start + s:start + e].swapaxes(0, 1))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_layer_matches_the_matrix(geometry, mode, blocks):
    """Forward, input, weight and bias gradients against y = M x, float64 to 1e-12."""
    spec, x, w, b, g, conv = _spec_and_data(geometry, mode, "float64", seed=1)
    conv_fn, backward = CONV[spec.ndim]
    assert F.ConvPlan(spec)._flat is not None  # the path under test
    _close(conv_fn(x, w, b, **conv), conv_fn(x, w, b, backend="matrix", **conv), TOL64)
    for a, r in zip(backward(g, x, w, b, **conv), backward(g, x, w, b, backend="matrix", **conv)):
        _close(a, r, TOL64)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_float32_matches_float64(geometry, mode, blocks):
    """float32 through the flat path within 1e-5 of the float64 matrix's answer."""
    spec, x, w, b, g, conv = _spec_and_data(geometry, mode, "float32", seed=2)
    conv_fn, backward = CONV[spec.ndim]
    wide = [a.astype(np.float64) for a in (g, x, w, b)]
    y = conv_fn(x, w, b, **conv)
    _close(y.astype(np.float64), conv_fn(*wide[1:], backend="matrix", **conv), TOL32)
    for a, r in zip(backward(g, x, w, b, **conv), backward(*wide, backend="matrix", **conv)):
        assert a.dtype == np.float32
        _close(a.astype(np.float64), r, TOL32)


@pytest.mark.torch
@pytest.mark.parametrize("mode", TORCH_MODES)
@pytest.mark.parametrize("geometry", [g for g, _ in TORCH_GEOMETRIES],
                         ids=[i for _, i in TORCH_GEOMETRIES])
@pytest.mark.parametrize("dtype, tol", [("float64", TOL64), ("float32", TOL32)])
def test_layer_matches_torch(geometry, mode, dtype, tol, blocks):
    """The layer on the flat path against torch.nn.ConvNd autograd (torch's mode names)."""
    spec, x, w, b, g, conv = _spec_and_data(geometry, mode, dtype, seed=3)
    d = spec.ndim
    layer = getattr(torch.nn, f"Conv{d}d")(
        spec.in_channels, spec.out_channels, spec.kernel_size, padding=_torch_padding(spec),
        dilation=spec.dilation, groups=spec.groups, padding_mode=mode,
        dtype=getattr(torch, dtype))
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
        layer.bias.copy_(torch.from_numpy(b))
    xt = torch.from_numpy(x).requires_grad_()
    yt = layer(xt)
    yt.backward(torch.from_numpy(g))
    ours = getattr(cnn, f"Conv{d}d")(
        spec.in_channels, spec.out_channels, spec.kernel_size, padding=conv["padding"],
        dilation=conv.get("dilation", 1), groups=spec.groups, padding_mode=mode, dtype=dtype)
    ours.weight.data[...] = w
    ours.bias.data[...] = b
    y = ours(x)
    gx = ours.backward(g)
    _close(y, yt.detach().numpy(), tol)
    _close(gx, xt.grad.numpy(), tol)
    _close(ours.weight.grad, layer.weight.grad.numpy(), tol)
    _close(ours.bias.grad, layer.bias.grad.numpy(), tol)


def _torch_padding(spec):
    return tuple(lo for lo, _ in spec.padding)


# ---- an inf or a nan that only the spill columns read --------------------------
@pytest.mark.parametrize("geometry", [GEOMETRIES[2], GEOMETRIES[4], GEOMETRIES[7]],
                         ids=["dense", "depthwise", "3d"])
def test_an_inf_in_the_input_gives_the_exact_weight_gradient(geometry, blocks):
    """The last input column is read by spill columns through tap 0: 0 * inf must not leak."""
    spec, x, w, b, g, conv = _spec_and_data(geometry, "zeros", "float64", seed=4)
    x[..., -1] = np.inf
    conv_fn, backward = CONV[spec.ndim]
    with np.errstate(invalid="ignore"):  # inf - inf in the true sums, on both sides
        got = backward(g, x, w, b, **conv)
        expected = backward(g, x, w, b, backend="matrix", **conv)
    for a, r in zip(got, expected):
        np.testing.assert_array_equal(np.isfinite(a), np.isfinite(r))
        np.testing.assert_array_equal(np.isnan(a), np.isnan(r))
        finite = np.isfinite(r)
        assert finite.any()  # the case is not vacuous
        np.testing.assert_allclose(a[finite], r[finite], rtol=0,
                                   atol=TOL64 * max(1.0, np.abs(r[finite]).max()))


def test_the_spill_really_reads_the_inf():
    """Without the guard the weight gradient would be nan: the test above can fail."""
    spec, x, w, b, g, conv = _spec_and_data(GEOMETRIES[4], "zeros", "float64", seed=4)
    x[..., -1] = np.inf
    flat = FlatGather(spec)
    xc = flat.pad_channels(x)
    grad_c = np.zeros_like(xc)
    flat.crop_channels(grad_c)[...] = g.swapaxes(0, 1)
    with np.errstate(invalid="ignore"):
        raw = flat.depthwise_weight_grad(xc, grad_c)
        exact = flat.depthwise_weight_grad(xc, grad_c, spill=False)
    assert np.isnan(raw).any() and not np.isnan(exact).all()
    assert np.isfinite(exact).sum() > np.isfinite(raw).sum()


@pytest.mark.parametrize("geometry", [GEOMETRIES[2], GEOMETRIES[4], GEOMETRIES[6]],
                         ids=["dense", "depthwise", "groups"])
def test_an_inf_in_the_weight_gives_the_exact_input_gradient(geometry, blocks):
    """inf * 0 on the spill columns must not reach the input gradient."""
    spec, x, w, b, g, conv = _spec_and_data(geometry, "reflect", "float64", seed=5)
    w.reshape(-1)[0] = np.inf
    conv_fn, backward = CONV[spec.ndim]
    with np.errstate(invalid="ignore"):  # inf - inf in the true sums, on both sides
        got = backward(g, x, w, b, **conv)[:2]
        expected = _im2col_backward(spec, g, x, w)  # the matrix refuses an infinite weight
    for a, r in zip(got, expected):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(r))
        finite = np.isfinite(r)
        np.testing.assert_array_equal(np.isfinite(a), finite)
        np.testing.assert_allclose(a[finite], r[finite], rtol=0,
                                   atol=TOL64 * max(1.0, np.abs(r[finite]).max()))


def _im2col_backward(spec, g, x, w):
    """(grad_input, grad_weight) from im2col and col2im over the true outputs only."""
    n, groups = x.shape[0], spec.groups
    k_vol = int(np.prod(spec.kernel_size))
    cols = Im2col(spec)(x).reshape(groups, -1, n * int(np.prod(spec.output_spatial)))
    g2 = np.ascontiguousarray(g.reshape(n, spec.out_channels, -1).swapaxes(0, 1))
    g2 = g2.reshape(groups, spec.out_channels_per_group, -1)
    w2 = w.reshape(groups, spec.out_channels_per_group, -1)
    gcols = np.matmul(w2.transpose(0, 2, 1), g2)
    gx = Im2col(spec).adjoint(gcols.reshape(spec.in_channels, k_vol, n, -1))
    gw = np.matmul(g2, cols.transpose(0, 2, 1)).reshape(w.shape)
    return gx, gw


@pytest.mark.parametrize("geometry", [GEOMETRIES[2], GEOMETRIES[6], GEOMETRIES[7]],
                         ids=["scatter-add", "correlation", "3d-correlation"])
def test_a_nan_in_the_gradient_propagates(geometry, blocks, monkeypatch):
    """A nan of the output gradient reaches exactly the input gradient entries it touches."""
    monkeypatch.setattr(conv_plan, "CORRELATE_TAPS", 0)  # the correlation wherever C_out <= C_in
    spec, x, w, b, g, conv = _spec_and_data(geometry, "zeros", "float64", seed=6)
    assert conv_plan._correlate(spec) == (geometry is not GEOMETRIES[2])
    g[(0, 0) + (0,) * spec.ndim] = np.nan
    gx, gw, gb = CONV[spec.ndim][1](g, x, w, b, **conv)
    ref_gx, _ = _im2col_backward(spec, g, x, w)
    np.testing.assert_array_equal(np.isnan(gx), np.isnan(ref_gx))
    assert np.isnan(gx[0]).any() and not np.isnan(gx[1]).any()
    assert np.isnan(gw[0]).all() and not np.isnan(gw[1:]).any()
    assert np.isnan(gb[0]) and not np.isnan(gb[1:]).any()


# ---- the input gradient as a correlation of the output gradient ------------------
# Every geometry but the depthwise one (one channel pair per group has a path of its own).
DENSE = [(g, i) for g, i in zip(GEOMETRIES, IDS) if g[0][1] > 1 or g[0][0] > g[2].get("groups", 1)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("geometry", [g for g, _ in DENSE], ids=[i for _, i in DENSE])
def test_the_input_gradient_as_a_correlation(geometry, mode, blocks, monkeypatch):
    """grad_padded, grad_gather, w_flipped @ cols and grad_input give M^T g to 1e-12,
    for every geometry (the layer takes this path only where C_out <= C_in)."""
    monkeypatch.setattr(conv_plan, "CORRELATE_TAPS", 0)  # whatever the kernel
    spec, x, w, b, g, conv = _spec_and_data(geometry, mode, "float64", seed=7)
    flat = FlatGather(spec)
    n, groups = x.shape[0], spec.groups
    cpo, cpi = spec.out_channels_per_group, spec.in_channels_per_group
    lo, hi = flat.grad_span
    assert (lo, hi) == (0, flat.volume) if mode != "zeros" else 0 < lo < hi < flat.volume
    gp = flat.grad_padded(g)
    w_f = w.reshape(groups, cpo, cpi, flat.k_vol).transpose(0, 2, 1, 3).reshape(groups, cpi, -1)
    gx = np.full((groups, cpi, n, hi - lo), np.nan)
    for block in flat.grad_blocks(n, g.itemsize):
        n0, n1, s, e = block
        cols = flat.grad_gather(gp, block).reshape(groups, cpo * flat.k_vol, -1)
        gx[:, :, n0:n1, s:e] = (w_f @ cols).reshape(groups, cpi, n1 - n0, e - s)
    got = flat.grad_input(gx.reshape(spec.in_channels, n, hi - lo))
    expected = CONV[spec.ndim][1](g, x, w, b, backend="matrix", **conv)[0]
    _close(got, expected, TOL64)
    # The layer takes the correlation exactly where C_out <= C_in per group.
    plan = F.ConvPlan(spec)
    plan.forward(x, w, b)
    _close(plan.backward(g, w)[0], expected, TOL64)
    assert ("grad_margin" in plan._flat._buffers) == (cpo <= cpi)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("w_shape, correlate", [((6, 6, 3, 3, 3), True), ((6, 6, 3, 3, 2), False),
                                                ((6, 5, 3, 3, 3), False)],
                         ids=["27-taps", "18-taps", "more-outputs"])
def test_the_layer_correlates_from_enough_taps(dtype, w_shape, correlate):
    """A 3x3x3 kernel and C_out <= C_in: the correlation; fewer taps or more outputs than
    inputs: the scatter-add.  Both against the float64 matrix."""
    x_shape, conv = (2, w_shape[1], 4, 5, 3), dict(padding=1)
    spec, x, w, b, g, conv = _spec_and_data((w_shape, x_shape, conv), "zeros", dtype, seed=8)
    assert conv_plan._correlate(spec) == correlate
    plan = F.ConvPlan(spec)
    plan.forward(x, w, b)
    got = plan.backward(g, w)
    assert ("grad_margin" in plan._flat._buffers) == correlate
    wide = [a.astype(np.float64) for a in (g, x, w, b)]
    expected = F.conv3d_backward(*wide, backend="matrix", **conv)
    for a, r in zip(got, expected):
        assert a.dtype == np.dtype(dtype)
        _close(a.astype(np.float64), r, TOL64 if dtype == "float64" else TOL32)


def test_a_wrong_flip_fails_the_correlation():
    """The check above can fail: the unflipped weight gives another gradient."""
    spec, x, w, b, g, conv = _spec_and_data(GEOMETRIES[7], "zeros", "float64", seed=7)
    flat = FlatGather(spec)
    n = x.shape[0]
    lo, hi = flat.grad_span
    gp = flat.grad_padded(g)
    w_f = w.transpose(1, 0, 2, 3, 4).reshape(spec.in_channels, -1)
    w_wrong = w[:, :, ::-1, ::-1, ::-1].transpose(1, 0, 2, 3, 4).reshape(spec.in_channels, -1)
    expected = F.conv3d_backward(g, x, w, b, backend="matrix", **conv)[0]
    for weight, same in ((w_f, True), (w_wrong, False)):
        gx = np.empty((spec.in_channels, n, hi - lo))
        for n0, n1, s, e in flat.grad_blocks(n, g.itemsize):
            cols = flat.grad_gather(gp, (n0, n1, s, e)).reshape(spec.out_channels * flat.k_vol, -1)
            gx[:, n0:n1, s:e] = (weight @ cols).reshape(spec.in_channels, n1 - n0, e - s)
        assert np.allclose(flat.grad_input(gx), expected, rtol=0, atol=1e-12) == same


# ---- what the flat gather takes ------------------------------------------------
def test_applies_to_stride_one_only():
    assert FlatGather.applies(ConvSpec((3, 3), (8, 8), dilation=3, padding=3,
                                       padding_mode="symmetric"))
    assert not FlatGather.applies(ConvSpec((3, 3), (8, 8), stride=(1, 2)))
    assert not FlatGather.applies(ConvSpec((3,), (0,)))  # an empty input: nothing to gather
    with pytest.raises(ValueError, match=r"stride 1\).*got stride=\(2, 1\).*use convtheory.im2col"):
        FlatGather(ConvSpec((3, 3), (8, 8), stride=(2, 1)))
    with pytest.raises(TypeError, match="spec must be a ConvSpec, got None"):
        FlatGather(None)
    assert F.ConvPlan(ConvSpec((2, 2, 3), (2, 9), stride=2))._flat is None  # im2col serves it


def test_bad_arrays_are_refused():
    flat = FlatGather(ConvSpec((1, 2, 3, 3), (2, 5, 5), padding=1))
    with pytest.raises(ValueError, match=r"x must have shape \(N,\) \+ \(2, 5, 5\), "
                                         r"got x.shape=\(1, 3, 5, 5\)"):
        flat.pad(np.zeros((1, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"ext must end in an axis of length 33, "
                                         r"got ext.shape=\(2, 30\)"):
        flat.crop(np.zeros((2, 30)))


def test_a_huge_buffer_is_refused_before_allocating():
    flat = FlatGather(ConvSpec((1, 2, 3, 3), (2, 5, 5), padding=1), max_bytes=1000)
    with pytest.raises(ValueError, match="padded buffer"):
        flat.pad(np.zeros((100, 2, 5, 5)))
