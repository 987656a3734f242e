"""Adversarial inputs that once made a verdict hold on something false, or slip through by kind."""

import numpy as np
import pytest

from convtheory import avg_pool_matrix
from convtheory.checks import (check_avg_pool_is_conv, check_shift_consistency,
                               check_transposed_arithmetic)


@pytest.mark.parametrize("atol", [float("nan"), -1.0, float("inf")])
def test_shift_consistency_refuses_a_tolerance_that_cannot_judge(atol):
    # With atol=nan (or < 0) every error reads "inconsistent", so consistency is 0 for
    # every pool and "0 >= 0, 0 < 1" made the claim hold without measuring anything.
    with pytest.raises(ValueError, match=r"atol must be a finite number \(not NaN\) >= 0, got atol="):
        check_shift_consistency(atol=atol)


def test_avg_pool_is_conv_refuses_an_infinite_tolerance():
    P = avg_pool_matrix((1, 4, 4), 2)
    with pytest.raises(ValueError, match=r"atol must be a finite number \(not NaN\) >= 0, got atol=inf"):
        check_avg_pool_is_conv((1, 4, 4), 2, matrix=10 * P, atol=float("inf"))


def test_avg_pool_is_conv_fails_on_an_imaginary_part():
    # The imaginary part was cast away (with a ComplexWarning), so P + 1e-3j held.
    P = avg_pool_matrix((2, 6, 6), 2).toarray()
    v = check_avg_pool_is_conv((2, 6, 6), 2, matrix=P + 1e-3j * (P != 0))
    assert not v.holds
    assert v.evidence["max_error"] == pytest.approx(1e-3)
    assert check_avg_pool_is_conv((2, 6, 6), 2, matrix=P.astype(complex)).holds


def test_avg_pool_is_conv_refuses_a_matrix_that_is_not_numeric():
    P = avg_pool_matrix((1, 4, 4), 2).toarray()
    with pytest.raises(TypeError, match=r"matrix must be numeric .*got dtype <U"):
        check_avg_pool_is_conv((1, 4, 4), 2, matrix=P.astype(str))


def test_transposed_arithmetic_refuses_a_complex_x():
    w = np.ones((1, 1, 3))
    with pytest.raises(TypeError, match=r"x must be real, got dtype complex128"):
        check_transposed_arithmetic(w, (1, 5), stride=2, x=np.ones((1, 5)) * 1j)


def test_gradcheck_on_sampled_entries_says_sampled():
    # The docstring promises method="sampled" when only some entries are perturbed:
    # a pass on 3 of 25 entries is evidence, not a check of every entry.
    from convtheory.nn import Conv2d, gradcheck
    x = np.random.default_rng(0).standard_normal((1, 1, 5, 5))
    layer = Conv2d(1, 1, 3, dtype=np.float64, seed=0)
    assert gradcheck(layer, x, max_entries=3).method == "sampled"
    assert gradcheck(layer, x).method == "numeric"


def test_conv_layer_with_an_overflowing_kernel_size_is_a_value_error():
    from convtheory.nn import Conv2d
    with pytest.raises(ValueError, match=r"would need about"):
        Conv2d(1, 2, 2**32)


@pytest.mark.parametrize("kwargs, exc, match", [
    # stride=0 was reported as "kernel_size must be >= 1" (a BlurPool's kernel), and
    # margin="a" as "bad operand type for unary -": neither named the argument given.
    (dict(stride=0), ValueError, r"stride must be >= 1, got stride=0"),
    (dict(margin="a"), TypeError, r"margin must be an integer, got 'a'"),
    (dict(margin=-1), ValueError, r"margin must be >= 0, got margin=-1"),
    (dict(filter_size=2.0), TypeError, r"filter_size must be an integer, got 2.0"),
])
def test_shift_consistency_names_the_bad_argument(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        check_shift_consistency(**kwargs)
