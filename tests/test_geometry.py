import numpy as np
import pytest

from convtheory import ConvSpec, axis_taps, output_shape, resolve_padding


class TestOutputShape:
    @pytest.mark.parametrize(
        "n, k, kw, expected",
        [
            # Hand-worked with o = floor((n + lo + hi - d(k-1) - 1) / s) + 1.
            ((5, 5), (3, 3), {}, (3, 3)),
            ((5, 5), (3, 3), dict(padding=1), (5, 5)),
            ((5, 5), (3, 3), dict(stride=2, padding=1), (3, 3)),
            ((6, 6), (3, 3), dict(stride=2, padding=1), (3, 3)),
            ((7,), (3,), dict(dilation=2), (3,)),
            ((7,), (3,), dict(dilation=2, padding="same"), (7,)),
            ((6,), (4,), dict(padding="full"), (9,)),
            ((10,), (4,), dict(stride=3, padding=((2, 0),)), (3,)),
            ((4, 4), (3, 3), {}, (2, 2)),
        ],
    )
    def test_hand_worked(self, n, k, kw, expected):
        assert output_shape(n, k, **kw) == expected

    def test_kernel_larger_than_padded_input(self):
        with pytest.raises(ValueError, match=r"dilated kernel is larger than the padded input.*= 5 > input \+ padding = 3\+0\+0"):
            output_shape((3,), (3,), dilation=2)

    @pytest.mark.parametrize("bad, match", [
        (dict(stride=0), r"stride must be >= 1 on every axis, got stride=0"),
        (dict(dilation=-1), r"dilation must be >= 1 on every axis, got dilation=-1"),
        (dict(padding=-1), r"padding must be >= 0, got padding=-1"),
        (dict(padding="nope"), r"padding must be an int, a tuple, or one of \('valid', 'same', 'same_upper', 'same_lower', 'full'\), got padding='nope'"),
        (dict(padding="same", stride=2), r"padding='same' needs stride 1 on every axis"),
        (dict(stride=1.5), r"stride must be an int or a tuple of 1 ints, got 1.5"),
        (dict(stride=(1, 1)), r"stride must be an int or a tuple of 1 ints \(one per spatial axis\)"),
    ])
    def test_bad_arguments(self, bad, match):
        with pytest.raises((ValueError, TypeError), match=match):
            output_shape((8,), (3,), **bad)

    def test_non_integer_shape(self):
        with pytest.raises(TypeError, match=r"input_shape\[0\] must be an integer, got 8.0"):
            output_shape((8.0,), (3,))
        with pytest.raises(TypeError, match=r"kernel_size\[0\] must be an integer, got True"):
            output_shape((8,), (True,))


class TestResolvePadding:
    def test_same_even_kernel_extra_high(self):
        # PyTorch: total d(k-1), lo = total // 2, extra on the high side.
        assert resolve_padding("same", (4,)) == ((1, 2),)
        assert resolve_padding("same", (2, 3), dilation=(3, 1)) == ((1, 2), (1, 1))

    def test_pairs_and_ints(self):
        assert resolve_padding(((1, 2), 3), (3, 3)) == ((1, 2), (3, 3))
        assert resolve_padding(2, (3,)) == ((2, 2),)
        assert resolve_padding("valid", (3, 3)) == ((0, 0), (0, 0))

    def test_bad_pair(self):
        with pytest.raises(ValueError, match=r"padding\[0\] must be an int or a \(lo, hi\) pair, got \(1, 2, 3\)"):
            resolve_padding(((1, 2, 3),), (3,))


class TestAxisTaps:
    # Hand-written tables for n=4, k=3, pad 2: the pictures in the docstring.
    @pytest.mark.parametrize("mode, first_column", [
        ("zeros", [-1, -1, 0, 1, 2, 3]),
        ("circular", [2, 3, 0, 1, 2, 3]),
        ("reflect", [2, 1, 0, 1, 2, 3]),
        ("replicate", [0, 0, 0, 1, 2, 3]),
    ])
    def test_boundary_modes(self, mode, first_column):
        table = axis_taps(4, 3, padding=(2, 2), padding_mode=mode)
        assert table.shape == (6, 3)
        assert table[:, 0].tolist() == first_column

    def test_stride_and_dilation(self):
        table = axis_taps(9, 3, stride=3, dilation=2, padding=(1, 0))
        # o = (9 + 1 - 5) // 3 + 1 = 2 outputs; entries o*3 + a*2 - 1.
        assert table.tolist() == [[-1, 1, 3], [2, 4, 6]]

    def test_unknown_mode(self):
        with pytest.raises(ValueError, match=r"padding_mode must be one of .*got padding_mode='mirror'"):
            axis_taps(4, 3, padding_mode="mirror")


class TestConvSpec:
    def test_shorthand_and_normalisation(self):
        spec = ConvSpec((3, 3), (5, 5), padding="same")
        assert spec.weight_shape == (1, 1, 3, 3)
        assert spec.input_shape == (1, 5, 5)
        assert spec.padding == ((1, 1), (1, 1))
        assert spec.stride == (1, 1)
        assert spec.matrix_shape == (25, 25)

    def test_hashable_and_equal(self):
        a = ConvSpec((3,), (5,), padding=1)
        b = ConvSpec((1, 1, 3), (1, 5), padding=(1,))
        assert a == b and hash(a) == hash(b)

    def test_replace_and_with_input(self):
        spec = ConvSpec((2, 1, 3), (1, 8))
        assert spec.with_input((1, 20)).output_shape == (2, 18)
        assert spec.replace(stride=2).output_shape == (2, 3)
        with pytest.raises(TypeError, match=r"unknown arguments \['strides'\]"):
            spec.replace(strides=2)

    def test_kernel_order_flip(self):
        assert ConvSpec((3,), (5,), flip=True).kernel_order(0).tolist() == [2, 1, 0]

    @pytest.mark.parametrize("kw, match", [
        (dict(weight_shape=(4, 2, 3, 3), input_shape=(3, 8, 8)),
         r"channel mismatch: weight.shape\[1\] \* groups must equal C_in = input_shape\[0\], got weight.shape\[1\]=2, groups=1, input_shape\[0\]=3"),
        (dict(weight_shape=(4, 2, 3, 3), input_shape=(4, 8, 8), groups=3),
         r"groups must divide both C_in and C_out, got groups=3 with C_in=4 and C_out=4"),
        (dict(weight_shape=(3, 2, 3, 3), input_shape=(4, 8, 8), groups=2),
         r"groups must divide both C_in and C_out, got groups=2 with C_in=4 and C_out=3"),
        (dict(weight_shape=(4, 2, 3, 3), input_shape=(2, 8)),
         r"2-D kernel, so input_shape must be \(C_in, n1, ..., n2\) with 3 entries, got input_shape=\(2, 8\)"),
        (dict(weight_shape=(4, 2), input_shape=(2,)),
         r"weight must have shape \(C_out, C_in/groups, k1, ..., kd\) with d >= 1"),
        (dict(weight_shape=(3,), input_shape=(0,), padding=2, padding_mode="circular"),
         r"padding_mode='circular' cannot extend an empty axis \(input size 0\) to 2 outputs"),
        (dict(weight_shape=(3,), input_shape=(5,), padding_mode="mirror"),
         r"padding_mode must be one of \('zeros', 'circular', 'reflect', 'replicate', 'symmetric'\), got padding_mode='mirror'"),
        (dict(weight_shape=(3,), input_shape=(5,), groups=0), r"groups must be >= 1, got groups=0"),
        (dict(weight_shape=(1, 1, 3), input_shape=(0, 5)), r"input_shape\[0\] must be >= 1"),
        (dict(weight_shape=(3,), input_shape=(5,), flip=1), r"flip must be a bool, got flip=1"),
        (dict(weight_shape=(3,), input_shape="abc"), r"input_shape must be a sequence of integers, got 'abc'"),
        (dict(weight_shape=(3,), input_shape=(5,), padding_mode=None), r"padding_mode must be a string, got None"),
        (dict(weight_shape=(5,), input_shape=(3,)), r"dilated kernel is larger than the padded input on spatial axis 0"),
    ])
    def test_errors(self, kw, match):
        with pytest.raises((ValueError, TypeError), match=match):
            ConvSpec(**kw)

    def test_error_kinds(self):
        # TypeError for the wrong kind of input, ValueError for a wrong value.
        with pytest.raises(TypeError):
            ConvSpec((3,), (5,), stride="2")
        with pytest.raises(ValueError):
            ConvSpec((3,), (5,), stride=0)

    def test_tables_are_read_only(self):
        spec = ConvSpec((3,), (5,))
        with pytest.raises(ValueError, match="read-only"):
            spec.axis_table(0)[0, 0] = 7
        assert np.array_equal(spec.axis_table(0), [[0, 1, 2], [1, 2, 3], [2, 3, 4]])


def test_absurd_axis_refused_before_allocating():
    with pytest.raises(ValueError, match=r"spatial axis 0 would have 29,999,999,994 taps \(input 10000000000, kernel 3\), over MAX_AXIS_TAPS"):
        ConvSpec((3,), (10**10,))


@pytest.mark.parametrize("kw, name", [
    (dict(stride=10**20), r"stride=100000000000000000000"),
    (dict(dilation=2**62), r"dilation=4611686018427387904"),
    (dict(padding=-(2**62)), r"padding=-4611686018427387904"),
    (dict(padding=((0, 2**70),)), r"padding\[0\]\[1\]=1180591620717411303424"),
    (dict(input_shape=(2**62,)), r"input_shape\[0\]=4611686018427387904"),
])
def test_integers_beyond_int64_arithmetic_are_refused_by_name(kw, name):
    # The index arithmetic is int64: such values used to overflow with a traceback.
    kw = {"input_shape": (5,), **kw}
    with pytest.raises(ValueError, match=r"must be less than 2\*\*62 in magnitude, got " + name):
        ConvSpec((3,), **kw)
