"""im2col/col2im against torch's unfold/fold and the conv matrix; col2im is the adjoint."""

import numpy as np
import pytest

from convtheory import ConvSpec, conv_matrix
from convtheory.im2col import Im2col, col2im, im2col

try:
    import torch
except ImportError:  # only the tests marked torch compare with it; tests/conftest.py skips those
    torch = None

SPECS = [
    dict(),
    dict(stride=2, padding=1),
    dict(dilation=(2, 1), padding=(2, 0)),
    dict(stride=(1, 3), padding=((0, 2), (1, 0))),
]


@pytest.mark.torch
@pytest.mark.parametrize("conv", SPECS, ids=repr)
def test_im2col_matches_torch_unfold_and_fold(conv):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 7, 8))
    spec = ConvSpec((1, 3, 3, 2), x.shape[1:], **conv)
    pads = spec.padding
    xt = torch.nn.functional.pad(torch.from_numpy(x), (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    ref = torch.nn.functional.unfold(xt, (3, 2), dilation=spec.dilation, stride=spec.stride)
    cols = im2col(x, spec)  # (C, K, N, P); unfold gives (N, C*K, P)
    np.testing.assert_array_equal(cols.transpose(2, 0, 1, 3).reshape(ref.shape), ref.numpy())
    g = rng.standard_normal(cols.shape)
    gt = torch.from_numpy(g.transpose(2, 0, 1, 3).reshape(ref.shape).copy())
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spec.input_spatial, pads))
    folded = torch.nn.functional.fold(gt, padded, (3, 2), dilation=spec.dilation, stride=spec.stride)
    inner = folded[:, :, pads[0][0]:padded[0] - pads[0][1], pads[1][0]:padded[1] - pads[1][1]]
    np.testing.assert_allclose(col2im(g, spec), inner.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect", "replicate"])
@pytest.mark.parametrize("flip", [False, True])
def test_im2col_product_is_the_conv_matrix(mode, flip):
    rng = np.random.default_rng(9)
    w = rng.standard_normal((4, 2, 3, 2, 2))
    x = rng.standard_normal((2, 2, 4, 5, 3))
    spec = ConvSpec(w.shape, x.shape[1:], padding=1, stride=(1, 2, 1), padding_mode=mode, flip=flip)
    y = w.reshape(4, -1) @ im2col(x, spec).reshape(w[0].size, -1)
    M = conv_matrix(w, spec)
    ref = np.stack([M @ xi.ravel() for xi in x])
    np.testing.assert_allclose(y.reshape(4, 2, -1).transpose(1, 0, 2).reshape(2, -1), ref, rtol=0, atol=1e-12)
    c = rng.standard_normal((2, w[0, 0].size, 2, int(np.prod(spec.output_spatial))))
    assert abs(np.vdot(im2col(x, spec), c) - np.vdot(x, col2im(c, spec))) < 1e-10


def test_buffer_is_reused_and_padding_keeps_its_fill():
    spec = ConvSpec((1, 1, 3), (1, 4), padding=1)
    gather = Im2col(spec, fill_value=-np.inf)
    first = gather(np.ones((1, 1, 4)))
    second = gather(2 * np.ones((1, 1, 4)))
    assert first is second  # one buffer, rewritten
    assert second[0, 0, 0, 0] == -np.inf and second[0, 1, 0, 0] == 2.0


@pytest.mark.parametrize("call, match", [
    (lambda: im2col(np.ones((1, 2, 4)), ConvSpec((3,), (4,))), r"x must have shape \(N,\) \+ \(1, 4\)"),
    (lambda: col2im(np.ones((1, 3, 1, 3)), ConvSpec((3,), (4,))), r"cols must have shape \(1, 3, N, 2\)"),
    (lambda: Im2col((3,)), "spec must be a ConvSpec"),
    # 64 * 9 * 32 * 222**2 * 4 bytes; a broadcast view: the refusal comes before any allocation.
    (lambda: Im2col(ConvSpec((64, 64, 3, 3), (64, 224, 224)))(
        np.broadcast_to(np.float32(0), (32, 64, 224, 224))),
     r"im2col of a batch of 32 .* would need about 3.4 GiB, over max_bytes=2,147,483,648 \(2.0 GiB\); process the batch in smaller chunks"),
])
def test_im2col_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_out_is_overwritten_entirely_padding_included():
    spec = ConvSpec((1, 1, 3), (1, 4), padding=1)
    x = np.arange(1.0, 5.0).reshape(1, 1, 4)
    for fill in (0.0, -np.inf):
        out = np.full((1, 3, 1, 4), 7.0)  # garbage where the padding taps land
        got = Im2col(spec, fill_value=fill)(x, out=out)
        assert got is out
        np.testing.assert_array_equal(got, im2col(x, spec, fill_value=fill))
        assert got[0, 0, 0, 0] == fill and got[0, 2, 0, 3] == fill


def test_adjoint_out_is_overwritten():
    spec = ConvSpec((1, 1, 3), (1, 4), padding=1)
    c = np.random.default_rng(5).standard_normal((1, 3, 2, 4))
    out = np.full((2, 1, 4), 7.0)
    assert Im2col(spec).adjoint(c, out=out) is out
    np.testing.assert_array_equal(out, col2im(c, spec))


@pytest.mark.parametrize("call, match", [
    (lambda: Im2col(ConvSpec((1, 1, 3), (1, 4), padding=1))(np.ones((2, 1, 4)), out=np.zeros((1, 3, 1, 4))),
     r"out must be an ndarray of shape \(1, 3, 2, 4\) and dtype float64, got shape \(1, 3, 1, 4\)"),
    (lambda: Im2col(ConvSpec((1, 1, 3), (1, 4), padding=1))(np.ones((1, 1, 4)),
                                                          out=np.zeros((1, 3, 1, 4), np.float32)),
     r"out must be .* dtype float64, got shape \(1, 3, 1, 4\) and dtype float32"),
    (lambda: Im2col(ConvSpec((1, 1, 3), (1, 4), padding=1))(np.ones((1, 1, 4)), out=[0.0]),
     r"out must be an ndarray .* got list"),
    (lambda: Im2col(ConvSpec((1, 1, 3), (1, 4), padding=1)).adjoint(np.ones((1, 3, 1, 4)), out=np.zeros((1, 1, 5))),
     r"out must be an ndarray of shape \(1, 1, 4\) and dtype float64, got shape \(1, 1, 5\)"),
])
def test_out_is_checked(call, match):
    with pytest.raises(ValueError, match=match):
        call()
