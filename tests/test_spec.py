"""ConvGeometry (shape-free) and its binding to an input shape, ConvSpec."""

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convtheory import (ConvGeometry, ConvSpec, col2im, conv_matrix, conv_operator, im2col,
                        kernel_symbols, output_shape, receptive_field)
from convtheory.nn import Conv2d
from convtheory.weights import conv_arguments


class TestConvGeometry:
    def test_normalised_fields(self):
        g = ConvGeometry((3, 3), stride=2, padding=1, dilation=(1, 2))
        assert g.kernel_size == (3, 3) and g.stride == (2, 2) and g.dilation == (1, 2)
        assert g.padding == ((1, 1), (1, 1))
        assert g.extent == (3, 5)
        assert ConvGeometry((3,), padding="same_upper").padding == "same_upper"
        assert ConvGeometry((3,), padding="same").pads() == ((1, 1),)

    def test_frozen_hashable_equal(self):
        a = ConvGeometry((3,), padding=1)
        b = ConvGeometry([3], padding=[(1, 1)])
        assert a == b and hash(a) == hash(b)
        with pytest.raises(dataclasses.FrozenInstanceError):
            a.stride = 2

    def test_replace_revalidates(self):
        g = ConvGeometry((3,))
        assert g.replace(stride=2).stride == (2,)
        with pytest.raises(ValueError, match=r"stride must be >= 1 on every axis, got stride=0"):
            g.replace(stride=0)

    @pytest.mark.parametrize("kw, exc, match", [
        (dict(kernel_size=()), ValueError, r"kernel_size must have at least one axis"),
        (dict(kernel_size=3), TypeError, r"kernel_size must be a sequence of integers, got 3"),
        (dict(kernel_size=(3,), groups=0), ValueError, r"groups must be >= 1, got groups=0"),
        (dict(kernel_size=(3,), in_channels=4, groups=3), ValueError,
         r"groups must divide both C_in and C_out, got groups=3 with C_in=4 and C_out=None"),
        (dict(kernel_size=(3,), out_channels=0), ValueError, r"out_channels must be >= 1, got out_channels=0"),
        (dict(kernel_size=(3,), in_channels=2.0), TypeError, r"in_channels must be an integer, got 2.0"),
        (dict(kernel_size=(3,), padding_mode="mirror"), ValueError,
         r"padding_mode must be one of \('zeros', 'circular', 'reflect', 'replicate', 'symmetric'\), "
         r"got padding_mode='mirror'"),
        (dict(kernel_size=(3,), flip="yes"), TypeError, r"flip must be a bool, got flip='yes'"),
        (dict(kernel_size=(3,), padding="same", stride=2), ValueError,
         r"padding='same' needs stride 1 on every axis \(as in PyTorch\), got stride=\(2,\); .*'same_upper'"),
        (dict(kernel_size=(3,), padding=-1), ValueError, r"padding must be >= 0, got padding=-1"),
        (dict(kernel_size=(3,), padding="SAME"), ValueError, r"padding must be an int, a tuple, or one of"),
    ])
    def test_errors(self, kw, exc, match):
        with pytest.raises(exc, match=match):
            ConvGeometry(**kw)

    def test_input_dependent_padding_needs_the_input(self):
        g = ConvGeometry((3,), stride=2, padding="same_lower")
        with pytest.raises(ValueError, match=r"padding='same_lower' depends on the input size"):
            g.pads()
        assert g.pads((8,)) == ((1, 0),)

    def test_output_shape_errors(self):
        g = ConvGeometry((3, 3))
        with pytest.raises(ValueError, match=r"input_shape must have 2 spatial entries \(n1, ..., n2\), "
                                             r"got input_shape=\(8,\)"):
            g.output_shape((8,))
        with pytest.raises(ValueError, match=r"dilated kernel is larger than the padded input"):
            g.output_shape((2, 8))

    def test_weight_shape_needs_channels(self):
        assert ConvGeometry((3,), in_channels=4, out_channels=6, groups=2).weight_shape == (6, 2, 3)
        with pytest.raises(ValueError, match=r"the weight shape needs in_channels and out_channels"):
            ConvGeometry((3,)).weight_shape


class TestBind:
    def test_bind_equals_the_historical_constructor(self):
        g = ConvGeometry((3, 3), stride=2, padding=1, groups=2, in_channels=4, out_channels=6)
        assert g.bind((4, 9, 9)) == ConvSpec((6, 2, 3, 3), (4, 9, 9), stride=2, padding=1, groups=2)
        assert ConvSpec(g, (4, 9, 9)) == g.bind((4, 9, 9))
        assert g.bind((9, 9)).input_shape == (4, 9, 9)  # spatial only: C_in from the geometry

    def test_single_channel_shorthand(self):
        spec = ConvGeometry((3,), padding=1).bind((8,))
        assert spec.weight_shape == (1, 1, 3) and spec.input_shape == (1, 8)
        assert spec == ConvSpec((3,), (8,), padding=1)

    def test_spec_geometry_round_trip(self):
        spec = ConvSpec((2, 3, 3, 3), (3, 7, 8), stride=2, padding="same_upper", dilation=2)
        assert spec.geometry.padding == "same_upper"
        assert spec.geometry.in_channels == 3 and spec.geometry.out_channels == 2
        assert spec.with_input(spec.input_shape) == spec
        assert spec.with_input((3, 20, 21)).output_spatial == (10, 11)  # re-resolved: ceil(n/2)

    @pytest.mark.parametrize("g, shape, match", [
        (ConvGeometry((3,), in_channels=2, out_channels=2), (3, 8),
         r"channel mismatch: input_shape\[0\]=3, but the geometry has in_channels=2"),
        (ConvGeometry((3,)), (2, 8), r"out_channels is unknown: give ConvGeometry\(out_channels=...\)"),
        (ConvGeometry((3,), out_channels=2, groups=2), (3, 8),
         r"groups must divide both C_in and C_out, got groups=2 with C_in=3 and C_out=2"),
        (ConvGeometry((3, 3), out_channels=1), (1, 2, 8, 8),
         r"the kernel is 2-D, so input_shape must be \(C_in, n1, ..., n2\) with 3 entries"),
        (ConvGeometry((3,), out_channels=1), (0, 8), r"input_shape\[0\] must be >= 1"),
    ])
    def test_bind_errors(self, g, shape, match):
        with pytest.raises(ValueError, match=match):
            g.bind(shape)

    def test_geometry_and_options_conflict(self):
        with pytest.raises(TypeError, match=r"ConvSpec\(geometry, input_shape\) takes no conv options, "
                                            r"got \['stride'\]"):
            ConvSpec(ConvGeometry((3,)), (8,), stride=2)

    @settings(max_examples=80, deadline=None)
    @given(n=st.integers(0, 12), k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 3),
           padding=st.one_of(st.integers(0, 3), st.sampled_from(
               ["valid", "full", "same_upper", "same_lower"])))
    def test_output_shape_without_a_tensor(self, n, k, s, d, padding):
        g = ConvGeometry((k,), stride=s, dilation=d, padding=padding)
        try:
            expected = g.bind((n,)).output_spatial
        except ValueError as err:
            with pytest.raises(ValueError, match=re.escape(str(err))):
                g.output_shape((n,))
            return
        assert g.output_shape((n,)) == expected == output_shape((n,), (k,), stride=s, dilation=d,
                                                                padding=padding)

    def test_conv_arguments_reads_a_bound_geometry(self):
        spec = ConvGeometry((3, 3), padding="same_upper", stride=2).bind((5, 5))
        w, got = conv_arguments(np.ones((3, 3)), spec)
        assert got is spec and w.shape == (1, 1, 3, 3)


class TestEmptyAxes:
    def test_output_shape(self):
        assert output_shape((0,), (3,)) == (0,)
        assert output_shape((0, 4), (3, 3), padding="same") == (0, 4)
        assert output_shape((0,), (3,), padding=2) == (2,)  # zero padding around nothing

    def test_matrix_shapes(self):
        M = conv_matrix(np.ones((2, 3, 3, 3)), (3, 0, 4), padding=1)
        assert M.shape == (0, 0) and M.nnz == 0
        M = conv_matrix(np.ones(3), (0,), padding=2)
        assert M.shape == (2, 0)
        S = conv_matrix(kernel_symbols((2, 2)), (0, 3), padding=((0, 0), (1, 1)))
        assert S.shape == (0, 0)

    def test_im2col_and_operator(self):
        spec = ConvSpec((2, 3, 3, 3), (3, 0, 4), padding=1)
        cols = im2col(np.zeros((5, 3, 0, 4)), spec)
        assert cols.shape == (3, 9, 5, 0)
        assert col2im(cols, spec).shape == (5, 3, 0, 4)
        A = conv_operator(np.ones((2, 3, 3, 3)), spec)
        assert A.shape == (0, 0) and (A @ np.zeros(0)).shape == (0,)
        with pytest.raises(ValueError, match=r"padding_mode='replicate' cannot extend an empty axis"):
            ConvSpec((3,), (0,), padding=1, padding_mode="replicate", stride=1, dilation=1).replace(
                padding=2)


class TestUsers:
    def test_layer_holds_its_geometry(self):
        conv = Conv2d(4, 6, 3, stride=2, padding="same_upper", groups=2, seed=0)
        assert conv.geometry == ConvGeometry((3, 3), stride=2, padding="same_upper", groups=2,
                                             in_channels=4, out_channels=6)
        x = np.random.default_rng(0).standard_normal((1, 4, 7, 8))
        assert conv(x).shape == (1, 6, 4, 4)
        assert conv.spec((4, 7, 8)) == conv.geometry.bind((4, 7, 8))

    def test_layer_refuses_bad_geometry_at_construction(self):
        with pytest.raises(ValueError, match=r"padding='same' needs stride 1 .*'same_upper'"):
            Conv2d(1, 1, 3, stride=2, padding="same")

    def test_receptive_field_of_same_upper(self):
        layers = [{"kernel_size": 3, "stride": 2, "padding": "same_upper"}, {"kernel_size": 3}]
        with pytest.raises(ValueError, match=r"layer 0: padding='same_upper' depends on the input "
                                             r"size.*pass input_shape to receptive_field"):
            receptive_field(layers)
        closed = receptive_field(layers, (16,))
        exact = receptive_field(layers, (16,), method="exact")
        assert (closed.size, closed.stride, closed.padding) == (exact.size, exact.stride, exact.padding)
        assert closed.output_shape == (6,)
