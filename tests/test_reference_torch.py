"""conv_matrix and conv_operator against PyTorch, entry for entry.

Hypothesis draws random geometries (d = 1, 2, 3; every padding form and
boundary mode; stride, dilation, groups; odd and even kernels; flip) and
compares, in float64:

* ``conv_matrix(w, ...) @ x.ravel()`` with ``torch.nn.ConvNd`` (or, for the
  forms PyTorch lacks, ``F.pad(mode=...)`` followed by a valid conv);
* ``M.T @ g`` with autograd's input gradient;
* ``conv_operator`` (direct and FFT paths) with ``conv_matrix``, and the dot test.

The runs are derandomized (seeded by the test's name), so CI is repeatable.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from convtheory import ConvSpec, conv_matrix, conv_operator, dot_test

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = [
    pytest.mark.torch,
    pytest.mark.filterwarnings("ignore:Using padding='same'"),
]

# float64 sums of at most a few hundred O(1) products: 1e-11 leaves ~4 digits
# of slack over the rounding error, and any index error is O(1).
ATOL = 1e-11

SETTINGS = dict(derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
TORCH_PAD_MODE = {"zeros": "constant", "circular": "circular", "reflect": "reflect",
                  "replicate": "replicate"}
PADDING_FORMS = ("int", "tuple", "pairs", "valid", "same", "full")


@st.composite
def configs(draw, *, forms=PADDING_FORMS, modes=tuple(TORCH_PAD_MODE)):  # PyTorch has no "symmetric"
    """A valid conv geometry, as the keyword arguments a user would write.

    Returns ``(weight_shape, input_shape, kwargs, pads, seed)`` where
    ``pads`` are the resolved ``(lo, hi)`` pairs (computed here independently
    of :mod:`convtheory.geometry`, from PyTorch's documented rules) and
    ``seed`` seeds the random weights and inputs.
    """
    d = draw(st.sampled_from((1, 2, 3)))
    kmax, extra = (3, 2) if d == 3 else (4, 4)
    groups = draw(st.sampled_from((1, 1, 2, 3)))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, kmax)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d))
    mode = draw(st.sampled_from(modes))
    form = draw(st.sampled_from(forms))
    stride = (1,) * d if form == "same" else tuple(draw(st.integers(1, 3)) for _ in range(d))
    totals = [dd * (kk - 1) for kk, dd in zip(k, dilation)]
    if form == "int":
        p = draw(st.integers(0, 2))
        padding, pads = p, [(p, p)] * d
    elif form == "tuple":
        padding = tuple(draw(st.integers(0, 2)) for _ in range(d))
        pads = [(p, p) for p in padding]
    elif form == "pairs":
        padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(d))
        pads = list(padding)
    elif form == "valid":
        padding, pads = "valid", [(0, 0)] * d
    elif form == "same":
        # PyTorch: total d*(k-1), lo = total // 2, the extra element on the high side.
        padding, pads = "same", [(t // 2, t - t // 2) for t in totals]
    else:
        padding, pads = "full", [(t, t) for t in totals]
    n = []
    for t, (lo, hi) in zip(totals, pads):
        smallest = max(1, t + 1 - lo - hi)
        if mode == "reflect":
            smallest = max(smallest, lo + 1, hi + 1)   # torch: reflect pad < input size
        if mode == "circular":
            smallest = max(smallest, lo, hi)           # torch: circular pad <= input size
        n.append(draw(st.integers(smallest, smallest + extra)))
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=mode, flip=draw(st.booleans()))
    # Sometimes give stride/dilation as plain ints, as users do.
    if len(set(stride)) == 1 and draw(st.booleans()):
        kwargs["stride"] = stride[0]
    if len(set(dilation)) == 1 and draw(st.booleans()):
        kwargs["dilation"] = dilation[0]
    seed = draw(st.integers(0, 2**32 - 1))
    # Shown by --hypothesis-show-statistics: every form and mode is reached.
    event(f"d={d} padding={form} mode={mode}")
    return (c_out, c_in // groups) + k, (c_in,) + tuple(n), kwargs, pads, seed


def torch_conv(w, x, kwargs, pads):
    """The PyTorch layer ``nn.ConvNd(bias=False)`` applied to a batch of one.

    Padding forms that ``nn.ConvNd`` takes (int, per-dim tuple, "valid",
    "same") go to the layer as they are.  ``(lo, hi)`` pairs and "full",
    which it lacks, become ``F.pad(mode=...)`` followed by a valid conv.
    """
    d = w.ndim - 2
    padding = kwargs["padding"]
    flip = kwargs["flip"]
    weight = torch.from_numpy(w)
    if flip:   # true convolution = correlation with the flipped kernel
        weight = weight.flip(list(range(2, 2 + d)))
    native = padding in ("valid", "same") or isinstance(padding, int) or all(
        isinstance(p, int) for p in padding)
    if not native:
        flat = [p for lo_hi in reversed(pads) for p in lo_hi]  # F.pad: last axis first
        mode = TORCH_PAD_MODE[kwargs["padding_mode"]]
        x = F.pad(x, flat, mode=mode) if mode != "constant" else F.pad(x, flat)
        padding = 0
    layer = CONV[d](w.shape[1] * kwargs["groups"], w.shape[0], w.shape[2:],
                    stride=kwargs["stride"], padding=padding, dilation=kwargs["dilation"],
                    groups=kwargs["groups"], bias=False,
                    padding_mode=kwargs["padding_mode"] if native else "zeros",
                    dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(weight)
    return layer(x)


def _forward_and_gradient(w, input_shape, kwargs, pads, rng):
    x = torch.from_numpy(rng.standard_normal((1,) + input_shape)).requires_grad_(True)
    y = torch_conv(w, x, kwargs, pads)
    g = rng.standard_normal(tuple(y.shape))
    y.backward(torch.from_numpy(g))
    return x.detach().numpy()[0], y.detach().numpy()[0], g[0], x.grad.numpy()[0]


@settings(max_examples=1200, **SETTINGS)
@given(configs())
def test_conv_matrix_equals_torch(config):
    weight_shape, input_shape, kwargs, pads, seed = config
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(weight_shape)
    x, y, g, grad_x = _forward_and_gradient(w, input_shape, kwargs, pads, rng)

    if weight_shape[:2] == (1, 1) and seed % 2:  # the single-channel shorthand
        M = conv_matrix(w[0, 0], input_shape[1:], **kwargs)
    else:
        M = conv_matrix(w, input_shape, **kwargs)
    spec = ConvSpec(weight_shape, input_shape, **kwargs)
    assert spec.padding == tuple(pads)
    assert spec.output_shape == y.shape
    assert M.shape == (y.size, x.size)
    np.testing.assert_allclose(M @ x.ravel(), y.ravel(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(M.T @ g.ravel(), grad_x.ravel(), rtol=0, atol=ATOL)


@settings(max_examples=200, **SETTINGS)
@given(configs(forms=("pairs",), modes=("circular", "reflect", "replicate")))
def test_unequal_padding_equals_fpad_then_valid_conv(config):
    # The boundary modes with (lo, hi) pairs are where an off-by-one hides;
    # the reference is written out here without nn.ConvNd's own padding.
    weight_shape, input_shape, kwargs, pads, seed = config
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(weight_shape)
    x = rng.standard_normal(input_shape)
    d = len(input_shape) - 1
    flat = [p for lo_hi in reversed(pads) for p in lo_hi]
    xp = F.pad(torch.from_numpy(x)[None], flat, mode=kwargs["padding_mode"])
    weight = torch.from_numpy(w)
    if kwargs["flip"]:
        weight = weight.flip(list(range(2, 2 + d)))
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[d]
    y = conv(xp, weight, stride=kwargs["stride"], dilation=kwargs["dilation"],
             groups=kwargs["groups"]).numpy()[0]
    M = conv_matrix(w, input_shape, **kwargs)
    np.testing.assert_allclose(M @ x.ravel(), y.ravel(), rtol=0, atol=ATOL)


def _check_operator(A, M, rng):
    m, n = M.shape
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    X, Y = rng.standard_normal((n, 3)), rng.standard_normal((m, 2))
    np.testing.assert_allclose(A.matvec(x), M @ x, rtol=0, atol=ATOL)
    np.testing.assert_allclose(A.rmatvec(y), M.T @ y, rtol=0, atol=ATOL)
    np.testing.assert_allclose(A.matmat(X), M @ X, rtol=0, atol=ATOL)
    np.testing.assert_allclose(A.rmatmat(Y), M.T @ Y, rtol=0, atol=ATOL)
    np.testing.assert_allclose(A.H @ y, M.T @ y, rtol=0, atol=ATOL)
    verdict = dot_test(A)
    assert verdict and verdict.method == "sampled", verdict


@settings(max_examples=400, **SETTINGS)
@given(configs())
def test_conv_operator_direct_equals_conv_matrix(config):
    weight_shape, input_shape, kwargs, _, seed = config
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(weight_shape)
    A = conv_operator(w, input_shape, method="direct", **kwargs)
    _check_operator(A, conv_matrix(w, input_shape, **kwargs), rng)


@settings(max_examples=200, **SETTINGS)
@given(configs(forms=("same",), modes=("circular",)))
def test_conv_operator_fft_equals_conv_matrix(config):
    # Circular "same" with stride 1 is exactly the FFT path's domain.
    weight_shape, input_shape, kwargs, _, seed = config
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(weight_shape)
    A = conv_operator(w, input_shape, method="fft", **kwargs)
    assert A.method == "fft"
    _check_operator(A, conv_matrix(w, input_shape, **kwargs), rng)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_conv_operator_complex_weights(method):
    # The adjoint conjugates the weights; a real-only test would miss a lost conj.
    rng = np.random.default_rng(90210)
    w = rng.standard_normal((4, 2, 3, 2)) + 1j * rng.standard_normal((4, 2, 3, 2))
    kw = dict(padding="same", padding_mode="circular", groups=2)
    A = conv_operator(w, (4, 6, 5), method=method, **kw)
    M = conv_matrix(w, (4, 6, 5), **kw)
    m, n = M.shape
    x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    y = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    np.testing.assert_allclose(A @ x, M @ x, rtol=0, atol=ATOL)
    np.testing.assert_allclose(A.rmatvec(y), M.conj().T @ y, rtol=0, atol=ATOL)
    assert dot_test(A)


def test_conv_operator_layer_scale_equals_torch():
    # The 64->64, 3x3 layer on 56x56 (113 M virtual nonzeros), matrix-free,
    # checked forward and adjoint against PyTorch.
    rng = np.random.default_rng(5656)
    w = rng.standard_normal((64, 64, 3, 3))
    A = conv_operator(w, (64, 56, 56), padding=1)
    x = torch.from_numpy(rng.standard_normal((1, 64, 56, 56))).requires_grad_(True)
    y = F.conv2d(x, torch.from_numpy(w), padding=1)
    g = rng.standard_normal(tuple(y.shape))
    y.backward(torch.from_numpy(g))
    np.testing.assert_allclose(A @ x.detach().numpy().ravel(), y.detach().numpy().ravel(),
                               rtol=0, atol=1e-10)  # sums of 576 products of O(1) terms
    np.testing.assert_allclose(A.rmatvec(g.ravel()), x.grad.numpy().ravel(), rtol=0, atol=1e-10)


def test_reference_catches_a_wrong_matrix():
    # The comparison above can fail: a matrix for the wrong padding split
    # (extra element on the low side) disagrees with PyTorch's "same".
    rng = np.random.default_rng(31337)
    w = rng.standard_normal((1, 1, 4))
    x = rng.standard_normal((1, 9))
    y = torch_conv(w, torch.from_numpy(x[None]),
                   dict(padding="same", stride=1, dilation=1, groups=1,
                        padding_mode="zeros", flip=False), [(1, 2)]).detach().numpy()[0]
    wrong = conv_matrix(w, (1, 9), padding=((2, 1),))
    assert not np.allclose(wrong @ x.ravel(), y.ravel(), atol=ATOL)
    right = conv_matrix(w, (1, 9), padding="same")
    np.testing.assert_allclose(right @ x.ravel(), y.ravel(), rtol=0, atol=ATOL)
