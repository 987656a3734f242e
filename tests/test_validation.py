"""The one argument and budget contract: every message pinned.

Each case below once raised something other than a ValueError or TypeError
(ZeroDivisionError, OverflowError, MemoryError, AttributeError, IndexError),
accepted nonsense, or hung.  Now it refuses at once, naming the argument, the
value and what is allowed.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import convtheory as ct
from convtheory import nn
from convtheory.nn import functional as F
from convtheory.testing import assert_translation_equivariant, probe_matrix
from convtheory.transforms import cyclic_shift, transform_matrix
from convtheory.validation import (MAX_INT, MAX_SAMPLES, as_bool, as_callable, as_count,
                                   as_dtype, as_instance, as_int, as_itemsize, as_max_bytes,
                                   as_real, as_shape, as_tolerance, check_budget, format_bytes,
                                   per_axis)

SPEC = ct.ConvSpec((1, 1, 3, 3), (1, 6, 6))


# --------------------------------------------------------------------------
# The helpers themselves
# --------------------------------------------------------------------------
class TestAsInt:
    @pytest.mark.parametrize("value", [True, np.True_, 3.0, np.float64(2.0), "3", None, [3]])
    def test_wrong_kind(self, value):
        with pytest.raises(TypeError, match=r"^stride must be an integer, got .* of type"):
            as_int(value, "stride")

    def test_bounds(self):
        assert as_int(np.uint8(200), "n") == 200 and type(as_int(np.int64(3), "n")) is int
        with pytest.raises(ValueError, match=r"n must be less than 2\*\*62 in magnitude"):
            as_int(MAX_INT, "n")
        with pytest.raises(ValueError, match=r"^k must be >= 1, got k=0$"):
            as_int(0, "k", minimum=1)
        with pytest.raises(ValueError, match=r"^k must be <= 10, got k=11$"):
            as_int(11, "k", maximum=10)

    def test_count_needs_a_maximum(self):
        with pytest.raises(TypeError):
            as_count(3, "n")  # keyword `maximum` is required: no count is unbounded
        with pytest.raises(ValueError, match=r"n_samples must be <= 10,000, got n_samples=1,099"):
            as_count(2**40, "n_samples", maximum=MAX_SAMPLES)


class TestShapes:
    @pytest.mark.parametrize("value", [3, "abc", None, {}, {1, 2}, 2.5, np.zeros((2, 2))])
    def test_shape_wrong_kind(self, value):
        with pytest.raises(TypeError, match=r"^input_shape must be a sequence of integers"):
            as_shape(value, "input_shape")

    def test_shape_entries(self):
        with pytest.raises(TypeError, match=r"input_shape\[1\] must be an integer, got 2.0"):
            as_shape((1, 2.0), "input_shape")
        with pytest.raises(ValueError, match=r"input_shape\[0\] must be >= 1, got input_shape=\(0,"):
            as_shape((0, 3), "input_shape")

    def test_per_axis(self):
        assert per_axis(np.int32(2), 2, "stride", minimum=1) == (2, 2)
        with pytest.raises(ValueError, match=r"stride must be an int or a tuple of 2 ints \(one"):
            per_axis((1, 1, 1), 2, "stride", minimum=1)
        with pytest.raises(TypeError, match=r"stride must be an int or a tuple of 2 ints, got "
                                            r"True of type bool"):
            per_axis(True, 2, "stride", minimum=1)
        with pytest.raises(ValueError, match=r"stride must be >= 1 on every axis, got stride=0"):
            per_axis(0, 2, "stride", minimum=1)


class TestReals:
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1, -1e-300])
    def test_tolerance_values(self, value):
        with pytest.raises(ValueError, match=r"^rtol must be a finite number \(not NaN\) >= 0, got"):
            as_tolerance(value, "rtol")

    @pytest.mark.parametrize("value", [None, "1e-3", True, 1j, [0.1]])
    def test_tolerance_kinds(self, value):
        with pytest.raises(TypeError, match=r"^rtol must be a real number, got"):
            as_tolerance(value, "rtol")

    def test_real_bounds(self):
        assert as_real(-math.inf, "fill_value", finite=False) == -math.inf
        with pytest.raises(ValueError, match=r"fill_value must be a number \(not NaN\), got"):
            as_real(math.nan, "fill_value", finite=False)
        with pytest.raises(ValueError, match=r"dampening must be a finite number \(not NaN\) >= 0 "
                                             r"and <= 1, got dampening=2.0"):
            as_real(2, "dampening", minimum=0, maximum=1)
        with pytest.raises(ValueError, match=r"eps must be a finite number \(not NaN\) > 0"):
            as_real(0, "eps", minimum=0, exclusive_minimum=True)


class TestKinds:
    def test_bool(self):
        assert as_bool(np.False_, "flip") is False
        for value in (1, 0, "yes", None):
            with pytest.raises(TypeError, match=r"^flip must be True or False, got"):
                as_bool(value, "flip")

    def test_callable_instance_dtype(self):
        with pytest.raises(TypeError, match=r"^f must be callable, got 3 of type int"):
            as_callable(3, "f")
        with pytest.raises(TypeError, match=r"^spec must be a ConvSpec, got None"):
            as_instance(None, ct.ConvSpec, "spec")
        assert as_dtype(np.float32, "dtype") == np.float32
        with pytest.raises(TypeError, match=r"dtype must be a NumPy dtype, got 'nope'"):
            as_dtype("nope", "dtype")
        with pytest.raises(TypeError, match=r"dtype must be a numeric dtype"):
            as_dtype(object, "dtype")

    def test_itemsize(self):
        assert as_itemsize(np.uint8(2)) == 2
        with pytest.raises(ValueError, match=r"^itemsize must be >= 1, got itemsize=0$"):
            as_itemsize(0)
        with pytest.raises(ValueError, match=r"^itemsize must be <= 64"):
            as_itemsize(65)


class TestBudget:
    @pytest.mark.parametrize("value", [1.5, math.inf, math.nan, "2GB", None, True])
    def test_max_bytes_wrong_kind(self, value):
        with pytest.raises(TypeError, match=r"^max_bytes must be an integer, got"):
            check_budget(1, value, "x", "y")

    @pytest.mark.parametrize("value", [0, -1])
    def test_max_bytes_bad_value(self, value):
        with pytest.raises(ValueError, match=rf"^max_bytes must be >= 1, got max_bytes={value}$"):
            as_max_bytes(value)

    def test_refusal_states_estimate_budget_and_advice(self):
        check_budget(100, 100, "x", "y")  # at the budget is within it
        with pytest.raises(ValueError, match=r"^conv_matrix would need about 1.5 GiB, over "
                                             r"max_bytes=1,048,576 \(1.0 MiB\); use conv_operator$"):
            check_budget(3 * 2**29, 2**20, "conv_matrix", "use conv_operator")

    def test_format_bytes(self):
        assert [format_bytes(n) for n in (0, 1023, 1024, 2**20, 3 * 2**30, 2**50)] == \
            ["0 bytes", "1,023 bytes", "1.0 KiB", "1.0 MiB", "3.0 GiB", "1.0 PiB"]

    @pytest.mark.parametrize("call", [
        lambda mb: ct.conv_matrix(np.ones(3), (8,), max_bytes=mb),
        lambda mb: ct.conv_operator(np.ones(3), (8,), max_bytes=mb),
        lambda mb: ct.spatial_taps(ct.ConvSpec((3,), (8,)), max_bytes=mb),
        lambda mb: ct.conv_taps(ct.ConvSpec((3,), (8,)), max_bytes=mb),
        lambda mb: ct.conv_spectral_norm(np.ones(3), (8,), max_bytes=mb),
        lambda mb: ct.conv_singular_values(np.ones(3), (8,), padding="same",
                                           padding_mode="circular", max_bytes=mb),
        lambda mb: ct.check_sharing(np.ones(3), (8,), max_bytes=mb),
        lambda mb: ct.check_translation_equivariance(np.ones(3), (8,), 1, max_bytes=mb),
        lambda mb: ct.check_rotation_equivariance(np.ones((3, 3)), (5, 5), max_bytes=mb),
        lambda mb: probe_matrix(lambda x: x, (4,), max_bytes=mb),
        lambda mb: assert_translation_equivariant(lambda x: x, (4,), max_bytes=mb),
    ])
    def test_every_max_bytes_has_one_contract(self, call):
        """The seven former variants: TypeError for 1.5 and inf, ValueError for 0 and -1."""
        for value in (1.5, math.inf):
            with pytest.raises(TypeError, match=r"max_bytes must be an integer, got"):
                call(value)
        for value in (0, -1):
            with pytest.raises(ValueError, match=r"max_bytes must be >= 1, got max_bytes="):
                call(value)
        with pytest.raises(ValueError, match=r"would need about [\d.,]+ (bytes|KiB|MiB), over "
                                             r"max_bytes=1 \(1 bytes\); "):
            call(1)


# --------------------------------------------------------------------------
# The cases that once failed some other way
# --------------------------------------------------------------------------
class TestAxisTaps:
    @pytest.mark.parametrize("kwargs, error, message", [
        (dict(n=8, k=3, stride=0), ValueError, r"^stride must be >= 1, got stride=0$"),
        (dict(n=8, k=3, stride=2**63), ValueError, r"^stride must be less than 2\*\*62"),
        (dict(n=8, k=0), ValueError, r"^k must be >= 1, got k=0$"),
        (dict(n=8, k=-1), ValueError, r"^k must be >= 1, got k=-1$"),
        (dict(n=1.5, k=3), TypeError, r"^n must be an integer, got 1.5 of type float$"),
        (dict(n=8, k=3, dilation=0), ValueError, r"^dilation must be >= 1, got dilation=0$"),
        (dict(n=8, k=3, padding=1), TypeError, r"^padding must be a \(lo, hi\) pair of ints"),
        (dict(n=8, k=3, padding=(-1, 0)), ValueError, r"^padding\[0\] must be >= 0"),
        (dict(n=8, k=3, padding_mode="wrap"), ValueError, r"^padding_mode must be one of"),
        (dict(n=2**40, k=3), ValueError, r"^axis_taps would build a table of 1,099,511,627,774 "
                                         r"x 3 .* over MAX_AXIS_TAPS=67,108,864"),
    ])
    def test_refused(self, kwargs, error, message):
        n, k = kwargs.pop("n"), kwargs.pop("k")
        with pytest.raises(error, match=message):
            ct.axis_taps(n, k, **kwargs)

    @pytest.mark.parametrize("pad", [3, 4, 9])
    def test_reflect_at_and_past_the_pytorch_border_follows_numpy(self, pad):
        """``hi = n - 1`` is PyTorch's largest reflect padding; past it, numpy.pad bounces."""
        table = ct.axis_taps(4, 1, padding=(0, pad), padding_mode="reflect")[:, 0]
        assert table.tolist() == np.pad(np.arange(4), (0, pad), mode="reflect").tolist()


class TestSpecArguments:
    @pytest.mark.parametrize("call", [
        lambda: ct.conv_taps(None), lambda: ct.spatial_taps("s"),
        lambda: ct.im2col(np.zeros((1, 1, 6, 6)), (1, 2)), lambda: ct.col2im(np.zeros((1, 9, 1, 16)), {}),
        lambda: ct.estimate_matrix_bytes(None), lambda: ct.estimate_operator_bytes("spec"),
    ])
    def test_spec_must_be_a_convspec(self, call):
        with pytest.raises(TypeError, match=r"^spec must be a ConvSpec, got"):
            call()

    @pytest.mark.parametrize("itemsize, error, message", [
        (-1, ValueError, r"^itemsize must be >= 1, got itemsize=-1$"),
        (0, ValueError, r"^itemsize must be >= 1, got itemsize=0$"),
        (1.5, TypeError, r"^itemsize must be an integer, got 1.5"),
        (math.nan, TypeError, r"^itemsize must be an integer, got nan"),
    ])
    def test_estimate_itemsize(self, itemsize, error, message):
        with pytest.raises(error, match=message):
            ct.estimate_matrix_bytes(SPEC, itemsize=itemsize)

    def test_estimate_uint8_itemsize_does_not_overflow(self):
        assert ct.estimate_matrix_bytes(SPEC, itemsize=np.uint8(2)) == \
            ct.estimate_matrix_bytes(SPEC, itemsize=2)

    def test_estimate_symbolic_must_be_bool(self):
        with pytest.raises(TypeError, match=r"^symbolic must be True or False, got 'yes'"):
            ct.estimate_matrix_bytes(SPEC, symbolic="yes")

    def test_commutator_matrix_kind(self):
        T = transform_matrix(lambda x: cyclic_shift(x, 1), (2,))
        with pytest.raises(TypeError, match=r"^M must be a 2-D scipy sparse array, ndarray or sympy "
                                            r"matrix, got list"):
            ct.commutator([[1, 2]], T, T)


class TestIm2col:
    def test_fill_value(self):
        with pytest.raises(TypeError, match=r"^fill_value must be a real number, got 's'"):
            ct.im2col(np.zeros((1, 6, 6)), SPEC, fill_value="s")
        with pytest.raises(ValueError, match=r"^fill_value must be a number \(not NaN\)"):
            ct.im2col(np.zeros((1, 6, 6)), SPEC, fill_value=math.nan)
        assert np.isneginf(ct.im2col(np.zeros((1, 6, 6)), SPEC.replace(padding=1),
                                     fill_value=-math.inf)).any()

    def test_string_arrays(self):
        with pytest.raises(TypeError, match=r"^x must hold numbers, got x.dtype=<U1"):
            ct.im2col(np.full((1, 6, 6), "a"), SPEC)
        with pytest.raises(TypeError, match=r"^cols must hold numbers, got cols.dtype=<U1"):
            ct.col2im(np.full((1, 9, 1, 16), "a"), SPEC)


class TestChecksArguments:
    def test_linearity_rtol(self):
        with pytest.raises(ValueError, match=r"^rtol must be a finite number \(not NaN\) >= 0, "
                                             r"got rtol=-1.0$"):
            ct.check_linearity(np.ones((3, 3)), (6, 6), rtol=-1)

    def test_spectral_norm_tol(self):
        with pytest.raises(ValueError, match=r"^tol must be a finite number \(not NaN\) >= 0, "
                                             r"got tol=nan$"):
            ct.conv_spectral_norm(np.ones((3, 3)), (6, 6), tol=math.nan)

    def test_singular_values_max_bytes_inf(self):
        with pytest.raises(TypeError, match=r"^max_bytes must be an integer, got inf"):
            ct.conv_singular_values(np.ones((3, 3)), (6, 6), padding="same",
                                    padding_mode="circular", max_bytes=math.inf)

    @pytest.mark.parametrize("period", [0, 1, -2])
    def test_aliasing_period(self, period):
        with pytest.raises(ValueError, match=rf"^period must be >= 2, got period={period}$"):
            ct.pooling_aliasing_example(period=period)

    def test_aliasing_pool_callable(self):
        with pytest.raises(TypeError, match=r"^pool must be callable, got 'max'"):
            ct.pooling_aliasing_example("max")

    def test_pooling_equivariance_input_shape(self):
        with pytest.raises(ValueError, match=r"^input_shape must have at least the 1 shifted axes, "
                                             r"got input_shape=\(\)$"):
            ct.check_pooling_equivariance(lambda x: x[..., ::2], (), 2, stride=2)
        with pytest.raises(TypeError, match=r"^input_shape must be a sequence of integers"):
            ct.check_pooling_equivariance(lambda x: x[..., ::2], None, 2, stride=2)

    def test_pooling_equivariance_budget(self):
        with pytest.raises(ValueError, match=r"^check_pooling_equivariance with n_samples=3 of "
                                             r"input_shape=\(100000, 100000\) would need about "
                                             r"670.6 GiB"):  # 3 arrays x 8 bytes x 3 samples x 1e10
            ct.check_pooling_equivariance(lambda x: x, (10**5, 10**5), 2, stride=2)


class TestBoundedCounts:
    @pytest.mark.parametrize("call, name", [
        (lambda: ct.check_linearity(np.ones((3, 3)), (6, 6), n_samples=2**40), "n_samples"),
        (lambda: ct.dot_test(ct.conv_operator(np.ones((3, 3)), (6, 6)), n_samples=2**40),
         "n_samples"),
        (lambda: probe_matrix(lambda x: x, (6, 6), linearity_pairs=2**40), "linearity_pairs"),
        (lambda: ct.check_adaptivity(np.ones((1, 2, 3, 3)), (2, 8, 8), n_samples=2**40),
         "n_samples"),
        (lambda: assert_translation_equivariant(lambda x: x, (4,), samples=2**40), "samples"),
        (lambda: ct.check_pooling_equivariance(lambda x: x, (4,), 2, stride=2, n_samples=2**40),
         "n_samples"),
    ])
    def test_samples_bounded(self, call, name):
        with pytest.raises(ValueError, match=rf"^{name} must be <= 10,000, got {name}=1,099,511,"):
            call()

    def test_fit_steps_bounded(self):
        from convtheory.nn.train import fit
        x = np.zeros((1, 1, 4, 4))
        with pytest.raises(ValueError, match=r"^steps must be <= 1,000,000, got steps=1,099,511"):
            fit(nn.Conv2d(1, 1, 3, seed=0), x, np.zeros((1, 1, 2, 2)), steps=2**40, lr=0.1)
        with pytest.raises(TypeError, match=r"^steps must be an integer, got 2.0"):
            fit(nn.Conv2d(1, 1, 3, seed=0), x, np.zeros((1, 1, 2, 2)), steps=2.0, lr=0.1)

    def test_adaptivity_estimates_its_samples(self):
        with pytest.raises(ValueError, match=r"^check_adaptivity with n_samples=10000 would need "
                                             r"about [\d.]+ GiB, over max_bytes=2,147,483,648"):
            ct.check_adaptivity(np.ones((1, 1, 3, 3)), (1, 100, 100), n_samples=10_000)


class TestEstimatedFirst:
    def test_kernel_symbols(self):
        with pytest.raises(ValueError, match=r"^kernel_symbols would create 2,000,000,000,000 sympy "
                                             r"symbols .* over MAX_KERNEL_SYMBOLS=100,000"):
            ct.kernel_symbols((2, 10**6, 10**6))

    @pytest.mark.parametrize("make, shape", [
        (lambda: nn.Conv2d(2**40, 4, 3), r"\(4, 1099511627776, 3, 3\)"),
        (lambda: nn.Linear(2**40, 3), r"\(3, 1099511627776\)"),
    ])
    def test_layers(self, make, shape):
        with pytest.raises(ValueError, match=rf"^a parameter of shape {shape} would need about "
                                             r"[\d.]+ TiB, over max_bytes=2,147,483,648 \(2.0 GiB\); "
                                             r"use fewer channels"):
            make()

    def test_rotation_huge_input(self):
        with pytest.raises(ValueError, match=r"^check_rotation_equivariance on the whole "
                                             r"2,000,000,000,000 x 2,000,000,000,000 matrix would "
                                             r"need about 11.6 PiB"):
            ct.check_rotation_equivariance(np.ones((2, 2, 3, 3)), (2, 10**6, 10**6), padding=1)

    @pytest.mark.parametrize("check, args", [
        (ct.check_translation_equivariance, ((1, 1),)),
        (ct.check_rotation_equivariance, ()),
    ])
    def test_equivariance_budget(self, check, args):
        """The 4.6 GB (and 60 s) case is refused at once, and runs with a larger budget."""
        w = np.ones((32, 32, 3, 3))
        with pytest.raises(ValueError, match=r"on the whole 294,912 x 294,912 matrix would need "
                                             r"about 5.8 GiB, over max_bytes=2,147,483,648"):
            check(w, (32, 96, 96), *args, padding=1, padding_mode="circular")
        small = np.ones((2, 2, 3, 3))
        assert check(small, (2, 8, 8), *args, padding=1, padding_mode="circular",
                     max_bytes=2**24).holds

    def test_symbolic_matrix(self):
        with pytest.raises(ValueError, match=r"^conv_matrix would build a sympy matrix with 586,756 "
                                             r"taps, over MAX_SYMBOLIC_TAPS=100,000"):
            ct.conv_matrix(ct.kernel_symbols((3, 3)), (256, 256), padding=1)

    def test_transform_matrix(self):
        with pytest.raises(ValueError, match=r"^transform_matrix of shape=\(100000, 100000\) would "
                                             r"need about"):
            transform_matrix(lambda x: x, (10**5, 10**5))

    def test_cli_graph_refuses_like_matrix(self):
        out = subprocess.run([sys.executable, "-m", "convtheory", "graph", "--kernel", "1,-1",
                              "--input", "1000x1000"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 2
        assert "a graph of 1,998,000 edges is too big to summarise here (at most 200,000)" \
            in out.stderr


class TestBatchedInput:
    def test_batched_input_shape_refused(self):
        with pytest.raises(ValueError, match=r"^input_shape=\(2, 3, 8, 8\) looks batched: "
                                             r"input_shape is \(C_in, n1, ...\) without the batch "
                                             r"axis, here \(3, 8, 8\)"):
            ct.conv_matrix(np.ones((4, 3, 3, 3)), (2, 3, 8, 8))

    def test_batched_through_a_check(self):
        with pytest.raises(ValueError, match=r"looks batched"):
            ct.check_linearity(np.ones((4, 2, 3, 3)), (5, 2, 9, 9))

    def test_three_axes_stay_the_3d_shorthand(self):
        """A 3-D single-channel kernel whose second axis equals the input's is not a batch."""
        assert ct.conv_matrix(np.ones((1, 1, 1)), (1, 1, 1)).shape == (1, 1)
        assert ct.conv_matrix(np.ones((4, 2, 3)), (5, 2, 9)).shape == (2 * 1 * 7, 5 * 2 * 9)

    def test_unambiguous_forms_still_work(self):
        assert ct.conv_matrix(np.ones((4, 3, 3, 3)), (3, 8, 8)).shape == (4 * 36, 3 * 64)
        # A 4-D single-channel conv, written with unit channel axes.
        w = np.ones((3, 3, 3, 3))
        M = ct.conv_matrix(w[None, None], (1, 5, 3, 8, 8))
        assert M.shape == (3 * 1 * 6 * 6, 5 * 3 * 64)
        # The shorthand stays when the channel axes cannot match a batch.
        assert ct.conv_matrix(np.ones((3, 3, 3)), (5, 5, 5)).shape == (27, 125)


class TestNN:
    def test_gradcheck_eps(self):
        layer, x = nn.Conv2d(1, 1, 3, seed=0), np.ones((1, 1, 5, 5))
        with pytest.raises(ValueError, match=r"^eps must be a finite number \(not NaN\) > 0, "
                                             r"got eps=0.0$"):
            nn.gradcheck(layer, x, eps=0)
        with pytest.raises(ValueError, match=r"^atol must be a finite number \(not NaN\) >= 0"):
            nn.gradcheck(layer, x, atol=math.nan)

    def test_flatten(self):
        with pytest.raises(TypeError, match=r"^start_dim must be an integer, got 'x' of type str$"):
            nn.Flatten(start_dim="x")
        with pytest.raises(TypeError, match=r"^end_dim must be an integer, got 1.0"):
            nn.Flatten(end_dim=1.0)

    @pytest.mark.parametrize("kwargs, error, message", [
        (dict(dampening="s"), TypeError, r"^dampening must be a real number, got 's'"),
        (dict(dampening=2), ValueError, r"^dampening must be a finite number \(not NaN\) >= 0 "
                                        r"and <= 1, got dampening=2.0$"),
        (dict(momentum=math.nan), ValueError, r"^momentum must be a finite number \(not NaN\) "
                                              r">= 0, got momentum=nan$"),
        (dict(weight_decay=-1), ValueError, r"^weight_decay must be a finite number"),
        (dict(nesterov="yes"), TypeError, r"^nesterov must be True or False, got 'yes'"),
        (dict(lr=0), ValueError, r"^lr must be a finite number \(not NaN\) > 0, got lr=0.0$"),
        (dict(lr="0.1"), TypeError, r"^lr must be a real number, got '0.1'"),
    ])
    def test_sgd(self, kwargs, error, message):
        kwargs = {"lr": 0.1, **kwargs}
        with pytest.raises(error, match=message):
            nn.SGD(nn.Linear(2, 2, seed=0).parameters(), **kwargs)

    def test_adam(self):
        params = nn.Linear(2, 2, seed=0).parameters()
        with pytest.raises(TypeError, match=r"^betas must be a pair \(beta1, beta2\), got betas=0.9"):
            nn.Adam(params, betas=0.9)
        with pytest.raises(ValueError, match=r"^betas\[1\] must be a finite number \(not NaN\)"):
            nn.Adam(params, betas=(0.9, math.nan))
        with pytest.raises(ValueError, match=r"^eps must be a finite number \(not NaN\) >= 0"):
            nn.Adam(params, eps=math.inf)

    @pytest.mark.parametrize("stride", [True, np.float64(2.0), (1, True), [2.0, 1]])
    def test_functional_stride(self, stride):
        # A plan cached for an equal-hashing valid stride (1 == True, 2 == 2.0) must not let
        # the bad one through.
        F.conv2d(np.zeros((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), stride=1)
        F.conv2d(np.zeros((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), stride=2)
        F.conv2d(np.zeros((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), stride=(1, 1))
        F.conv2d(np.zeros((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), stride=[2, 1])
        with pytest.raises(TypeError, match=r"^stride(\[\d\])? must be an int"):
            F.conv2d(np.zeros((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), stride=stride)


def test_geometry_reexports_the_validation_helpers():
    """The geometry keeps its private names as thin aliases of the one implementation."""
    from convtheory import geometry
    assert geometry._as_int is as_int and geometry._as_shape is as_shape
    assert geometry._per_axis is per_axis and geometry.MAX_INT is MAX_INT
    assert isinstance(ct.conv_matrix(np.ones(2), (3,)), sp.csr_array)


def test_probe_matrix_of_a_function_returning_its_input():
    """The identity returns a view of the probe; the column must be read before it is reset."""
    assert (probe_matrix(lambda x: x, (4,)).toarray() == np.eye(4)).all()
