"""Huge geometries refuse at once, with an estimate, instead of a MemoryError deep inside."""

import numpy as np
import pytest

from convtheory import avg_pool_matrix, avg_pool_operator, conv_transpose_matrix


@pytest.mark.parametrize("kwargs", [
    dict(weight=np.ones((1, 1, 3, 3)), input_shape=(1, 4, 4), stride=10**6),
    dict(weight=np.ones((1, 1, 3)), input_shape=(1, 4), stride=10**9, output_padding=10**9 - 1),
])
def test_conv_transpose_matrix_counts_its_empty_rows(kwargs):
    # Only 144 (resp. 12) entries, but 9e12 (resp. 4e9) output rows: the row pointers of
    # the CSR transpose were allocated (65 TiB) before any estimate counted them.
    with pytest.raises(ValueError, match=r"conv_transpose_matrix would need about .* MiB .* "
                                         r"over max_bytes=2,147,483,648; use conv_transpose_operator"):
        conv_transpose_matrix(**kwargs)


def test_conv_transpose_matrix_small_budget_still_builds_small_matrices():
    M = conv_transpose_matrix(np.ones((1, 1, 3)), (1, 4), stride=2, max_bytes=10**4)
    assert M.shape == (9, 4) and M.nnz == 12


@pytest.mark.parametrize("build", [avg_pool_matrix, avg_pool_operator])
def test_avg_pool_refuses_a_huge_input_before_allocating(build):
    # The (50000, 50000) divisor grid alone is 18.6 GiB: it was allocated without an estimate.
    with pytest.raises(ValueError, match=r"would need about .* over max_bytes=2,147,483,648"):
        build((1, 10**5, 10**5), 2)


def test_avg_pool_max_bytes_is_validated_and_honoured():
    with pytest.raises(TypeError, match=r"max_bytes must be an integer, got 1.5"):
        avg_pool_matrix((1, 8, 8), 2, max_bytes=1.5)
    with pytest.raises(ValueError, match=r"over max_bytes=10"):
        avg_pool_matrix((1, 8, 8), 2, max_bytes=10)
    assert avg_pool_operator((1, 8, 8), 2, max_bytes=10**4).shape == (16, 64)


@pytest.mark.parametrize("build", ["conv_transpose_matrix", "conv_transpose_operator"])
def test_transposed_conv_refuses_a_batched_input_shape(build):
    # conv_matrix refuses this; the transposed builders silently built a 4-D single-channel
    # transposed conv of the (3, 4, 3, 3) weight on a (2, 3, 8, 8) "image" (a 2400 x 384 matrix).
    import convtheory
    with pytest.raises(ValueError, match=r"input_shape=\(2, 3, 8, 8\) looks batched: input_shape "
                                         r"is \(C_in, n1, ...\) without the batch axis"):
        getattr(convtheory, build)(np.ones((3, 4, 3, 3)), (2, 3, 8, 8))


def test_transposed_conv_unbatched_and_shorthand_shapes_still_build():
    assert conv_transpose_matrix(np.ones((3, 4, 3, 3)), (3, 8, 8)).shape == (400, 192)
    assert conv_transpose_matrix(np.ones((3, 3)), (8, 8)).shape == (100, 64)
    assert conv_transpose_matrix(np.ones((1, 1, 2, 2, 2)), (1, 2, 2, 2)).shape == (27, 8)


def test_a_refusal_is_a_budget_error_and_a_value_error():
    """check_budget's refusal has a class of its own (callers that can take another way
    catch it alone), which is a ValueError (callers that catch those keep working)."""
    from convtheory import BudgetError, conv_matrix
    from convtheory.validation import check_budget
    assert issubclass(BudgetError, ValueError)
    with pytest.raises(BudgetError, match=r"conv_matrix of a 3,844 x 4,096 matrix would need"):
        conv_matrix(np.ones((3, 3)), (64, 64), max_bytes=1000)
    with pytest.raises(ValueError, match=r"max_bytes must be >= 1") as caught:
        check_budget(10, 0, "x", "y")
    assert not isinstance(caught.value, BudgetError)  # a bad budget is not a refusal
