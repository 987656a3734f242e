import numpy as np
import pytest
import sympy
from scipy.signal import convolve, correlate

from convtheory import check_flip_identity, check_linearity, conv_matrix, conv_operator, kernel_symbols


class TestLinearity:
    def test_conv_is_linear(self, rng):
        w = rng.standard_normal((3, 2, 3, 3))
        assert check_linearity(w, (2, 6, 6), stride=2, padding=1, padding_mode="reflect")

    def test_bias_breaks_it(self, rng):
        w = rng.standard_normal((1, 1, 3))
        op = conv_operator(w, (1, 8))
        v = check_linearity(w, (1, 8), layer=lambda x: op @ x.ravel() + 0.5)
        assert not v and v.counterexample["f(0)_max_abs"] == 0.5

    def test_activation_breaks_it(self, rng):
        w = rng.standard_normal((1, 1, 3))
        op = conv_operator(w, (1, 8))
        v = check_linearity(w, (1, 8), layer=lambda x: np.tanh(op @ x.ravel()))
        assert not v and v.counterexample["relative_error"] > 1e-3

    def test_bad_layer(self):
        with pytest.raises(TypeError, match="layer must be callable, got int"):
            check_linearity(np.ones(3), (5,), layer=3)

    def test_needs_samples(self):
        # With no samples only f(0) = 0 would be checked: x**2 would pass.
        with pytest.raises(ValueError, match=r"n_samples must be >= 1 .* got n_samples=0"):
            check_linearity(np.ones(3), (5,), layer=lambda x: x**2, n_samples=0)
        with pytest.raises(TypeError, match=r"n_samples must be an integer, got 2.0 of type float"):
            check_linearity(np.ones(3), (5,), n_samples=2.0)
        assert not check_linearity(np.ones(3), (5,), layer=lambda x: x[..., :3]**2, n_samples=1)


class TestFlip:
    @pytest.mark.parametrize("conv", [{}, dict(padding=2, stride=2), dict(padding=1, padding_mode="reflect")])
    def test_holds(self, conv, rng):
        w = rng.standard_normal((2, 2, 3, 2))
        assert check_flip_identity(w, (2, 5, 6), **conv).method == "symbolic"
        assert check_flip_identity(w, (2, 5, 6), **conv)
        assert check_flip_identity(w, (2, 5, 6), symbolic=False, **conv)

    def test_against_scipy(self, rng):
        w, x = rng.standard_normal((3, 2)), rng.standard_normal((6, 7))
        conv = conv_matrix(w, x.shape, flip=True) @ x.ravel()
        assert np.allclose(conv, convolve(x, w, mode="valid").ravel(), atol=1e-12)
        corr = conv_matrix(w[::-1, ::-1], x.shape) @ x.ravel()
        assert np.allclose(corr, correlate(x, w[::-1, ::-1], mode="valid").ravel(), atol=1e-12)

    def test_unflipped_matrix_fails(self, rng):
        w = rng.standard_normal(3)
        wrong = conv_matrix(w, (6,))  # correlation passed off as convolution
        v = check_flip_identity(w, (6,), matrix=wrong)
        assert not v and v.counterexample["entry"] == (0, 0)

    def test_symbolic_override_fails(self):
        w = kernel_symbols((2,))
        wrong = sympy.Matrix(conv_matrix(w, (3,)))  # not flipped
        assert not check_flip_identity(w, (3,), matrix=wrong)
