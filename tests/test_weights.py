import numpy as np
import pytest
import sympy

from convtheory import ConvSpec, conv_arguments, conv_matrix, kernel_symbols
from convtheory.weights import as_weight, is_symbolic


class TestAsWeight:
    def test_numeric_kinds(self):
        assert as_weight([1, 2]).dtype == np.float64
        assert as_weight(np.ones(2, dtype=np.float32)).dtype == np.float32
        assert as_weight(np.ones(2, dtype=complex)).dtype == complex

    def test_sympy_containers(self):
        a, b = sympy.symbols("a b")
        for w in (sympy.Matrix([[a, b]]), sympy.Array([[a, b]]), np.array([[a, b]], dtype=object)):
            out = as_weight(w)
            assert out.dtype == object and out.shape == (1, 2) and out[0, 1] == b

    @pytest.mark.parametrize("weight, exc, match", [
        (np.array([1.0, np.inf]), ValueError, r"weight must be finite, got inf at index \(1,\)"),
        (np.array([[0.0], [-np.inf]]), ValueError, r"weight must be finite, got -inf at index \(1, 0\)"),
        (np.array(["a", "b"]), TypeError, r"weight must be a numeric or sympy array, got dtype <U1"),
        (sympy.Symbol("a"), TypeError, r"weight must be an array of expressions, got the scalar a"),
        (np.array([sympy.Symbol("a"), sympy.Float(0.5)], dtype=object), TypeError,
         r"symbolic weight must be exact, got the float 0.5\d* at index \(1,\); use sympy.Rational"),
    ])
    def test_refused(self, weight, exc, match):
        with pytest.raises(exc, match=match):
            as_weight(weight)

    def test_is_symbolic(self):
        assert is_symbolic(sympy.Matrix([1, 2]))
        assert not is_symbolic([1.0, 2.0])
        assert not is_symbolic(np.array([1, 2], dtype=object))


class TestKernelSymbols:
    def test_names_are_the_index(self):
        w = kernel_symbols((2, 3, 1, 2))
        assert str(w[0, 1, 0, 1]) == "w_0_1_0_1"
        assert len(set(w.ravel())) == w.size
        assert all(s.is_real for s in w.ravel())

    @pytest.mark.parametrize("kw, exc, match", [
        (dict(shape=(2,), name="2w"), ValueError, r"name must be a Python identifier, got name='2w'"),
        (dict(shape=(2, 0)), ValueError, r"shape\[1\] must be >= 1"),
        (dict(shape=(2.0,)), TypeError, r"shape\[0\] must be an integer, got 2.0"),
    ])
    def test_errors(self, kw, exc, match):
        with pytest.raises(exc, match=match):
            kernel_symbols(**kw)


class TestConvArguments:
    def test_spec_in_place_of_shape(self):
        spec = ConvSpec((2, 1, 3), (1, 8), padding=1)
        w, got = conv_arguments(np.ones((2, 1, 3)), spec)
        assert got is spec and w.shape == (2, 1, 3)
        # The single-channel shorthand also matches a (1, 1, k) spec.
        w, _ = conv_arguments(np.ones(3), ConvSpec((3,), (8,)))
        assert w.shape == (1, 1, 3)

    @pytest.mark.parametrize("call, exc, match", [
        (lambda: conv_arguments(np.ones(3), (8,), strides=2), TypeError,
         r"unknown conv options \['strides'\]; allowed: \['dilation', 'flip', 'groups', "
         r"'padding', 'padding_mode', 'stride'\]"),
        (lambda: conv_arguments(np.ones(3), ConvSpec((3,), (8,)), padding=1), TypeError,
         r"conv options \['padding'\] conflict with the ConvSpec given as input_shape; "
         r"use spec.replace\(...\) instead"),
        (lambda: conv_arguments(np.ones(4), ConvSpec((3,), (8,))), ValueError,
         r"weight.shape=\(4,\) does not match the spec's weight_shape=\(1, 1, 3\)"),
    ])
    def test_errors(self, call, exc, match):
        with pytest.raises(exc, match=match):
            call()


class TestBadInputThroughConvMatrix:
    """Every builder validates through ConvSpec; the messages reach the user intact."""

    @pytest.mark.parametrize("weight_shape, input_shape, kw, exc, match", [
        ((2, 2), (4,), {}, ValueError,
         r"weight must have shape \(C_out, C_in/groups, k1, ..., kd\) with d >= 1, or \(k1, ..., kd\) "
         r"with input_shape \(n1, ..., nd\); got weight.shape=\(2, 2\) and input_shape=\(4,\)"),
        ((4, 2, 3, 3), (3, 8, 8), {}, ValueError, r"channel mismatch: weight.shape\[1\] \* groups"),
        ((4, 1, 3), (3, 8), dict(groups=3), ValueError,
         r"groups must divide both C_in and C_out, got groups=3 with C_in=3 and C_out=4"),
        ((3,), (8,), dict(stride=0), ValueError, r"stride must be >= 1 on every axis, got stride=0"),
        ((3, 3), (8, 8), dict(dilation=(1, 0)), ValueError,
         r"dilation must be >= 1 on every axis, got dilation=\(1, 0\)"),
        ((3,), (8,), dict(padding=((1, -1),)), ValueError, r"padding must be >= 0, got padding=\(\(1, -1\),\)"),
        ((3,), (4,), dict(dilation=3), ValueError,
         r"dilated kernel is larger than the padded input on spatial axis 0: "
         r"dilation\*\(kernel_size-1\)\+1 = 7 > input \+ padding = 4\+0\+0 = 4"),
        ((3,), (0,), dict(padding=2, padding_mode="reflect"), ValueError,
         r"padding_mode='reflect' cannot extend an empty axis \(input size 0\) to 2 outputs"),
        ((3,), (8,), dict(padding="same", stride=2), ValueError,
         r"padding='same' needs stride 1 on every axis \(as in PyTorch\), got stride=\(2,\)"),
        ((3,), (8,), dict(padding="half"), ValueError,
         r"padding must be an int, a tuple, or one of \('valid', 'same', 'same_upper', 'same_lower', 'full'\), got padding='half'"),
        ((3,), (8,), dict(padding_mode="mirror"), ValueError,
         r"padding_mode must be one of \('zeros', 'circular', 'reflect', 'replicate', 'symmetric'\), "
         r"got padding_mode='mirror'"),
        ((3,), (8.0,), {}, TypeError, r"input_shape\[0\] must be an integer, got 8.0 of type float"),
        ((3,), 8, {}, TypeError, r"input_shape must be a sequence of integers, got 8"),
        ((3,), (8,), dict(padding=1.5), TypeError,
         r"padding must be an int, a tuple, or one of .*, got 1.5 of type float"),
        ((3,), (8,), dict(stride=True), TypeError, r"stride must be an int or a tuple of 1 ints, got True"),
    ])
    def test_message(self, weight_shape, input_shape, kw, exc, match):
        with pytest.raises(exc, match=match):
            conv_matrix(np.ones(weight_shape), input_shape, **kw)
