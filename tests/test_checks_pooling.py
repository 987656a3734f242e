"""The pooling checks: average pooling as a conv, and shift consistency; each can fail."""

import numpy as np
import pytest

from convtheory import avg_pool_matrix
from convtheory.checks.avg_pool import check_avg_pool_is_conv
from convtheory.checks.aliasing import (check_shift_consistency, shift_consistency,
                                                 smooth_inputs)


class TestAvgPoolIsConv:
    @pytest.mark.parametrize("shape, options", [
        ((2, 6, 6), dict(kernel_size=2)),
        ((3, 7), dict(kernel_size=3, stride=1, padding=1)),          # padding counted: constant
        ((1, 5, 4, 6), dict(kernel_size=(2, 1, 3), stride=(1, 1, 2))),
    ])
    def test_constant_divisor_is_exactly_the_uniform_conv(self, shape, options):
        v = check_avg_pool_is_conv(shape, **options)
        assert v and v.evidence["constant_divisor"] and v.evidence["rows_differing_from_conv"] == 0

    def test_count_include_pad_false_differs_at_the_borders(self):
        v = check_avg_pool_is_conv((1, 7), 3, stride=1, padding=1, count_include_pad=False)
        assert v  # the rescaled rows agree too
        # Outputs 0 and 6 see 2 of their 3 taps: divisor 2 instead of 3.
        assert v.evidence["differing_outputs"] == [[0, 0], [0, 6]]
        assert v.evidence["divisors"] == [2.0, 3.0]

    def test_ceil_mode_differs_at_the_overhang(self):
        v = check_avg_pool_is_conv((2, 5, 4), 2, ceil_mode=True)
        assert v and not v.evidence["constant_divisor"]
        assert [0, 2, 0] in v.evidence["differing_outputs"]
        assert v.evidence["rows_differing_from_conv"] == 2 * 2  # last row of outputs, both channels

    def test_divisor_override(self):
        v = check_avg_pool_is_conv((1, 6), 2, divisor_override=3)
        assert v and v.evidence["divisors"] == [3.0]

    def test_wrong_matrix_fails(self):
        M = avg_pool_matrix((2, 6, 6), 2).toarray()
        M[5, M[5].nonzero()[0][0]] *= 1.5
        v = check_avg_pool_is_conv((2, 6, 6), 2, matrix=M)
        assert not v and v.counterexample["output"] == [0, 1, 2]

    def test_uniform_matrix_ignoring_count_include_pad_fails(self):
        # Dividing by prod(k) everywhere is the classic bug of count_include_pad=False.
        wrong = avg_pool_matrix((1, 7), 3, stride=1, padding=1)
        v = check_avg_pool_is_conv((1, 7), 3, stride=1, padding=1, count_include_pad=False,
                                   matrix=wrong)
        assert not v and v.counterexample["output"] == [0, 0]

    @pytest.mark.parametrize("bad", [np.nan, np.inf])
    def test_non_finite_matrix_fails(self, bad):
        M = avg_pool_matrix((1, 6), 2).toarray()
        M[1, 2] = bad
        v = check_avg_pool_is_conv((1, 6), 2, matrix=M)
        assert not v and not v.evidence["finite"]

    @pytest.mark.parametrize("kwargs, exc, match", [
        (dict(matrix=np.ones((2, 2))), ValueError, r"matrix.shape=\(2, 2\) does not match"),
        (dict(matrix=[[1.0]]), TypeError, "matrix must be a scipy sparse array or an ndarray"),
        (dict(atol=float("nan")), ValueError, r"atol must be a finite number \(not NaN\) >= 0"),
        (dict(divisor_override=0), ValueError, "divisor_override must not be zero"),
        (dict(count_include_pad=None), TypeError, "count_include_pad must be a bool"),
    ])
    def test_bad_arguments(self, kwargs, exc, match):
        with pytest.raises(exc, match=match):
            check_avg_pool_is_conv((1, 6), 2, **kwargs)


class TestShiftConsistency:
    def test_blur_reduces_aliasing_without_removing_it(self):
        v = check_shift_consistency(smooth_inputs(32, 24, seed=3))
        c, e = v.evidence["consistency"], v.evidence["mean_error"]
        assert v
        assert c["blur"] >= c["avg"] and c["max_blur"] >= c["max"]
        assert e["blur"] < e["avg"] and e["max_blur"] < e["max"]
        assert c["blur"] < 1 and c["max_blur"] < 1

    def test_one_dimensional_inputs(self):
        assert check_shift_consistency(smooth_inputs(64, 64, ndim=1, seed=1), filter_size=5)

    def test_fails_when_blur_does_not_help(self):
        # A "blur" pool that is plain max pooling gains nothing over max pooling.
        from convtheory.nn import functional as F
        v = check_shift_consistency(smooth_inputs(16, 16), pools={
            "max_blur": lambda x: F.max_pool2d(x, 2)})
        assert not v and not v.counterexample["reduces"]

    def test_fails_when_aliasing_would_be_removed(self):
        # Any pool that never changes (a constant) is perfectly consistent: not the claim.
        v = check_shift_consistency(smooth_inputs(8, 16), pools={
            "blur": lambda x: np.ones((x.shape[0], 1, 8, 8)),
            "max_blur": lambda x: np.ones((x.shape[0], 1, 8, 8))})
        assert not v and not v.counterexample["not_removed"]

    def test_nan_output_fails(self):
        v = check_shift_consistency(smooth_inputs(8, 16), pools={
            "blur": lambda x: np.full((x.shape[0], 1, 8, 8), np.nan)})
        assert not v and not v.evidence["finite"]

    def test_shift_consistency_of_an_equivariant_map_is_one(self):
        x = smooth_inputs(4, 16, ndim=1)
        r = shift_consistency(lambda v: v, x, atol=1e-12)  # identity: the shift itself matches
        assert r["consistency"] == 1.0 and r["mean_error"] == 0.0

    @pytest.mark.parametrize("x, match", [
        (np.ones((4, 4)), r"x must have shape \(N, C, n\)"),
        (np.full((1, 1, 8), np.nan), "x must be finite"),
    ])
    def test_bad_inputs(self, x, match):
        with pytest.raises(ValueError, match=match):
            check_shift_consistency(x)

    @pytest.mark.parametrize("stride, filter_size", [(2, 3), (3, 5), (2, 4)])
    @pytest.mark.parametrize("ndim, size", [(1, 17), (2, 11)])
    def test_the_pools_are_convtheory_nn_pools(self, stride, filter_size, ndim, size):
        # The check reads the geometry core's windows itself (it does not import the layers
        # above it); the layers, tested against PyTorch, are the reference here.
        from convtheory.checks.aliasing import _pools
        from convtheory.nn import BlurPool1d, BlurPool2d, functional_pooling as FP

        x = np.random.default_rng(20261129).standard_normal((3, 2) + (size,) * ndim)
        maxpool, avgpool = (FP.max_pool1d, FP.avg_pool1d) if ndim == 1 else (FP.max_pool2d,
                                                                             FP.avg_pool2d)
        blur = (BlurPool1d if ndim == 1 else BlurPool2d)(2, filter_size, stride)
        expected = {"max": maxpool(x, stride), "avg": avgpool(x, stride), "blur": blur(x),
                    "max_blur": blur(maxpool(x, stride, stride=1))}
        pools = _pools(stride, filter_size)
        assert set(pools) == set(expected)
        for name, want in expected.items():
            np.testing.assert_allclose(pools[name](x), want, rtol=0, atol=1e-15)
        with pytest.raises(AssertionError):  # a different stride is told apart
            np.testing.assert_allclose(_pools(stride + 1, filter_size)["blur"](x)[..., 1:2],
                                       expected["blur"][..., 1:2], rtol=0, atol=1e-15)

    def test_unknown_pool_name(self):
        with pytest.raises(ValueError, match="pools may only replace"):
            check_shift_consistency(smooth_inputs(2, 8), pools={"median": lambda x: x})
