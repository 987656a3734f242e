"""The FFT path must apply the same matrix as the direct path, also to inputs that are not finite."""

import numpy as np
import pytest

from convtheory import conv_matrix, conv_operator


@pytest.mark.parametrize("conv", [dict(), dict(padding=1, padding_mode="circular"),
                                  dict(stride=2, padding=2, padding_mode="reflect")])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_fft_operator_keeps_a_non_finite_input_local(conv, bad):
    # An FFT spreads one NaN (or inf) to every output: [nan, nan, ...] where M @ x is
    # [nan, 6, 9, ...].  The matrix confines it to the outputs that read that input.
    w = np.array([[[1.0, 2.0, 3.0]]])
    x = np.arange(9.0)
    x[0] = bad
    M = conv_matrix(w, (1, 9), **conv)
    with np.errstate(invalid="ignore"):
        expected = M @ x
    for method in ("direct", "fft"):
        op = conv_operator(w, (1, 9), method=method, **conv)
        with np.errstate(invalid="ignore"):
            got = op.matvec(x)
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
        finite = np.isfinite(expected)
        np.testing.assert_allclose(got[finite], expected[finite], atol=1e-12)
    y = np.arange(float(M.shape[0]))
    y[-1] = bad
    with np.errstate(invalid="ignore"):
        expected_adj = M.T @ y
        got_adj = conv_operator(w, (1, 9), method="fft", **conv).rmatvec(y)
    np.testing.assert_array_equal(np.isfinite(got_adj), np.isfinite(expected_adj))


@pytest.mark.parametrize("method", ["fft", "overlap_add"])
@pytest.mark.parametrize("conv", [dict(padding=1), dict(padding=1, padding_mode="circular"),
                                  dict(stride=2, padding=2, padding_mode="reflect")])
def test_transform_overflow_from_finite_input_stays_local(method, conv):
    # Finite inputs near the top of the range: the spectrum overflows and the inverse
    # transform turned every output (or every output of a block) into NaN, where M @ x is
    # inf only where 2 x 1e308 is summed and finite elsewhere.
    w = np.array([[[1.0, 0.5, 2.0]]])
    x = np.full(40, 1e300)
    x[4] = 1e308
    M = conv_matrix(w, (1, 40), **conv)
    op = conv_operator(w, (1, 40), method=method, **conv)
    y = np.full(M.shape[0], 1e300)
    y[2] = 1e308
    with np.errstate(over="ignore", invalid="ignore"):
        pairs = [(op.matvec(x), M @ x), (op.rmatvec(y), M.T @ y)]
    for got, expected in pairs:
        assert not np.all(np.isfinite(expected))  # the case is the one described
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
        finite = np.isfinite(expected)
        np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12)


@pytest.mark.parametrize("method", ["fft", "overlap_add"])
@pytest.mark.parametrize("weight_shape, input_shape, conv", [
    ((1, 1, 3), (1, 40), dict(padding=1)),
    ((3, 2, 5), (2, 40), dict(padding=2)),
    ((2, 2, 3, 3), (2, 16, 16), dict(padding=1, padding_mode="circular")),
])
def test_transform_overflow_gives_no_warning(method, weight_shape, input_shape, conv):
    # Outside any errstate (warnings are errors here): the spectra's product overflowed
    # with numpy's RuntimeWarning before the result was seen to be non-finite and taken
    # again on the direct path, so under -W error the operator raised instead of answering.
    w = np.random.default_rng(0).standard_normal(weight_shape)
    M = conv_matrix(w, input_shape, **conv)
    op = conv_operator(w, input_shape, method=method, **conv)
    for A, n in ((M, M.shape[1]), (M.T, M.shape[0])):
        x = np.full(n, 1e300)
        x[4] = 1e308
        got = op.matvec(x) if A is M else op.rmatvec(x)
        with np.errstate(over="ignore", invalid="ignore"):
            expected = A @ x
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
        finite = np.isfinite(expected)
        np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12)


def test_transform_overflow_over_the_direct_budget_says_why():
    A = conv_operator(np.ones((4, 4, 15, 15)), (4, 128, 128), padding="same", max_bytes=2**25)
    assert A.method == "fft"
    x = np.full(A.shape[1], 1e307)  # finite; its spectrum's DC term is 6.6e311
    with pytest.raises(ValueError, match=r"this 'fft' operator applies an input on its direct "
                                         r"path when its transform overflowed .* over budget: "
                                         r"im2col .* or pass a larger max_bytes, or scale the "
                                         r"input down"):
        A @ x
