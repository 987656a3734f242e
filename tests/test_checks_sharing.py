import numpy as np
import pytest
import sympy

from convtheory import ConvSpec, check_sharing, conv_matrix, kernel_symbols
from convtheory.checks import parameter_counts, seed_sharing_example, weight_patterns

GEOMETRIES = [
    dict(weight_shape=(3,), input_shape=(7,), conv={}),
    dict(weight_shape=(3,), input_shape=(7,), conv=dict(padding=2, padding_mode="reflect")),
    dict(weight_shape=(3,), input_shape=(4,), conv=dict(padding=2, padding_mode="replicate")),
    dict(weight_shape=(2, 1, 3, 2), input_shape=(2, 5, 4),
         conv=dict(stride=(2, 1), padding=1, groups=2, padding_mode="circular")),
    dict(weight_shape=(2, 3, 2, 2), input_shape=(3, 4, 5), conv=dict(dilation=(1, 2), padding=(1, 2))),
]


@pytest.mark.parametrize("case", GEOMETRIES)
def test_holds_symbolically_and_numerically(case, rng):
    w = rng.standard_normal(case["weight_shape"])
    sym = check_sharing(w, case["input_shape"], **case["conv"])
    num = check_sharing(w, case["input_shape"], symbolic=False, **case["conv"])
    assert sym and sym.method == "symbolic"
    assert num and num.method == "numeric"
    spec = ConvSpec(case["weight_shape"], case["input_shape"], **case["conv"])
    # The sharing count: each weight's taps, summed, is the number of taps.
    positions = np.array(sym.evidence["positions_per_weight"])
    assert positions.sum() == int(conv_matrix(np.ones(spec.weight_shape), spec).sum())


def test_folding_gives_pattern_entry_two():
    v = check_sharing(np.ones(3), (3,), padding=1, padding_mode="replicate")
    assert v and v.evidence["max_taps_per_entry"] == 2 and v.evidence["max_B_k_entry"] == 1
    assert check_sharing(np.ones(3), (5,), padding=1).evidence["max_taps_per_entry"] == 1


def test_one_tap_moved_fails_numeric(rng):
    w = rng.standard_normal((3, 3))
    M = conv_matrix(w, (5, 5), padding=1).tolil()
    M[6, 7], M[6, 12] = M[6, 12], 0.0  # move one tap of row 6 off its diagonal
    v = check_sharing(w, (5, 5), padding=1, matrix=M.tocsr())
    assert not v
    assert v.counterexample["entry"] in {(6, 7), (6, 12)}


def test_one_tap_moved_fails_symbolic():
    w = kernel_symbols((3,))
    M = sympy.Matrix(conv_matrix(w, (5,)))
    M[1, 1], M[1, 4] = 0, M[1, 1]
    v = check_sharing(w, (5,), matrix=M)
    assert not v and v.method == "symbolic"
    assert v.counterexample["entry"] == (1, 1)
    assert v.counterexample["expected"] == "w_0"


def test_nonlinear_or_constant_entry_fails():
    w = kernel_symbols((2,))
    M = sympy.Matrix(conv_matrix(w, (3,)))
    M[0, 0] = w[0] * w[1]
    assert not check_sharing(w, (3,), matrix=M)
    M = sympy.Matrix(conv_matrix(w, (3,)))
    M[1, 2] = w[1] + 1
    v = check_sharing(w, (3,), matrix=M)
    assert not v and v.counterexample["entry"] == (1, 2)


def test_wrong_weight_value_fails():
    M = conv_matrix(np.array([1.0, 2.0, 3.0]), (6,))
    assert not check_sharing(np.array([1.0, 2.0, 3.5]), (6,), matrix=M)


def test_parameter_counts_and_seed_example():
    spec = ConvSpec((16, 3, 3, 3), (3, 32, 32), padding=1)
    c = parameter_counts(spec, bias=True)
    assert c["conv"] == 16 * 3 * 9 + 16
    assert c["dense"] == (16 * 32 * 32) * (3 * 32 * 32) + 16 * 32 * 32
    v = seed_sharing_example(6, 7)
    assert v and v.evidence["parameters"] == 2 and v.evidence["dense_parameters"] == (6 * 7) ** 2
    assert v.evidence["positions_per_weight"] == [[[[6 * 7, 6 * 6]]]]


def test_bad_input():
    with pytest.raises(ValueError, match=r"matrix.shape=\(3, 3\) does not match"):
        check_sharing(np.ones(2), (4,), matrix=np.eye(3))
    with pytest.raises(TypeError, match="matrix must be a scipy sparse array"):
        check_sharing(np.ones(2), (4,), matrix=[[1, 2]])
    with pytest.raises(TypeError, match="a numeric check needs numeric weights"):
        check_sharing(kernel_symbols((2,)), (4,), symbolic=False)
    with pytest.raises(TypeError, match="symbolic=True needs a sympy matrix"):
        check_sharing(np.ones(2), (4,), matrix=np.ones((3, 4)), symbolic=True)


@pytest.mark.parametrize("conv", [dict(padding=1), dict(padding=2, padding_mode="reflect", stride=2)])
def test_weight_patterns_are_derivatives(conv):
    # B_k = dM/dw_k, read off the symbolic matrix by sympy's own differentiation.
    spec = ConvSpec((2, 1, 3), (1, 5), **conv)
    w = kernel_symbols(spec.weight_shape)
    M = sympy.Matrix(conv_matrix(w, spec))
    B = weight_patterns(spec)
    for k, wk in enumerate(w.flat):
        expected = np.array(M.diff(wk).tolist(), dtype=float)
        assert np.array_equal(B[:, [k]].toarray().reshape(spec.matrix_shape), expected)


def test_weight_used_once_is_not_shared():
    # One output: M = sum_k w_k B_k holds, but each weight sits at one position only.
    v = check_sharing(np.ones(3), (3,))
    assert not v and v.evidence["weights_tied"]
    assert v.evidence["positions_per_weight"] == [[[1, 1, 1]]]
    assert v.counterexample == {"weight_index": (0, 0, 0), "positions": 1,
                                "reason": "this weight sits at fewer than two positions: "
                                          "nothing shared"}
    assert check_sharing(np.ones(3), (4,)).evidence["min_positions_per_weight"] == 2


def test_symbolic_matrix_missing_a_folded_term_fails():
    # Reflect padding folds w_0 and w_2 onto one entry of row 0; drop w_2 from it.
    w = kernel_symbols((3,))
    M = sympy.Matrix(conv_matrix(w, (4,), padding=1, padding_mode="reflect"))
    assert sympy.expand(M[0, 1] - (w[0] + w[2])) == 0
    M[0, 1] = w[0]
    v = check_sharing(w, (4,), padding=1, padding_mode="reflect", matrix=M)
    assert not v and v.counterexample["entry"] == (0, 1)
    assert v.counterexample["expected"] == "w_0 + w_2"


def test_numeric_perturbation_of_one_part_in_a_million_fails(rng):
    w = rng.standard_normal((3, 3))
    M = conv_matrix(w, (5, 5), padding=1)
    M.data[4] += 1e-6
    v = check_sharing(w, (5, 5), padding=1, matrix=M)
    assert not v and v.method == "numeric" and v.evidence["entries_off"] == 1


def test_size_guard_before_building_taps():
    # 10^5 rows of 10^5 outputs, 2 taps each but 1 in the last column (its padding).
    with pytest.raises(ValueError, match=r"check_sharing of 19,999,900,000 taps would need "
                                         r"about 1.8 TiB, over max_bytes=2,147,483,648"):
        seed_sharing_example(10**5, 10**5)
    with pytest.raises(ValueError, match=r"of 169 taps would need about .*, over max_bytes=100 "):  # (5*3 - 2)^2
        check_sharing(np.ones((3, 3)), (5, 5), padding=1, max_bytes=100)
    with pytest.raises(ValueError, match="max_bytes must be >= 1, got max_bytes=-1"):
        check_sharing(np.ones(3), (5,), max_bytes=-1)


def test_rtol(rng):
    w = rng.standard_normal(3)
    M = conv_matrix(w, (6,))
    M.data[0] += 1e-9
    assert not check_sharing(w, (6,), matrix=M)
    assert check_sharing(w, (6,), matrix=M, rtol=1e-6)
    with pytest.raises(ValueError, match=r"rtol must be a finite number \(not NaN\) >= 0, got rtol=-1"):
        check_sharing(w, (6,), rtol=-1)
