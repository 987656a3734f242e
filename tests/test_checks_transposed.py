"""check_transposed_arithmetic: holds on the real thing, fails on wrong matrices, NaN and inf."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from convtheory import ConvTransposeSpec, check_transposed_arithmetic, conv_transpose_matrix, kernel_symbols
from convtheory.checks import zero_insertion_matrix
from tests.test_transposed import SETTINGS, geometries


@settings(max_examples=150, **SETTINGS)
@given(geometries(max_ndim=2), st.integers(0, 2**32 - 1))
def test_holds_over_a_sweep_of_geometries(geom, seed):
    wshape, ishape, options = geom
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(wshape)
    v = check_transposed_arithmetic(w, ishape, x=rng.standard_normal(ishape), **options)
    assert v, (v.evidence, v.counterexample)
    assert v.method == "exhaustive" and v.evidence["max_error"] <= 1e-10


@pytest.mark.parametrize("options", [dict(stride=2), dict(stride=3, padding=1, output_padding=2),
                                     dict(dilation=2, padding=2, output_padding=1)])
def test_symbolic_weights_make_it_exact(options):
    w = kernel_symbols((2, 1, 3))
    v = check_transposed_arithmetic(w, (2, 4), groups=2, **options)
    assert v and v.method == "symbolic" and v.evidence["differing_entries"] == 0


def test_zero_insertion_table_is_dumoulin_and_visin():
    # Their relationship 12 example: i=3 (stretched 5), k=3, s=2, p=1: pad k-p-1=1 each side.
    t = ConvTransposeSpec((3, 3), (3, 3), stride=2, padding=1)
    assert t.zero_insertion() == ((5, 1, 1), (5, 1, 1))
    assert zero_insertion_matrix(t).shape == (49, 9)


def test_a_wrong_matrix_fails(rng):
    w = rng.standard_normal((2, 3, 3))
    right = conv_transpose_matrix(w, (2, 5), stride=2, padding=1, output_padding=1)
    assert check_transposed_arithmetic(w, (2, 5), stride=2, padding=1, output_padding=1,
                                       matrix=right)
    # A different spec (no output_padding) read into the right shape: entries land one row off.
    shifted = sp.vstack([sp.csr_array((1, right.shape[1])), right[:-1]]).tocsr()
    v = check_transposed_arithmetic(w, (2, 5), stride=2, padding=1, output_padding=1,
                                    matrix=shifted)
    assert not v and v.counterexample["entry"] is not None
    # The input channels of the kernel exchanged.
    wrong = conv_transpose_matrix(w[::-1], (2, 5), stride=2, padding=1, output_padding=1)
    assert not check_transposed_arithmetic(w, (2, 5), stride=2, padding=1, output_padding=1,
                                           matrix=wrong)


def test_a_wrong_symbolic_matrix_fails():
    w = kernel_symbols((3,))
    M = conv_transpose_matrix(w, (4,), stride=2).as_mutable()
    M[2, 1] = M[2, 1] + 1
    v = check_transposed_arithmetic(w, (4,), stride=2, matrix=M)
    assert not v and v.evidence["differing_entries"] == 1


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_fail(rng, bad):
    w = rng.standard_normal((1, 1, 3))
    M = conv_transpose_matrix(w, (1, 4), stride=2).tolil()
    M[1, 0] = bad
    v = check_transposed_arithmetic(w, (1, 4), stride=2, matrix=M.tocsr())
    assert not v and v.counterexample["entry"] == (1, 0)
    x = np.ones((1, 4))
    x[0, 2] = bad
    v = check_transposed_arithmetic(w, (1, 4), stride=2, x=x)
    assert not v and v.counterexample["x_index"] == (0, 2)
    assert np.array_equal(v.counterexample["x"], bad, equal_nan=True)
    with pytest.raises(ValueError, match="weight must be finite"):
        check_transposed_arithmetic(np.full((1, 1, 3), bad), (1, 4))


def test_bad_arguments(rng):
    w = rng.standard_normal((1, 1, 3))
    with pytest.raises(ValueError, match=r"matrix.shape=\(3, 3\) does not match .* \(9, 4\)"):
        check_transposed_arithmetic(w, (1, 4), stride=2, matrix=np.zeros((3, 3)))
    with pytest.raises(TypeError, match="matrix must be a scipy sparse array.*list"):
        check_transposed_arithmetic(w, (1, 4), matrix=[[0.0]])
    with pytest.raises(ValueError, match=r"x must have shape \(1, 4\)"):
        check_transposed_arithmetic(w, (1, 4), x=np.ones(3))
    with pytest.raises(ValueError, match="atol must be a finite number >= 0, got atol=nan"):
        check_transposed_arithmetic(w, (1, 4), atol=float("nan"))
