"""conv_operator and dot_test without PyTorch: equality with conv_matrix, errors,
and a dot test that fails when the adjoint is wrong.  (The PyTorch comparison
over random geometries is in test_reference_torch.py.)"""

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator

from convtheory import ConvSpec, conv_matrix, conv_operator, dot_test, estimate_operator_bytes, kernel_symbols

ATOL = 1e-11  # float64 sums of <= 100 O(1) products


class TestEqualsConvMatrix:
    @pytest.mark.parametrize("method", ["direct", "fft", "auto"])
    @pytest.mark.parametrize("weight_shape, input_shape, kw", [
        ((4, 3, 3, 3), (3, 8, 8), dict(padding=1, padding_mode="circular")),
        ((4, 2, 4, 2), (4, 7, 6), dict(padding="same", padding_mode="circular", groups=2)),
        ((3, 2, 5), (2, 11), dict(padding="same", padding_mode="circular", dilation=2, flip=True)),
        ((2, 1, 3, 3, 3), (1, 5, 4, 6), dict(padding=1, padding_mode="circular")),
    ])
    def test_circular(self, rng, method, weight_shape, input_shape, kw):
        w = rng.standard_normal(weight_shape)
        A = conv_operator(w, input_shape, method=method, **kw)
        M = conv_matrix(w, input_shape, **kw)
        X = rng.standard_normal((M.shape[1], 2))
        Y = rng.standard_normal((M.shape[0], 2))
        np.testing.assert_allclose(A @ X, M @ X, rtol=0, atol=ATOL)
        np.testing.assert_allclose(A.H @ Y, M.T @ Y, rtol=0, atol=ATOL)
        assert dot_test(A)

    @pytest.mark.parametrize("weight_shape, input_shape, kw", [
        ((4, 3, 3, 3), (3, 9, 8), dict(padding=((1, 0), (2, 1)), stride=(2, 1))),
        ((6, 1, 3), (3, 10), dict(groups=3, padding_mode="reflect", padding=2, dilation=2)),
        ((2, 2, 2, 2), (2, 5, 5), dict(padding="full", padding_mode="replicate", flip=True)),
    ])
    def test_direct(self, rng, weight_shape, input_shape, kw):
        w = rng.standard_normal(weight_shape)
        A = conv_operator(w, input_shape, **kw)
        M = conv_matrix(w, input_shape, **kw)
        x, y = rng.standard_normal(M.shape[1]), rng.standard_normal(M.shape[0])
        assert A.method == "direct" and A.shape == M.shape
        np.testing.assert_allclose(A.matvec(x), M @ x, rtol=0, atol=ATOL)
        np.testing.assert_allclose(A.rmatvec(y), M.T @ y, rtol=0, atol=ATOL)
        np.testing.assert_allclose(A.H.H @ x, M @ x, rtol=0, atol=ATOL)

    def test_auto_picks_fft_only_where_it_applies(self, rng):
        w = rng.standard_normal((8, 8, 7, 7))
        assert conv_operator(w, (8, 32, 32), padding=3, padding_mode="circular").method == "fft"
        assert conv_operator(w, (8, 32, 32), padding=3).method == "direct"
        assert conv_operator(w, (8, 32, 32), padding=3, padding_mode="circular",
                             stride=2).method == "direct"

    def test_repr(self):
        A = conv_operator(np.ones((2, 1, 3)), (1, 8))
        assert repr(A) == "<12x8 ConvOperator weight=(2, 1, 3) input=(1, 8) method='direct' dtype=float64>"


class TestErrors:
    @pytest.mark.parametrize("kw, exc, match", [
        (dict(method="dense"), ValueError,
         r"method must be one of \('auto', 'direct', 'fft'\), got method='dense'"),
        (dict(method="fft"), ValueError,
         r"method='fft' needs padding_mode='circular', stride 1 and an output the size of the "
         r"input, got padding_mode='zeros', stride=\(1,\), output \(6,\) for input \(8,\); "
         r"use method='direct'"),
        (dict(method="fft", padding_mode="circular", padding=2), ValueError,
         r"output \(10,\) for input \(8,\)"),
        (dict(padding="same", stride=2), ValueError, r"padding='same' needs stride 1"),
        (dict(padding_mode="mirror"), ValueError, r"padding_mode must be one of"),
        (dict(strides=2), TypeError, r"unexpected keyword argument 'strides'"),
    ])
    def test_bad_arguments(self, kw, exc, match):
        with pytest.raises(exc, match=match):
            conv_operator(np.ones(3), (8,), **kw)

    def test_symbolic_weights(self):
        with pytest.raises(TypeError, match=r"conv_operator needs numeric weights; use conv_matrix"):
            conv_operator(kernel_symbols((3,)), (8,))

    def test_non_finite_weights(self):
        with pytest.raises(ValueError, match=r"weight must be finite, got inf at index \(0, 1\)"):
            conv_operator(np.array([[0.0, np.inf]]), (4, 4))

    def test_vector_of_the_wrong_size(self):
        A = conv_operator(np.ones(3), (8,))
        with pytest.raises(ValueError, match="dimension mismatch"):
            A @ np.ones(7)


class TestDotTest:
    def test_fails_on_a_wrong_adjoint(self, rng):
        w = rng.standard_normal((2, 2, 3, 3))
        A = conv_operator(w, (2, 6, 6), padding=1)
        # The adjoint of correlation is NOT correlation with the same kernel.
        wrong = LinearOperator(A.shape, matvec=A.matvec,
                               rmatvec=lambda y: conv_operator(w, (2, 6, 6), padding=1).matvec(y))
        verdict = dot_test(wrong)
        assert not verdict and verdict.counterexample is not None
        lhs, rhs = verdict.evidence["sides"][0]
        assert abs(lhs - rhs) > 1e-3 * abs(lhs)
        assert dot_test(A).evidence["max_relative_error"] < 1e-12

    def test_fails_on_a_transposed_but_unconjugated_complex_adjoint(self, rng):
        M = rng.standard_normal((4, 5)) + 1j * rng.standard_normal((4, 5))
        wrong = LinearOperator(M.shape, matvec=lambda x: M @ x, rmatvec=lambda y: M.T @ y,
                               dtype=complex)
        assert not dot_test(wrong)
        assert dot_test(M)

    def test_bad_n_samples(self):
        with pytest.raises(ValueError, match=r"n_samples must be a positive int, got n_samples=0"):
            dot_test(np.eye(2), n_samples=0)
