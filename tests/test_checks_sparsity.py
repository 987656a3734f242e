import itertools

import numpy as np
import pytest
import sympy

from convtheory import ConvSpec, check_nnz_formula, check_sparsity, conv_matrix
from convtheory.checks import axis_nnz, nnz_closed_form, nnz_formula, receptive_field_counts
from convtheory.checks.sparsity import d, k, n, p, p_hi, p_lo, s


@pytest.mark.parametrize("conv", [
    {}, dict(padding=1), dict(padding="same", dilation=2), dict(stride=2, padding=(0, 2)),
    dict(padding=1, padding_mode="reflect"), dict(padding=2, padding_mode="circular"),
])
def test_holds(conv, rng):
    w = rng.standard_normal((2, 3, 3, 3))
    v = check_sparsity(w, (3, 7, 6), **conv)
    assert v, v.counterexample
    M = conv_matrix(w, (3, 7, 6), **conv)
    assert v.evidence["nnz"] == M.nnz
    assert v.evidence["density"] == M.nnz / np.prod(M.shape)
    assert v.evidence["row_nnz_max"] <= 27


def test_row_nnz_is_clipped_receptive_field():
    # 1-D, k=3, padding 1: border rows read 2 inputs, interior rows 3 (hand count).
    assert receptive_field_counts(ConvSpec((3,), (5,), padding=1)).tolist() == [2, 3, 3, 3, 2]
    # 2-D corner: 2x2 of 3x3; channels multiply.
    counts = receptive_field_counts(ConvSpec((1, 2, 3, 3), (2, 4, 4), padding=1))
    assert counts.reshape(4, 4)[0, 0] == 2 * 4 and counts.reshape(4, 4)[1, 1] == 2 * 9
    # Replicate folds two taps onto the edge input: 2 distinct inputs at the border.
    assert receptive_field_counts(ConvSpec((3,), (4,), padding=1, padding_mode="replicate")).tolist() \
        == [2, 3, 3, 2]


def test_dense_block_fails():
    M = conv_matrix(np.ones((3, 3)), (5, 5)).toarray()
    M[:, :] += 0.5
    v = check_sparsity(np.ones((3, 3)), (5, 5), matrix=M)
    assert not v
    assert v.counterexample["entry"] == (0, 3)
    assert v.evidence["entries_outside_pattern"] == 9 * 25 - 81


def test_formula_by_hand():
    # 1-D valid: k (n - k + 1); full: k n; same (k=3): 3n - 2.
    T = nnz_formula()
    for n_, k_ in itertools.product(range(3, 8), range(1, 4)):
        base = {n: n_, k: k_, s: 1, d: 1}
        assert T.subs({**base, p_lo: 0, p_hi: 0}).doit() == k_ * (n_ - k_ + 1)
        assert T.subs({**base, p_lo: k_ - 1, p_hi: k_ - 1}).doit() == k_ * n_
    assert axis_nnz(7, 3, 1, 1, (1, 1)) == 3 * 7 - 2
    # closed form special cases, exactly
    assert sympy.expand(nnz_closed_form().subs({d: 1, p: 0}) - k * (n - k + 1)) == 0


def test_formula_over_grid():
    v = check_nnz_formula()
    assert v and v.evidence["cases"] > 1000 and v.evidence["closed_form_cases"] > 50


def test_wrong_formula_fails():
    v = check_nnz_formula(formula=lambda n_, k_, s_, d_, pad: k_ * (n_ + sum(pad) - k_ + 1))
    assert not v and "count" in v.counterexample


def test_total_nnz_is_product_over_axes_times_channels():
    spec = ConvSpec((4, 3, 3, 2), (6, 7, 5), stride=(2, 1), padding=((1, 0), (1, 1)), dilation=(1, 2),
                    groups=2)
    expected = 4 * 3 * axis_nnz(7, 3, 2, 1, (1, 0)) * axis_nnz(5, 2, 1, 2, 1)
    assert check_sparsity(np.ones(spec.weight_shape), spec).evidence["formula_nnz"] == expected
    assert conv_matrix(np.ones(spec.weight_shape), spec).nnz == expected


def test_bad_input():
    with pytest.raises(ValueError, match="does not match the conv's matrix shape"):
        check_sparsity(np.ones(3), (5,), matrix=np.ones((2, 2)))


def test_missing_tap_in_the_given_matrix_fails():
    # Row 2 of a 3-tap conv stores only 2 entries: the pattern still covers it, the count does not.
    M = conv_matrix(np.ones(3), (6,), padding=1).tolil()
    M[2, 2] = 0.0
    v = check_sparsity(np.ones(3), (6,), padding=1, matrix=M.tocsr())
    assert not v and v.evidence["entries_outside_pattern"] == 0
    assert v.counterexample == {"row": 2, "row_nnz": 2, "receptive_field_of_row": 3}


def test_zero_weight_keeps_its_stored_entries():
    assert check_sparsity(np.array([1.0, 0.0, 1.0]), (6,), padding=1)


def test_nnz_formula_refuses_empty_or_huge_grids():
    with pytest.raises(ValueError, match=r"sizes must not be empty .* got sizes=\[\]"):
        check_nnz_formula(sizes=[])
    with pytest.raises(ValueError, match=r"paddings must not be empty .* got paddings=range\(0, 0\)"):
        check_nnz_formula(paddings=range(0))
    # (10**6 - 1) sizes x 4 kernels x 3 strides x 2 dilations x 3**2 paddings
    with pytest.raises(ValueError, match=r"check_nnz_formula would try 215,999,784 combinations "
                                         r".* over max_cases=100,000"):
        check_nnz_formula(sizes=range(1, 10**6))
    with pytest.raises(TypeError, match="kernels must be a range, list or tuple of ints, got kernels=3"):
        check_nnz_formula(kernels=3)
    with pytest.raises(ValueError, match="max_cases must be >= 1"):
        check_nnz_formula(max_cases=0)
