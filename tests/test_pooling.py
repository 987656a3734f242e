"""Pooling operators: the avg-pool matrix and operator, the max-pool Jacobian, blur pooling."""

import numpy as np
import pytest
import scipy.sparse as sp

from convtheory import (avg_pool_matrix, avg_pool_operator, binomial_filter, blur_pool_matrix,
                        blur_pool_operator, conv_matrix, dot_test, max_pool_jacobian)
from convtheory.pool_spec import (adaptive_axis_taps, adaptive_pool_windows, avg_pool_divisors,
                                  pool_output_shape, pool_spec)
from convtheory.nn import BlurPool1d, BlurPool2d, gradcheck
from convtheory.nn import functional as F
from convtheory.pooling import blur_kernel, blur_pool_spec

from .conftest import requires_torch, torch

ATOL = 1e-12


class TestGeometry:
    def test_ceil_mode_last_window_rule_by_hand(self):
        # n=5, k=2, s=2, p=1: ceil gives 4 windows, but the 4th would start at
        # 3*2 - 1 = 5 = n, in the right padding, so PyTorch drops it.
        assert pool_output_shape((5,), 2, padding=1, ceil_mode=True) == (3,)
        assert pool_output_shape((5,), 2, padding=1) == (3,)
        assert pool_output_shape((6,), 2, padding=1, ceil_mode=True) == (4,)

    def test_pool_spec_taps_read_padding_as_minus_one(self):
        spec = pool_spec((4,), 3, stride=2, padding=1, ceil_mode=True)
        assert spec.axis_table(0).tolist() == [[-1, 0, 1], [1, 2, 3], [3, -1, -1]]

    def test_adaptive_windows_by_hand(self):
        start, end = adaptive_pool_windows(7, 3)
        assert start.tolist() == [0, 2, 4] and end.tolist() == [3, 5, 7]
        assert adaptive_axis_taps(2, 3).tolist() == [[0, -1], [0, 1], [1, -1]]  # more outputs than inputs

    def test_divisors_by_hand(self):
        assert avg_pool_divisors((5,), 2, ceil_mode=True)[0].tolist() == [2, 2, 1]
        assert avg_pool_divisors((4,), 3, stride=1, padding=1, count_include_pad=False)[0].tolist() \
            == [2, 3, 3, 2]

    @pytest.mark.parametrize("call, exc, match", [
        (lambda: pool_output_shape((4,), 3, padding=2), ValueError, "padding should be at most half"),
        (lambda: pool_output_shape((2,), 5), ValueError, "pooling window is larger than the padded input"),
        (lambda: pool_output_shape((4,), 2, ceil_mode=1), TypeError, "ceil_mode must be a bool"),
        (lambda: adaptive_pool_windows(4, 0), ValueError, "output_size >= 1"),
        (lambda: F.adaptive_avg_pool2d(np.ones((1, 4, 4)), (2, 2, 2)), ValueError,
         "output_size must be an int or a tuple of 2"),
    ])
    def test_errors(self, call, exc, match):
        with pytest.raises(exc, match=match):
            call()


class TestAvgPoolMatrix:
    def test_equals_uniform_conv_when_divisor_constant(self):
        M = avg_pool_matrix((3, 6, 6), 2)
        w = np.full((3, 1, 2, 2), 0.25)
        C = conv_matrix(w, (3, 6, 6), stride=2, groups=3)
        assert abs(M - C).max() == 0

    def test_rows_by_hand_with_count_include_pad_false(self):
        M = avg_pool_matrix((1, 4), 3, stride=1, padding=1, count_include_pad=False).toarray()
        third = 1 / 3
        np.testing.assert_array_equal(M, [[0.5, 0.5, 0, 0], [third, third, third, 0],
                                          [0, third, third, third], [0, 0, 0.5, 0.5]])

    def test_operator_equals_matrix_and_passes_dot_test(self):
        kwargs = dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True,
                      count_include_pad=False)
        A = avg_pool_operator((2, 7, 5), **kwargs)
        M = avg_pool_matrix((2, 7, 5), **kwargs)
        X = np.random.default_rng(5).standard_normal((A.shape[1], 3))
        np.testing.assert_allclose(A @ X, M @ X, rtol=0, atol=ATOL)
        np.testing.assert_allclose(A.H @ (M @ X), M.T @ (M @ X), rtol=0, atol=ATOL)
        assert dot_test(A)

    def test_matrix_equals_functional(self):
        x = np.random.default_rng(0).standard_normal((3, 5, 5, 5))
        M = avg_pool_matrix(x.shape, 2, stride=2, padding=1, ceil_mode=True)
        np.testing.assert_allclose(M @ x.ravel(), F.avg_pool3d(x, 2, 2, 1, True).ravel(),
                                   rtol=0, atol=ATOL)

    @pytest.mark.parametrize("kwargs, exc, match", [
        (dict(input_shape=(5,)), ValueError, r"input_shape must be \(C, n1, ..., nd\)"),
        (dict(divisor_override=1.5), TypeError, "divisor_override must be an int or None"),
        (dict(kernel_size=(2, 2)), ValueError, "kernel_size must be an int or a tuple of 1"),
    ])
    def test_errors(self, kwargs, exc, match):
        args = dict(input_shape=(1, 5), kernel_size=2) | kwargs
        with pytest.raises(exc, match=match):
            avg_pool_matrix(args.pop("input_shape"), args.pop("kernel_size"), **args)


class TestMaxPoolJacobian:
    def test_selects_the_first_maximum(self):
        x = np.array([[[2.0, 2.0], [1.0, 2.0]]])
        J = max_pool_jacobian(x, 2)
        assert J.toarray().tolist() == [[1.0, 0.0, 0.0, 0.0]]

    def test_is_the_gradient_of_the_functional(self):
        rng = np.random.default_rng(3)
        x = rng.integers(0, 3, size=(2, 6, 7)).astype(float)   # many ties
        g = rng.standard_normal((2, 4, 4))
        kwargs = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
        J = max_pool_jacobian(x, **kwargs)
        assert sp.issparse(J) and J.shape == (32, 84) and np.all(J.sum(axis=1) == 1)
        np.testing.assert_array_equal(J @ x.ravel(), F.max_pool2d(x, **kwargs).ravel())
        np.testing.assert_array_equal(J.T @ g.ravel(), F.max_pool2d_backward(g, x, **kwargs).ravel())

    def test_piecewise_linear_near_x(self):
        # Away from ties, J is the derivative: pool(x + eps*v) = pool(x) + eps*J v.
        rng = np.random.default_rng(4)
        x, v = rng.standard_normal((1, 9, 9)), rng.standard_normal((1, 9, 9))
        J = max_pool_jacobian(x, 3, stride=2, dilation=2)
        eps = 1e-7
        lhs = F.max_pool2d(x + eps * v, 3, 2, dilation=2).ravel()
        np.testing.assert_allclose(lhs, J @ x.ravel() + eps * (J @ v.ravel()), rtol=0, atol=1e-13)

    def test_refuses_complex(self):
        with pytest.raises(TypeError, match="x must be a real float or integer array"):
            max_pool_jacobian(np.ones((1, 4), complex), 2)


class TestBlurPool:
    @pytest.mark.parametrize("size", range(1, 8))
    def test_binomial_filters(self, size):
        f = binomial_filter(size)
        assert f.sum() == pytest.approx(1.0, abs=1e-15)
        np.testing.assert_array_equal(f, f[::-1])
        from math import comb
        np.testing.assert_allclose(f * 2 ** (size - 1), [comb(size - 1, i) for i in range(size)],
                                   rtol=0, atol=1e-12)

    @pytest.mark.parametrize("n, stride", [(8, 2), (9, 2), (10, 3), (7, 1), (5, 4)])
    def test_output_is_ceil_n_over_stride(self, n, stride):
        for size in range(1, 8):
            if size // 2 >= n:  # reflect padding needs pad < n, as PyTorch's ReflectionPad
                continue
            spec = blur_pool_spec((2, n), filter_size=size, stride=stride)
            assert spec.output_spatial == (-(-n // stride),)

    def test_matrix_operator_and_layer_agree(self):
        x = np.random.default_rng(7).standard_normal((3, 10, 9))
        M = blur_pool_matrix(x.shape, filter_size=4)
        A = blur_pool_operator(x.shape, filter_size=4)
        y = BlurPool2d(3, filter_size=4)(x)
        assert y.shape == (3, 5, 5)
        np.testing.assert_allclose(M @ x.ravel(), y.ravel(), rtol=0, atol=ATOL)
        np.testing.assert_allclose(A @ x.ravel(), y.ravel(), rtol=0, atol=ATOL)

    @pytest.mark.parametrize("make, shape", [
        (lambda: BlurPool1d(2, filter_size=5), (2, 2, 11)),
        (lambda: BlurPool2d(2, filter_size=3, padding_mode="replicate"), (1, 2, 7, 8)),
        (lambda: BlurPool2d(1, filter_size=2, stride=3, padding_mode="zeros"), (2, 1, 6, 6)),
    ])
    def test_gradcheck(self, make, shape):
        assert gradcheck(make(), np.random.default_rng(9).standard_normal(shape))

    @pytest.mark.parametrize("call, exc, match", [
        (lambda: binomial_filter(8), ValueError, "filter_size must be between 1 and 7"),
        (lambda: binomial_filter(2.0), TypeError, "filter_size must be an int"),
        (lambda: BlurPool2d(3, padding_mode="circular"), ValueError, "padding_mode must be one of"),
        (lambda: BlurPool2d(0), ValueError, "channels must be a positive int"),
        (lambda: BlurPool1d(2)(np.ones((1, 3, 8))), ValueError, "expected 2 channels"),
    ])
    def test_errors(self, call, exc, match):
        with pytest.raises(exc, match=match):
            call()


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("size", range(1, 8))
@pytest.mark.parametrize("mode", ["reflect", "replicate", "zeros"])
def test_blur_pool_matches_the_papers_recipe(ndim, size, mode):
    # antialiased_cnns.BlurPool: ReflectionPad (floor((k-1)/2), ceil((k-1)/2)) per axis,
    # then a depthwise conv with the normalised binomial outer product at the stride.
    rng = np.random.default_rng(size)
    x = rng.standard_normal((2, 3) + (11,) * ndim)
    lo = (size - 1) // 2
    pad = (lo, size - 1 - lo) * ndim
    torch_mode = {"reflect": "reflect", "replicate": "replicate", "zeros": "constant"}[mode]
    xt = torch.from_numpy(x).requires_grad_()
    w = torch.from_numpy(blur_kernel(3, size, ndim))
    conv = torch.nn.functional.conv1d if ndim == 1 else torch.nn.functional.conv2d
    yt = conv(torch.nn.functional.pad(xt, pad, mode=torch_mode), w, stride=2, groups=3)
    layer = (BlurPool1d if ndim == 1 else BlurPool2d)(3, filter_size=size, padding_mode=mode)
    y = layer(x)
    g = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), rtol=0, atol=ATOL)


@pytest.mark.parametrize("make, shape", [
    (lambda nn: nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True), (2, 2, 11)),
    (lambda nn: nn.MaxPool3d(2, stride=1), (1, 2, 3, 4, 3)),
    (lambda nn: nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 2, 8)),
    (lambda nn: nn.AvgPool3d(2, padding=1, divisor_override=3), (1, 1, 3, 3, 4)),
    (lambda nn: nn.AdaptiveAvgPool2d((3, 5)), (2, 2, 5, 4)),
    (lambda nn: nn.AdaptiveMaxPool1d(4), (2, 3, 9)),
    (lambda nn: nn.AdaptiveMaxPool3d(2), (1, 1, 3, 4, 5)),
    (lambda nn: nn.GlobalAvgPool(), (2, 3, 4, 5)),
])
def test_gradcheck_every_pool(make, shape):
    import convtheory.nn as cnn
    x = np.random.default_rng(17).standard_normal(shape)
    verdict = gradcheck(make(cnn), x)
    assert verdict, verdict.counterexample


@pytest.mark.parametrize("make, match", [
    (lambda nn: nn.AvgPool2d(2, divisor_override=0), "divisor_override must not be zero"),
    (lambda nn: nn.MaxPool2d(2, ceil_mode="yes"), "ceil_mode must be a bool"),
    (lambda nn: nn.GlobalAvgPool(keepdim=1), "keepdim must be a bool"),
])
def test_pool_layer_errors(make, match):
    import convtheory.nn as cnn
    with pytest.raises((ValueError, TypeError), match=match):
        make(cnn)


def test_global_avg_pool_refuses_empty_planes_and_wrong_gradients():
    import convtheory.nn as cnn
    from convtheory.nn import functional as F
    with pytest.raises(ValueError, match=r"at least one position.*got input.shape=\(1, 2, 3, 0\)"):
        F.global_avg_pool(np.ones((1, 2, 3, 0)))
    pool = cnn.GlobalAvgPool(keepdim=True)
    with pytest.raises(ValueError, match="at least one position"):
        pool(np.ones((1, 2, 0)))
    pool(np.ones((2, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"GlobalAvgPool\(keepdim=True\): grad_out must have "
                                         r"shape \(2, 3, 1, 1\).*got \(2, 3\)"):
        pool.backward(np.ones((2, 3)))


def test_backward_before_forward():
    import convtheory.nn as cnn
    for layer in (cnn.MaxPool2d(2), cnn.AdaptiveAvgPool1d(2), cnn.BlurPool1d(1), cnn.GlobalAvgPool()):
        with pytest.raises(RuntimeError, match="backward needs a forward pass first"):
            layer.backward(np.ones((1, 1, 2)))


class TestStackedMax:
    """Adaptive windows that are no progression: the max folds gathered stacks."""

    def test_stack_by_hand(self):
        from convtheory.pool_windows import AxisWindows
        w = AxisWindows(adaptive_axis_taps(5, 3), 5)      # windows [0,2) [1,4) [3,5)
        assert w.irregular
        assert [r.tolist() for r in w.ranges] == [[0, 1, 3], [2, 4, 5]]
        # A missing tap repeats the window's last input: no new maximum, the same input.
        assert w.stack.tolist() == [[0, 1, 1], [1, 2, 3], [3, 4, 4]]
        regular = AxisWindows(pool_spec((5,), 2, ceil_mode=True).axis_table(0), 5)
        assert not regular.irregular
        assert [r.tolist() for r in regular.ranges] == [[0, 2, 4], [2, 4, 5]]
        # No ranges: padding, a dilated window, a window of padding only.
        for table in (pool_spec((5,), 3, padding=1).axis_table(0),
                      pool_spec((5,), 2, dilation=2).axis_table(0), np.array([[-1, -1], [0, 1]])):
            w = AxisWindows(table, 5)
            assert w.ranges is None and w.stack is None

    def test_used_for_uneven_adaptive_windows_only(self):
        from convtheory.nn.functional_adaptive_pooling import AdaptivePoolPlan
        assert AdaptivePoolPlan("max", 5, (28, 28)).windows.stacked
        assert not AdaptivePoolPlan("max", 7, (28, 28)).windows.stacked   # 7 divides 28
        assert not F.PoolPlan("max", 3, 2, 1, (28, 28)).windows.stacked

    def test_ties_nan_and_signed_zero_by_hand(self):
        # Windows [0,2) [1,4) [3,5).  Ties: the first maximum; NaN: the last NaN;
        # the output is the winner's own value, so -0.0 that comes first stays -0.0.
        x = np.array([[[2.0, 2.0, 1.0, 2.0, 0.0],
                       [np.nan, 1.0, np.nan, 5.0, np.nan],
                       [-0.0, 0.0, -1.0, -np.inf, -np.inf]]])
        from convtheory.nn.functional_adaptive_pooling import AdaptivePoolPlan
        plan = AdaptivePoolPlan("max", 3, (5,))
        assert plan.windows.stacked
        y = plan.forward(x)
        np.testing.assert_array_equal(y[0], [[2.0, 2.0, 2.0], [np.nan, np.nan, np.nan],
                                             [-0.0, 0.0, -np.inf]])
        assert np.signbit(y[0, 2, 0]) and not np.signbit(y[0, 2, 1])
        _, args = plan.windows.max(x[0])
        np.testing.assert_array_equal(plan.windows.argmax(args), [[0, 1, 3], [0, 2, 4], [0, 1, 3]])
        gx = plan.backward(np.ones((1, 3, 3)))
        np.testing.assert_array_equal(gx[0], [[1, 1, 0, 1, 0], [1, 0, 1, 0, 1], [1, 1, 0, 1, 0]])

    def test_out_is_checked(self):
        from convtheory.nn.functional_adaptive_pooling import AdaptivePoolPlan
        windows = AdaptivePoolPlan("max", 3, (5,)).windows
        y, args = windows.max(np.ones((2, 5)))
        with pytest.raises(ValueError, match=r"out must be a C-contiguous float64 array of shape "
                                             r"\(2, 5\), got out.shape=\(2, 4\), dtype float64"):
            windows.max_adjoint(np.ones_like(y), args, out=np.empty((2, 4)))
        with pytest.raises(ValueError, match=r"out must be a C-contiguous float64 array.*dtype float32"):
            windows.sum_adjoint(np.ones_like(y), out=np.empty((2, 5), dtype=np.float32))


def _layers():
    import convtheory.nn as cnn
    return [
        (cnn.MaxPool2d(3, stride=2, padding=1), (3, 5, 12, 12)),
        (cnn.MaxPool1d(2, ceil_mode=True), (4, 3, 9)),
        (cnn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (3, 5, 12, 12)),
        (cnn.AvgPool3d(2, divisor_override=3), (2, 3, 4, 4, 4)),
        (cnn.AdaptiveMaxPool2d(5), (3, 5, 13, 11)),        # stacked windows
        (cnn.AdaptiveMaxPool2d(1), (3, 5, 6, 6)),          # a global max: flat winners
        (cnn.AdaptiveAvgPool3d((2, 3, 1)), (2, 3, 5, 4, 3)),
        (cnn.AdaptiveAvgPool2d(1), (3, 5, 6, 6)),          # a global sum
        (cnn.BlurPool2d(5), (3, 5, 12, 12)),
    ]


class TestPlaneBlocks:
    """Blocks of planes on several threads give the one-thread result bit for bit."""

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    @pytest.mark.parametrize("case", range(len(_layers())))
    @pytest.mark.parametrize("n_workers", [2, 3])
    def test_bit_identical_to_one_block(self, monkeypatch, case, dtype, n_workers):
        from convtheory.nn import _planes
        rng = np.random.default_rng(5150)
        layer, shape = _layers()[case]
        x = rng.integers(-2, 3, size=shape).astype(dtype)    # ties
        x[0, 1].flat[::3] = np.nan                           # NaN in the first block only
        x[-1, -1].flat[1::4] = -0.0
        monkeypatch.setattr(_planes, "workers", lambda: 1)
        y1 = layer(x)
        g = rng.standard_normal(y1.shape).astype(dtype)
        gx1 = layer.backward(g)
        monkeypatch.setattr(_planes, "workers", lambda: n_workers)
        monkeypatch.setattr(_planes, "PARALLEL_MIN", 0)
        blocks = _planes.plane_blocks(shape[0] * shape[1], 1)
        assert len(blocks) == _planes.BLOCKS_PER_WORKER * n_workers
        y2 = layer(x)
        gx2 = layer.backward(g)
        assert y2.dtype == y1.dtype == dtype and gx2.dtype == gx1.dtype == dtype
        assert y2.tobytes() == y1.tobytes() and gx2.tobytes() == gx1.tobytes()

    def test_one_block_below_the_threshold(self, monkeypatch):
        from convtheory.nn import _planes
        monkeypatch.setattr(_planes, "workers", lambda: 2)
        assert _planes.plane_blocks(10, _planes.PARALLEL_MIN - 1) == [(0, 10)]
        assert _planes.plane_blocks(10, _planes.PARALLEL_MIN) == [(0, 2), (2, 5), (5, 8), (8, 10)]
        assert _planes.plane_blocks(1, _planes.PARALLEL_MIN) == [(0, 1)]    # never an empty block

    def test_an_error_in_any_block_is_raised(self):
        from convtheory.nn import _planes

        def fail_late(start, stop):
            if start > 0:
                raise ArithmeticError(f"block {start}:{stop}")
            return start

        with pytest.raises(ArithmeticError, match="block 2:4"):
            _planes.map_blocks(fail_late, [(0, 2), (2, 4)])


@pytest.mark.parametrize("output_size", [5, 7, 1])      # uneven, even, global windows
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_adaptive_pools_of_an_empty_batch(kind, output_size):
    fwd = getattr(F, f"adaptive_{kind}_pool2d")
    bwd = getattr(F, f"adaptive_{kind}_pool2d_backward")
    x = np.zeros((0, 3, 28, 28))
    y = fwd(x, output_size)
    assert y.shape == (0, 3, output_size, output_size)
    assert bwd(np.zeros(y.shape), x, output_size).shape == x.shape


def test_uneven_adaptive_max_in_cache_sized_blocks(monkeypatch):
    # The planes are pooled a cache-sized block at a time; each alone, so any block
    # size gives the same output and winners, bit for bit.
    import convtheory.pool_windows as pw
    from convtheory.nn.functional_adaptive_pooling import AdaptivePoolPlan
    rng = np.random.default_rng(1966)
    x = rng.integers(-2, 3, size=(7, 13, 11)).astype(np.float64)
    x[3, 2, 5] = np.nan
    windows = AdaptivePoolPlan("max", (5, 4), (13, 11)).windows
    assert windows.stacked
    y1, (_, w1) = windows.max(x)
    monkeypatch.setattr(pw, "_CACHE_BYTES", 3 * x[0].nbytes)      # blocks of 3, 3 and 1 planes
    y3, (_, w3) = windows.max(x)
    assert y3.tobytes() == y1.tobytes() and np.array_equal(w3, w1)
