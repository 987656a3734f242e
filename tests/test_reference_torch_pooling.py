"""Every pool against PyTorch, forward and backward, over a property-based sweep.

Hypothesis draws 1-D, 2-D and 3-D geometries (kernel, stride, padding up to
half the kernel, dilation, ceil_mode, count_include_pad, divisor_override,
adaptive output sizes smaller and larger than the input) and inputs with
ties (small integers), so PyTorch's tie rule is exercised; all in float64.
Compared: the nn.functional pools and their ``*_backward``, the layers,
``avg_pool_matrix`` / ``avg_pool_operator`` and ``max_pool_jacobian``.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convtheory import avg_pool_matrix, avg_pool_operator, max_pool_jacobian
from convtheory.pool_spec import pool_output_shape, pool_spec
from convtheory.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.torch

# float64 sums of at most a few hundred O(1) terms in another order: far
# below 1e-12; an index or divisor error is O(0.1) or more.
ATOL = 1e-12

SETTINGS = dict(derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def pools(draw, kind):
    d = draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 4)) for _ in range(d))
    s = tuple(draw(st.integers(1, 3)) for _ in range(d))
    p = tuple(draw(st.integers(0, ka // 2)) for ka in k)
    dil = tuple(draw(st.integers(1, 2)) for _ in range(d)) if kind == "max" else (1,) * d
    ceil_mode = draw(st.booleans())
    n = tuple(draw(st.integers(1, 9 if d < 3 else 6)) for _ in range(d))
    try:
        pool_output_shape(n, k, stride=s, padding=p, dilation=dil, ceil_mode=ceil_mode)
    except ValueError:
        n = tuple(da * (ka - 1) + 1 for ka, da in zip(k, dil))
    options = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode)
    # A dilated window can read only padding; there PyTorch's CPU kernel records an
    # index outside the plane and its backward writes into the next channel
    # (test_padding_only_window below pins our answer instead).
    if kind == "avg" and d == 3:  # PyTorch's avg_pool3d also refuses an input smaller than the kernel
        n = tuple(max(na, ka) for na, ka in zip(n, k))
    spec = pool_spec(n, k, stride=s, padding=p, dilation=dil, ceil_mode=ceil_mode)
    assume(all((spec.axis_table(i) >= 0).any(axis=1).all() for i in range(d)))
    if kind == "max":
        options["dilation"] = dil
    else:
        options["count_include_pad"] = draw(st.booleans())
        if d > 1 and draw(st.booleans()):  # PyTorch's avg_pool1d has no divisor_override
            options["divisor_override"] = draw(st.sampled_from([1, 3, -2]))
    ties = draw(st.booleans())
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + n
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=shape).astype(np.float64) if ties else rng.standard_normal(shape)
    return d, options, x, rng


def torch_pool(fn, x, g, **options):
    xt = torch.from_numpy(x).requires_grad_()
    y = fn(xt, **options)
    y.backward(torch.from_numpy(g.reshape(tuple(y.shape))))
    return y.detach().numpy(), xt.grad.numpy()


MAX = {1: (F.max_pool1d, F.max_pool1d_backward, TF.max_pool1d),
       2: (F.max_pool2d, F.max_pool2d_backward, TF.max_pool2d),
       3: (F.max_pool3d, F.max_pool3d_backward, TF.max_pool3d)}
AVG = {1: (F.avg_pool1d, F.avg_pool1d_backward, TF.avg_pool1d),
       2: (F.avg_pool2d, F.avg_pool2d_backward, TF.avg_pool2d),
       3: (F.avg_pool3d, F.avg_pool3d_backward, TF.avg_pool3d)}


@settings(max_examples=200, **SETTINGS)
@given(pools("max"))
def test_max_pool_matches_torch(case):
    d, options, x, rng = case
    fwd, bwd, ref = MAX[d]
    y = fwd(x, **options)
    g = rng.standard_normal(y.shape)
    yt, gt = torch_pool(ref, x, g, **options)
    np.testing.assert_array_equal(y, yt)
    np.testing.assert_allclose(bwd(g, x, **options), gt, rtol=0, atol=ATOL)
    # The Jacobian at x, per sample: J x is the output, J^T g torch's gradient.
    J = max_pool_jacobian(x[0], **options)
    # A dilated window of padding only is -inf, and its row of J is empty.
    np.testing.assert_array_equal(J @ x[0].ravel(), np.where(np.isinf(yt[0]), 0, yt[0]).ravel())
    np.testing.assert_allclose(J.T @ g[0].ravel(), torch_pool(ref, x[:1], g[:1], **options)[1].ravel(),
                               rtol=0, atol=ATOL)


@settings(max_examples=200, **SETTINGS)
@given(pools("avg"))
def test_avg_pool_matches_torch(case):
    d, options, x, rng = case
    fwd, bwd, ref = AVG[d]
    y = fwd(x, **options)
    g = rng.standard_normal(y.shape)
    yt, gt = torch_pool(ref, x, g, **options)
    np.testing.assert_allclose(y, yt, rtol=0, atol=ATOL)
    np.testing.assert_allclose(bwd(g, x, **options), gt, rtol=0, atol=ATOL)
    M = avg_pool_matrix(x.shape[1:], **options)
    A = avg_pool_operator(x.shape[1:], **options)
    np.testing.assert_allclose(M @ x[0].ravel(), yt[0].ravel(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(A @ x[0].ravel(), yt[0].ravel(), rtol=0, atol=ATOL)
    gt0 = torch_pool(ref, x[:1], g[:1], **options)[1].ravel()
    np.testing.assert_allclose(M.T @ g[0].ravel(), gt0, rtol=0, atol=ATOL)
    np.testing.assert_allclose(A.rmatvec(g[0].ravel()), gt0, rtol=0, atol=ATOL)


ADAPTIVE = {("avg", 1): (F.adaptive_avg_pool1d, F.adaptive_avg_pool1d_backward, TF.adaptive_avg_pool1d),
            ("avg", 2): (F.adaptive_avg_pool2d, F.adaptive_avg_pool2d_backward, TF.adaptive_avg_pool2d),
            ("avg", 3): (F.adaptive_avg_pool3d, F.adaptive_avg_pool3d_backward, TF.adaptive_avg_pool3d),
            ("max", 1): (F.adaptive_max_pool1d, F.adaptive_max_pool1d_backward, TF.adaptive_max_pool1d),
            ("max", 2): (F.adaptive_max_pool2d, F.adaptive_max_pool2d_backward, TF.adaptive_max_pool2d),
            ("max", 3): (F.adaptive_max_pool3d, F.adaptive_max_pool3d_backward, TF.adaptive_max_pool3d)}


@settings(max_examples=150, **SETTINGS)
@given(st.sampled_from(["avg", "max"]), st.integers(1, 3), st.data())
def test_adaptive_pool_matches_torch(kind, d, data):
    n = tuple(data.draw(st.integers(1, 10 if d < 3 else 6)) for _ in range(d))
    out = tuple(data.draw(st.integers(1, 12 if d < 3 else 7)) for _ in range(d))
    ties = data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    shape = (2, 2) + n
    x = rng.integers(-2, 3, size=shape).astype(np.float64) if ties else rng.standard_normal(shape)
    fwd, bwd, ref = ADAPTIVE[kind, d]
    y = fwd(x, out)
    g = rng.standard_normal(y.shape)
    yt, gt = torch_pool(ref, x, g, output_size=out)
    np.testing.assert_allclose(y, yt, rtol=0, atol=ATOL)
    np.testing.assert_allclose(bwd(g, x, out), gt, rtol=0, atol=ATOL)


# Values that stress the tie and NaN rules: few distinct values (ties), both zeros,
# both infinities and NaN.
SPECIAL = np.array([-2.0, -1.0, -0.0, 0.0, 1.0, 2.0, np.inf, -np.inf, np.nan])


@settings(max_examples=200, **SETTINGS)
@given(st.integers(1, 3), st.sampled_from([np.float64, np.float32]), st.data())
def test_adaptive_max_pool_uneven_windows_match_torch(d, dtype, data):
    # Windows whose starts are no progression take the stacked path (gathers, then
    # the winner slab by slab); PyTorch scans each window in row-major order.
    from convtheory.nn.functional_adaptive_pooling import AdaptivePoolPlan
    n = tuple(data.draw(st.integers(2, 11 if d < 3 else 6)) for _ in range(d))
    out = tuple(data.draw(st.integers(2, 12 if d < 3 else 7)) for _ in range(d))
    assume(AdaptivePoolPlan("max", out, n).windows.stacked)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    special = data.draw(st.sampled_from(["ties", "nan", "inf", "normal"]))
    shape = (2, 3) + n
    if special == "normal":
        x = rng.standard_normal(shape)
    else:
        pool = {"ties": SPECIAL[:6], "nan": SPECIAL, "inf": SPECIAL[:8]}[special]
        x = rng.choice(pool, size=shape)
    x = x.astype(dtype)
    fwd, bwd, ref = ADAPTIVE["max", d]
    y = fwd(x, out)
    g = rng.standard_normal(y.shape).astype(dtype)
    yt, gt = torch_pool(ref, x, g, output_size=out)
    assert y.dtype == dtype
    # The output is the winner's own value: equal bit for bit, -0.0 and NaN included.
    assert y.tobytes() == yt.tobytes()
    # Each input's gradient sums the outputs it wins, in the outputs' order, as in
    # PyTorch; float32 sums of a few such terms agree to a few ulps.
    tol = ATOL if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(bwd(g, x, out), gt, rtol=0, atol=tol)


@pytest.mark.parametrize("n, out", [((100,), (70,)), ((9, 130), (4, 67)), ((3, 70, 5), (2, 65, 3))])
@pytest.mark.parametrize("special", ["ties", "nan"])
def test_adaptive_max_pool_many_uneven_windows_match_torch(n, out, special):
    # Over 64 windows on an axis: folded by one gather per kernel position.
    from convtheory.nn.functional_adaptive_pooling import AdaptivePoolPlan
    assert AdaptivePoolPlan("max", out, n).windows.stacked
    rng = np.random.default_rng(6502)
    x = rng.choice(SPECIAL[:6] if special == "ties" else SPECIAL, size=(2, 3) + n)
    fwd, bwd, ref = ADAPTIVE["max", len(n)]
    y = fwd(x, out)
    g = rng.standard_normal(y.shape)
    yt, gt = torch_pool(ref, x, g, output_size=out)
    assert y.tobytes() == yt.tobytes()
    np.testing.assert_allclose(bwd(g, x, out), gt, rtol=0, atol=ATOL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d, options", [
    (1, dict(kernel_size=2)), (1, dict(kernel_size=3, stride=1, padding=1)),
    (2, dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
    (3, dict(kernel_size=2, stride=1)), (2, "adaptive")])
def test_max_pool_output_is_the_winners_own_value(d, options, dtype):
    # Windows that are progressions fold with np.maximum, which on a tie of 0.0 and
    # -0.0 keeps its second operand (x86): the output was 0.0 where the first
    # maximum, PyTorch's winner (and ours, as the gradient shows), is -0.0.
    rng = np.random.default_rng(1729)
    x = rng.choice([-1.0, -0.0, 0.0, -np.inf], size=(2, 3) + (6,) * d).astype(dtype)
    if options == "adaptive":
        fwd, bwd, ref = ADAPTIVE["max", d]
        options = dict(output_size=(3,) * d)
    else:
        fwd, bwd = getattr(F, f"max_pool{d}d"), getattr(F, f"max_pool{d}d_backward")
        ref = getattr(TF, f"max_pool{d}d")
    y = fwd(x, **options)
    g = rng.standard_normal(y.shape).astype(dtype)
    yt, gt = torch_pool(ref, x, g, **options)
    assert np.signbit(yt[yt == 0]).any() and not np.signbit(yt[yt == 0]).all()  # both won
    assert y.tobytes() == yt.tobytes()
    np.testing.assert_allclose(bwd(g, x, **options), gt, rtol=0, atol=1e-5)


def test_max_pool_nan_propagates_as_in_torch():
    x = np.array([[[1.0, np.nan, 3.0, np.nan, 2.0, 0.0]]])
    g = np.arange(1.0, 4.0).reshape(1, 1, 3)
    for options in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)):
        y = F.max_pool1d(x, **options)
        g = np.ones(y.shape)
        yt, gt = torch_pool(TF.max_pool1d, x, g, **options)
        np.testing.assert_array_equal(y, yt)
        np.testing.assert_array_equal(F.max_pool1d_backward(g, x, **options), gt)


@pytest.mark.parametrize("out", [1, 2, 3])
def test_adaptive_max_pool_nan_as_in_torch(out):
    x = np.array([[[1.0, np.nan, 3.0, np.nan, 2.0, 0.0, 5.0]]])
    y = F.adaptive_max_pool1d(x, out)
    g = np.arange(1.0, out + 1).reshape(y.shape)
    yt, gt = torch_pool(TF.adaptive_max_pool1d, x, g, output_size=out)
    np.testing.assert_array_equal(y, yt)
    np.testing.assert_array_equal(F.adaptive_max_pool1d_backward(g, x, out), gt)


def test_max_pool_of_minus_inf_selects_as_torch():
    x = np.full((1, 1, 4, 4), -np.inf)
    g = np.ones((1, 1, 2, 2))
    for options in (dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, ceil_mode=True)):
        y = F.max_pool2d(x, **options)
        g = np.arange(1.0, y.size + 1).reshape(y.shape)
        yt, gt = torch_pool(TF.max_pool2d, x, g, **options)
        np.testing.assert_array_equal(y, yt)
        np.testing.assert_array_equal(F.max_pool2d_backward(g, x, **options), gt)


@pytest.mark.parametrize("make, d", [
    (lambda nn: nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True), 1),
    (lambda nn: nn.MaxPool3d(2, stride=1, padding=1, dilation=2, ceil_mode=True), 3),
    (lambda nn: nn.AvgPool3d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), 3),
    (lambda nn: nn.AvgPool2d(3, stride=2, padding=1, divisor_override=5), 2),
    (lambda nn: nn.AdaptiveMaxPool2d((3, 4)), 2),
    (lambda nn: nn.AdaptiveAvgPool3d((2, 3, 1)), 3),
    (lambda nn: nn.AdaptiveAvgPool1d(4), 1),
    (lambda nn: nn.AdaptiveMaxPool1d(5), 1),
])
def test_layers_match_torch_layers(make, d):
    import convtheory.nn as cnn
    rng = np.random.default_rng(31)
    x = rng.standard_normal((2, 3) + (7,) * d)
    ours, theirs = make(cnn), make(torch.nn)
    y = ours(x)
    g = rng.standard_normal(y.shape)
    yt, gt = torch_pool(theirs, x, g)
    np.testing.assert_allclose(y, yt, rtol=0, atol=ATOL)
    np.testing.assert_allclose(ours.backward(g), gt, rtol=0, atol=ATOL)


def test_global_avg_pool_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5, 6))
    g = rng.standard_normal((3, 4, 1, 1))
    yt, gt = torch_pool(lambda t: TF.adaptive_avg_pool2d(t, 1), x, g)
    np.testing.assert_allclose(F.global_avg_pool(x, keepdim=True), yt, rtol=0, atol=ATOL)
    np.testing.assert_allclose(F.global_avg_pool_backward(g, x, keepdim=True), gt, rtol=0, atol=ATOL)


def test_padding_only_window():
    # Kernel 2, dilation 2, padding 1 on one input: the window reads positions -1 and 1.
    x = np.array([[[0.5]], [[-0.25]]])
    y = F.max_pool1d(x, 2, stride=1, padding=1, dilation=2)
    yt = TF.max_pool1d(torch.from_numpy(x), 2, 1, 1, 2).numpy()
    np.testing.assert_array_equal(y, yt)          # -inf, as PyTorch
    np.testing.assert_array_equal(y, -np.inf)
    gx = F.max_pool1d_backward(np.ones_like(y), x, 2, stride=1, padding=1, dilation=2)
    np.testing.assert_array_equal(gx, 0.0)        # no input moves a window of padding
    assert max_pool_jacobian(x[0], 2, stride=1, padding=1, dilation=2).nnz == 0
