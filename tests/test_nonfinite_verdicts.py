"""No verdict that NaN, inf or None can fool.

NaN compares False with everything, so ``err <= tol`` and ``err > tol`` are
both False, and ``max(0.0, nan)`` is ``0.0``: a check written with either
comparison can say "holds" on a NaN.  Every check, structure test and
assertion is fed a NaN, an infinity and a deliberately wrong finite value in
data a user supplies (a matrix, a layer, a pool, an operator), and must fail
or raise; an output of the wrong kind or shape must raise a clear error.
Each case also shows the check holding on the right input, so that a check
that always fails would not pass these tests either.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import circulant, toeplitz
from scipy.ndimage import correlate
from scipy.sparse.linalg import LinearOperator

from convtheory import (
    ConvSpec,
    check_adaptivity,
    check_flip_identity,
    check_linearity,
    check_nnz_formula,
    check_pooling_equivariance,
    check_rotation_equivariance,
    check_scale_equivariance,
    check_sharing,
    check_sparsity,
    check_spectral_norm_closed_forms,
    check_translation_equivariance,
    conv_matrix,
    conv_operator,
    dot_test,
    is_circulant,
    is_toeplitz,
    pooling_aliasing_example,
    recover_kernel,
    testing,
)
from convtheory.checks import LAPLACIAN, axis_nnz
from convtheory.nn import Conv2d
from convtheory.nn.gradcheck import gradcheck
from convtheory.testing import ConvolutionAssertionError, EquivarianceAssertionError, NotLinearError
from convtheory.verdict import badness, exceeds, within, worst_entry

from .conftest import requires_torch, torch

BAD = [np.nan, np.inf, -np.inf]
BAD_IDS = ["nan", "inf", "-inf"]
W1 = np.array([1.0, -2.0, 3.0])


# --------------------------------------------------------------------------
# The rule itself
# --------------------------------------------------------------------------
class TestRule:
    def test_nan_and_inf_exceed_every_tolerance(self):
        errors = np.array([0.0, 1e-13, -1e-13, 0.5, np.nan, np.inf, -np.inf])
        assert exceeds(errors, 1e-12).tolist() == [False, False, False, True, True, True, True]
        assert exceeds(errors, np.inf).tolist() == [False] * 4 + [True] * 3

    def test_within(self):
        assert within([0.0, 1e-13], 1e-12) and within([], 0.0) and within(0.0, 0.0)
        assert not within([0.0, np.nan], 1e-12)
        assert not within(np.inf, np.inf)
        assert not within(np.array([1 + 1j, np.nan * 1j]), 10.0)

    def test_worst_entry_prefers_the_first_non_finite(self):
        assert worst_entry([[0.1, -0.3], [0.2, 0.0]]) == (0.3, (0, 1))
        value, index = worst_entry([1e300, 0.0, np.nan, np.inf])
        assert np.isnan(value) and index == (2,)
        assert worst_entry([1.0, -np.inf, np.nan]) == (np.inf, (1,))
        assert worst_entry(np.zeros((0, 3))) == (0.0, None)

    def test_badness_ranks_nan_worst(self):
        assert badness(np.nan) == np.inf and badness(-2.0) == 2.0
        assert min([np.nan, 3.0], key=badness) == 3.0
        assert np.isnan(max([0.0, np.nan], key=badness))

    def test_refuses_values_that_are_not_numbers(self):
        with pytest.raises(TypeError, match="errors must be numeric, got dtype object"):
            within([None], 1.0)
        with pytest.raises(TypeError, match="errors must be numeric"):
            worst_entry(["a"])


# --------------------------------------------------------------------------
# The examples that used to hold
# --------------------------------------------------------------------------
class TestReportedExamples:
    def test_sharing_of_an_all_nan_matrix(self):
        v = check_sharing(np.ones((3, 3)), (5, 5), matrix=np.full((9, 25), np.nan))
        assert not v
        assert v.counterexample["entry"] == (0, 0) and np.isnan(v.counterexample["found"])
        assert np.isnan(v.evidence["max_abs_error"])

    def test_sharing_of_one_nan_entry(self):
        M = conv_matrix(np.ones((3, 3)), (5, 5)).toarray()
        M[4, 7] = np.nan
        v = check_sharing(np.ones((3, 3)), (5, 5), matrix=M)
        assert not v and v.counterexample["entry"] == (4, 7)

    def test_linearity_of_a_layer_returning_none(self):
        with pytest.raises(TypeError, match=r"layer\(x\) must be a real numeric array, got NoneType of dtype object"):
            check_linearity(np.ones((3, 3)), (6, 6), layer=lambda x: None)

    def test_linearity_of_an_all_nan_layer(self):
        v = check_linearity(np.ones((3, 3)), (6, 6), layer=lambda x: np.full((1, 4, 4), np.nan))
        assert not v and np.isnan(v.counterexample["f(0)_max_abs"])

    @pytest.mark.parametrize("structure, build", [(is_toeplitz, toeplitz), (is_circulant, circulant)])
    def test_one_nan_entry_breaks_toeplitz_and_circulant(self, structure, build):
        M = build(np.arange(1.0, 6.0))
        assert structure(M)
        M[2, 3] = np.nan
        v = structure(M)
        assert not v
        assert (v.counterexample.row, v.counterexample.col) == (2, 3)
        assert v.counterexample.reason == "not finite"

    def test_assert_is_convolution_of_an_all_nan_map(self):
        with pytest.raises(ConvolutionAssertionError, match="holds nan at output"):
            testing.assert_is_convolution(lambda x: np.full(np.shape(x), np.nan), (6, 6), (3, 3),
                                          padding=1, padding_mode="circular")


# --------------------------------------------------------------------------
# Weights: a non-finite weight is refused before any check runs
# --------------------------------------------------------------------------
WEIGHT_CHECKS = {
    "sharing": lambda w: check_sharing(w, (7,)),
    "sparsity": lambda w: check_sparsity(w, (7,)),
    "translation": lambda w: check_translation_equivariance(w, (7,), 1),
    "rotation": lambda w: check_rotation_equivariance(w, (5, 5), padding=1),
    "scale": lambda w: check_scale_equivariance(w, (8,), padding=1, padding_mode="circular"),
    "flip_identity": lambda w: check_flip_identity(w, (7,)),
    "linearity": lambda w: check_linearity(w, (7,)),
    "adaptivity": lambda w: check_adaptivity(w, (7,)),
}


@pytest.mark.parametrize("name", WEIGHT_CHECKS)
@pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
def test_non_finite_weights_are_refused(name, value):
    w = np.ones((3, 3)) if name == "rotation" else W1.copy()
    assert WEIGHT_CHECKS[name](w) is not None
    w.flat[1] = value
    with pytest.raises(ValueError, match=r"weight must be finite, got .* at index"):
        WEIGHT_CHECKS[name](w)


# --------------------------------------------------------------------------
# Every check with a matrix override: NaN, inf and a wrong finite entry fail
# --------------------------------------------------------------------------
# name -> (check(matrix), the right matrix as a dense array, an entry inside its support)
MATRIX_CHECKS = {
    "sharing": (lambda M: check_sharing(W1, (7,), matrix=M), conv_matrix(W1, (7,)), (2, 3)),
    "sparsity": (lambda M: check_sparsity(W1, (7,), matrix=M), conv_matrix(W1, (7,)), (2, 3)),
    "translation": (
        lambda M: check_translation_equivariance(W1, (7,), 2, padding=1, padding_mode="circular",
                                                 matrix=M),
        conv_matrix(W1, (7,), padding=1, padding_mode="circular"), (3, 3)),
    "translation_strided": (
        # No shift' is predicted (3 is not a multiple of 2): the zero matrix passes with some.
        lambda M: check_translation_equivariance(W1, (8,), 3, stride=2, padding=1,
                                                 padding_mode="circular", matrix=M),
        np.zeros((4, 8)), (1, 2)),
    "rotation": (lambda M: check_rotation_equivariance(LAPLACIAN, (5, 5), padding=1, matrix=M),
                 conv_matrix(LAPLACIAN, (5, 5), padding=1), (6, 7)),
    "flip_identity": (lambda M: check_flip_identity(W1, (7,), matrix=M),
                      conv_matrix(W1, (7,), flip=True), (2, 3)),
    "adaptivity": (lambda M: check_adaptivity(W1, (7,), sizes=[(7,)], builder=lambda n: M),
                   conv_matrix(W1, (7,)), (2, 3)),
    "is_toeplitz": (is_toeplitz, conv_matrix(W1, (7,)), (2, 3)),
    "is_circulant": (is_circulant, conv_matrix(W1, (7,), padding=1, padding_mode="circular"),
                     (3, 3)),
    "recover_kernel": (lambda M: recover_kernel(M, (7,), kernel_size=(3,)), conv_matrix(W1, (7,)),
                       (2, 3)),
    "recover_kernel_folded": (
        lambda M: recover_kernel(M, (7,), kernel_size=(3,), padding=2, padding_mode="reflect"),
        conv_matrix(W1, (7,), padding=2, padding_mode="reflect"), (0, 2)),
}


def _dense(M):
    return M.toarray() if sp.issparse(M) else np.array(M, dtype=float)


@pytest.mark.parametrize("name", MATRIX_CHECKS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matrix_checks_hold_on_the_right_matrix(name, sparse):
    check, M, _ = MATRIX_CHECKS[name]
    M = _dense(M)
    assert check(sp.csr_array(M) if sparse else M)


# A wrong finite weight inside the taps keeps a matrix sparse: that is check_sharing's claim,
# so sparsity is fed a wrong finite entry only outside the taps.
BAD_ENTRIES = [pytest.param(name, value, where, id=f"{name}-{where}-{vid}")
               for name in MATRIX_CHECKS
               for value, vid in zip(BAD + [0.5], BAD_IDS + ["wrong"])
               for where in ("inside", "outside")
               if not (name == "sparsity" and where == "inside" and vid == "wrong")]


@pytest.mark.parametrize("name, value, where", BAD_ENTRIES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matrix_checks_fail_on_nan_inf_and_a_wrong_entry(name, value, where, sparse):
    check, M, inside = MATRIX_CHECKS[name]
    M = _dense(M)
    r, c = inside if where == "inside" else (inside[0], (inside[1] + M.shape[1] // 2) % M.shape[1])
    if where == "outside":
        assert M[r, c] == 0   # an entry no tap reaches
    M[r, c] = value if where == "outside" or not np.isfinite(value) else M[r, c] + value
    verdict = check(sp.csr_array(M) if sparse else M)
    assert not verdict, f"{name} holds with {value} at {(r, c)}"


@pytest.mark.parametrize("name", ["sharing", "flip_identity", "sparsity"])
@pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
def test_counterexample_names_the_non_finite_entry(name, value):
    check, M, (r, c) = MATRIX_CHECKS[name]
    M = _dense(M)
    M[r, c] = value
    verdict = check(M)
    assert not verdict and verdict.counterexample["entry"] == (r, c)


@pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
def test_recover_kernel_names_the_non_finite_entry(value):
    M = _dense(conv_matrix(W1, (7,)))
    M[3, 4] = value
    result = recover_kernel(M, (7,), kernel_size=(3,))
    assert not result and result.kernel is None
    assert (result.breach.row, result.breach.col, result.breach.reason) == (3, 4, "not finite")


@pytest.mark.parametrize("structure", [is_toeplitz, is_circulant])
def test_structure_tolerance_ignores_a_huge_entry_elsewhere(structure):
    # The tolerance scales with the largest finite entry: one inf must not make it infinite
    # and let every other deviation pass.
    M = circulant(np.arange(1.0, 7.0))
    M[1, 1] += 1.0          # a deviation
    M[4, 0] = np.inf        # and an infinity later in row-major order
    v = structure(M)
    assert not v and np.isfinite(v.evidence["tolerance"])


# --------------------------------------------------------------------------
# Checks of callables
# --------------------------------------------------------------------------
OP = conv_operator(np.ones((3, 3)), (6, 6))


def _layer_with(value):
    mask = np.arange(16).reshape(1, 4, 4) == 5

    def layer(x):
        return np.where(mask & (np.abs(x).sum() > 0), value, (OP @ x.ravel()).reshape(1, 4, 4))
    return layer


class TestLinearity:
    def test_holds_for_the_conv(self):
        assert check_linearity(np.ones((3, 3)), (6, 6), layer=lambda x: OP @ x.ravel())

    @pytest.mark.parametrize("value", BAD + [7.0], ids=BAD_IDS + ["wrong"])
    def test_one_bad_output_fails(self, value):
        v = check_linearity(np.ones((3, 3)), (6, 6), layer=_layer_with(value))
        assert not v and v.counterexample["output_index"] == (5,)

    @pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
    def test_non_finite_at_zero_fails(self, value):
        v = check_linearity(np.ones((3, 3)), (6, 6), layer=lambda x: np.full((1, 4, 4), value))
        assert not v and v.evidence["max_relative_error"] == np.inf

    @pytest.mark.parametrize("output, error, match", [
        (None, TypeError, r"layer\(x\) must be a real numeric array, got NoneType"),
        ("abc", TypeError, "got str of dtype <U3"),
        ([1.0, 2.0], ValueError, r"\(16 numbers\), got an array of shape \(2,\)"),
        (np.zeros(17), ValueError, r"got an array of shape \(17,\)"),
        (np.zeros(16, dtype=complex), TypeError, "real numeric array, got ndarray of dtype complex128"),
    ])
    def test_wrong_kind_or_shape_raises(self, output, error, match):
        with pytest.raises(error, match=match):
            check_linearity(np.ones((3, 3)), (6, 6), layer=lambda x: output)


def _maxpool(x):
    return x.reshape(-1, 2).max(axis=1)


class TestPooling:
    @pytest.mark.parametrize("shift", [2, 1], ids=["divisible", "not_divisible"])
    @pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
    def test_non_finite_pool_fails(self, shift, value):
        def pool(x):
            y = _maxpool(x)
            y[1] = value
            return y
        assert check_pooling_equivariance(_maxpool, (8,), 2, stride=2)
        v = check_pooling_equivariance(pool, (8,), shift, stride=2)
        assert not v and not within(v.evidence["max_error"], 1e-12)

    def test_one_nan_sample_among_good_ones_fails(self):
        calls = []

        def pool(x):
            calls.append(1)
            y = _maxpool(x)
            return y if len(calls) < 5 else np.where(np.arange(4) == 0, np.nan, y)
        v = check_pooling_equivariance(pool, (8,), 2, stride=2, n_samples=3)
        assert not v and np.isnan(v.evidence["max_error"])

    @pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
    def test_aliasing_example_fails_on_non_finite(self, value):
        v = pooling_aliasing_example(lambda x: np.full(4, value))
        assert not v and v.counterexample["reason"] == "pool returned NaN or infinity"

    @pytest.mark.parametrize("output, error, match", [
        (None, TypeError, r"pool\(x\) must be a real numeric array, got NoneType"),
        ("ab", TypeError, "got str of dtype <U2"),
    ])
    def test_wrong_kind_raises(self, output, error, match):
        with pytest.raises(error, match=match):
            check_pooling_equivariance(lambda x: output, (8,), 2, stride=2)
        with pytest.raises(error, match=match):
            pooling_aliasing_example(lambda x: output)

    def test_shape_that_changes_raises(self):
        with pytest.raises(ValueError, match=r"same shape for x and for its shift, got \(4,\) and"):
            check_pooling_equivariance(lambda x: _maxpool(x)[: 3 + (x[0] > x[1])], (8,), 1,
                                       stride=2, n_samples=5)
        with pytest.raises(ValueError, match="one shape for x and its shift"):
            pooling_aliasing_example(lambda x: _maxpool(x)[: 2 + int(x[0])])


A = np.arange(6.0).reshape(2, 3)


def _operator(rmatvec):
    return LinearOperator((2, 3), matvec=lambda x: A @ x, rmatvec=rmatvec, dtype=float)


class TestDotTest:
    def test_holds_and_fails_on_a_wrong_adjoint(self):
        assert dot_test(_operator(lambda y: A.T @ y))
        assert not dot_test(_operator(lambda y: 2 * A.T @ y))

    @pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
    def test_non_finite_adjoint_fails(self, value):
        v = dot_test(_operator(lambda y: np.where(np.arange(3) == 1, value, A.T @ y)))
        assert not v and np.isnan(v.evidence["max_relative_error"])

    @pytest.mark.parametrize("output", [None, "ab", [1.0]], ids=["None", "str", "short"])
    def test_wrong_kind_or_length_raises(self, output):
        with pytest.raises(TypeError, match="op.rmatvec must return 3 numbers"):
            dot_test(_operator(lambda y: output))


class TestNnzFormula:
    @pytest.mark.parametrize("value", BAD + [0.5], ids=BAD_IDS + ["fraction"])
    def test_a_formula_off_by_a_bad_value_fails(self, value):
        # int() would truncate 2.5 to 2, and raise on NaN and inf: compared as numbers instead.
        v = check_nnz_formula(range(3, 5), (3,), (1,), (1,), (0,),
                              formula=lambda *a: axis_nnz(*a) + value)
        assert check_nnz_formula(range(3, 5), (3,), (1,), (1,), (0,), formula=axis_nnz)
        assert not v and v.counterexample["n"] == 3

    @pytest.mark.parametrize("output", [None, "3", True], ids=["None", "str", "bool"])
    def test_not_a_number_raises(self, output):
        with pytest.raises(TypeError, match="formula must return a number, got"):
            check_nnz_formula(range(3, 5), (3,), (1,), (1,), (0,), formula=lambda *a: output)


class TestSpectralNormClosedForms:
    @pytest.mark.parametrize("value", BAD + [1.0], ids=BAD_IDS + ["wrong"])
    def test_a_bad_norm_fails(self, value):
        v = check_spectral_norm_closed_forms(sizes=(4,), norm=lambda *a, **k: value)
        assert not v and v.counterexample is not None

    def test_none_raises(self):
        with pytest.raises(TypeError, match="norm must return a real number, got NoneType"):
            check_spectral_norm_closed_forms(sizes=(4,), norm=lambda *a, **k: None)


class TestAdaptivityOperator:
    @pytest.mark.parametrize("value", BAD + [0.5], ids=BAD_IDS + ["wrong"])
    def test_bad_operator_fails(self, value):
        wrong = value if not np.isfinite(value) else None

        class Op:
            def __init__(self, size):
                self.op = conv_operator(W1, size)

            def __matmul__(self, X):
                Y = self.op @ X
                Y[1] = Y[1] + 0.5 if wrong is None else wrong
                return Y
        assert check_adaptivity(W1, (7,), sizes=[(7,), (9,)])
        v = check_adaptivity(W1, (7,), sizes=[(7,), (9,)], operator=Op)
        assert not v and not within(v.counterexample["operator_max_error"], 1e-6)

    def test_wrong_shape_raises(self):
        class Op:
            def __init__(self, size):
                pass

            def __matmul__(self, X):
                return None
        with pytest.raises(TypeError, match=r"operator\(\(7,\)\) @ X must be a numeric array"):
            check_adaptivity(W1, (7,), sizes=[(7,)], operator=Op)


class TestGradcheck:
    X = np.random.default_rng(1).standard_normal((1, 1, 4, 4))

    @pytest.mark.parametrize("value", BAD + [0.5], ids=BAD_IDS + ["wrong"])
    def test_bad_backward_fails(self, value):
        class Bad(Conv2d):
            def backward(self, g):
                gx = super().backward(g)
                gx[0, 0, 1, 2] = value if not np.isfinite(value) else gx[0, 0, 1, 2] + value
                return gx
        assert gradcheck(Conv2d(1, 1, 3, seed=0), self.X)
        v = gradcheck(Bad(1, 1, 3, seed=0), self.X)
        assert not v and v.counterexample["array"] == "input"

    @pytest.mark.parametrize("result, match", [
        (lambda gx: None, "dtype object and shape ()"),
        (lambda gx: gx[..., :2], r"dtype float64 and shape \(1, 1, 4, 2\)"),
        (lambda gx: "s", "dtype <U1"),
    ], ids=["None", "short", "str"])
    def test_wrong_kind_or_shape_raises(self, result, match):
        class Bad(Conv2d):
            def backward(self, g):
                return result(super().backward(g))
        with pytest.raises(TypeError, match="the gradient of input must be a real array of shape "
                                            r"\(1, 1, 4, 4\), got " + match):
            gradcheck(Bad(1, 1, 3, seed=0), self.X)


# --------------------------------------------------------------------------
# The testing assertions
# --------------------------------------------------------------------------
def _wrap(x):
    return correlate(x, np.ones((3, 3)), mode="wrap")


def _with(value, at=13):
    def f(x):
        return np.where(np.arange(x.size).reshape(x.shape) == at, value, _wrap(x))
    return f


class TestAssertions:
    def test_hold_on_the_right_map(self):
        testing.assert_translation_equivariant(_wrap, (6, 6))
        testing.assert_rotation_equivariant(_wrap, (6, 6))
        testing.assert_invariant(lambda x: _wrap(x).sum(keepdims=True), np.flip, (6, 6))
        k = testing.assert_is_convolution(_wrap, (6, 6), (3, 3), padding=1,
                                          padding_mode="circular")
        assert np.array_equal(k, np.ones((3, 3)))

    @pytest.mark.parametrize("value", BAD + [5.0], ids=BAD_IDS + ["wrong"])
    def test_translation_and_rotation_fail(self, value):
        # A non-finite entry is the worst position; a wrong finite one fails where it moves to.
        where = r"worst output position \(2, 1\)" if not np.isfinite(value) else "fails for"
        with pytest.raises(EquivarianceAssertionError, match=where):
            testing.assert_translation_equivariant(_with(value), (6, 6))
        with pytest.raises(EquivarianceAssertionError, match=where):
            testing.assert_rotation_equivariant(_with(value), (6, 6))

    @pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
    def test_error_map_shows_a_compared_nan_as_failing(self, value):
        # NaN in the error map means "not compared"; a compared NaN error must not look so.
        with pytest.raises(EquivarianceAssertionError) as failure:
            testing.assert_translation_equivariant(_with(value), (6, 6))
        assert failure.value.error_map[2, 1] == np.inf
        assert "#" in testing.failures.ascii_error_map(failure.value.error_map, 1e-9)[2]

    @pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
    def test_nan_is_never_the_closest_candidate(self, value):
        # With a stride, several output shifts are candidates; the one with a NaN must not win.
        def f(x):
            y = _wrap(x)[::2, ::2]
            return np.where(np.arange(9).reshape(3, 3) == 4, value, y)
        with pytest.raises(EquivarianceAssertionError):
            testing.assert_translation_equivariant(f, (6, 6), shifts=[(1, 0)], stride=2)

    @pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
    def test_invariance_fails(self, value):
        def f(x):
            return np.full((1, 1), value) if x[0, 0] < x[-1, -1] else _wrap(x).sum(keepdims=True)
        with pytest.raises(EquivarianceAssertionError):
            testing.assert_invariant(f, np.flip, (6, 6), samples=8, seed=0)

    @pytest.mark.parametrize("value", BAD + [5.0], ids=BAD_IDS + ["wrong"])
    def test_assert_is_convolution_fails(self, value):
        f = _with(value)
        with pytest.raises(ConvolutionAssertionError):
            testing.assert_is_convolution(f, (6, 6), (3, 3), padding=1, padding_mode="circular")

    @pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
    def test_probe_matrix_keeps_non_finite_entries(self, value):
        # Without the linearity probe, a NaN column entry is stored, not dropped as a zero,
        # and recover_kernel then names it.
        def f(x):
            return np.where(x != 0, value, 0.0) if np.count_nonzero(x) == 1 else _wrap(x)
        M = testing.probe_matrix(f, (3, 3), linearity_pairs=0)
        assert M.nnz == 9 and not np.isfinite(M.data).any()
        with pytest.raises(NotLinearError, match="a linear map of finite inputs"):
            testing.probe_matrix(_with(value), (6, 6))

    @pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
    def test_receptive_field_map_refuses_non_finite(self, value):
        with pytest.raises(ValueError, match=r"holds .* at \(2, 1\); a receptive field is read "
                                             r"from finite responses only"):
            testing.receptive_field_map(_with(value), (6, 6))

    @pytest.mark.parametrize("output, match", [(None, "got NoneType"), ("ab", "got str")])
    def test_wrong_kind_raises(self, output, match):
        with pytest.raises(TypeError, match=r"f\(x\) must be a numeric array, " + match):
            testing.assert_translation_equivariant(lambda x: output, (6, 6))
        with pytest.raises(TypeError, match=r"f\(x\) must be a numeric array, " + match):
            testing.receptive_field_map(lambda x: output, (6, 6))
        with pytest.raises(TypeError, match=r"f\(zeros\) must be a numeric array, " + match):
            testing.assert_is_convolution(lambda x: output, (6, 6), (3, 3))


# --------------------------------------------------------------------------
# A border of the geometry core that a mutation found unpinned
# --------------------------------------------------------------------------
class TestReflectPaddingBorder:
    """Reflect padding follows PyTorch below the input size and ``numpy.pad`` from it on.

    A mutation once weakened the border ``hi >= n`` to ``hi > n`` unnoticed; the border
    where PyTorch stops is now where numpy's bouncing begins, and both sides are pinned.
    """

    @pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
    @pytest.mark.parametrize("side", ["lo", "hi"])
    def test_every_pad_width_matches_numpy(self, n, side):
        for pad in range(2 * n + 3):
            widths = (pad, 0) if side == "lo" else (0, pad)
            spec = ConvSpec((1,), (n,), padding=(widths,), padding_mode="reflect")
            expected = np.pad(np.arange(n), widths, mode="reflect")
            assert spec.axis_table(0)[:, 0].tolist() == expected.tolist(), (n, widths)

    def test_the_reported_case(self):
        spec = ConvSpec((3,), (4,), padding=((0, 4),), padding_mode="reflect")
        x = np.array([1.0, 2.0, 3.0, 4.0])
        padded = np.pad(x, (0, 4), mode="reflect")
        expected = np.array([padded[o:o + 3].sum() for o in range(6)])
        assert spec.output_spatial == (6,)
        np.testing.assert_array_equal(conv_matrix(np.ones(3), (4,), padding=((0, 4),),
                                                  padding_mode="reflect") @ x, expected)

    @requires_torch
    @pytest.mark.parametrize("n", [2, 3, 4])
    def test_pytorch_draws_the_same_border(self, n):
        x = torch.zeros(1, 1, n, dtype=torch.float64)
        torch.nn.functional.pad(x, (0, n - 1), mode="reflect")   # the largest pad both accept
        with pytest.raises(RuntimeError):
            torch.nn.functional.pad(x, (0, n), mode="reflect")
