"""probe_matrix and assert_is_convolution on black boxes we did not write.

Known answers: scipy.ndimage's boundary modes against PyTorch's padding modes

=============  =====================  ===========================================
ndimage mode   convtheory padding     why
=============  =====================  ===========================================
``constant``   ``zeros``              cval=0 pads with zeros
``wrap``       ``circular``           periodic extension
``nearest``    ``replicate``          edge value repeated (a a a | a b c)
``mirror``     ``reflect``            reflection about the edge sample (c b | a b c)
``reflect``    none                   half-sample symmetric (b a | a b c): the edge
                                      is repeated, then reflected; for a 3-tap
                                      kernel (pad 1) it coincides with replicate,
                                      for 5 taps (pad 2) it is no PyTorch mode
=============  =====================  ===========================================

``scipy.signal.convolve2d(mode="same")`` is a true convolution (``flip=True``):
``boundary="fill"`` is zeros, ``"wrap"`` circular, ``"symm"`` is ndimage's
half-sample ``reflect``.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import ndimage, signal

from convtheory import ConvSpec, conv_matrix, conv_operator
from convtheory.testing import (
    ConvolutionAssertionError,
    NotLinearError,
    assert_is_convolution,
    probe_matrix,
)

from .conftest import requires_torch

NDIMAGE_TO_TORCH = {"constant": "zeros", "wrap": "circular", "nearest": "replicate",
                    "mirror": "reflect"}


def correlate(w, mode):
    return lambda x: ndimage.correlate(x, w, mode=mode)


class TestProbeMatrix:
    @pytest.mark.parametrize("mode", ["zeros", "circular", "reflect", "replicate"])
    def test_equals_conv_matrix(self, rng, mode):
        w = rng.standard_normal((2, 1, 3, 2))
        spec = ConvSpec(w.shape, (2, 5, 6), padding=1, stride=(1, 2), groups=2, padding_mode=mode)
        op = conv_operator(w, spec)
        M = probe_matrix(lambda x: op @ x.ravel(), spec.input_shape)
        assert isinstance(M, sp.csr_array) and M.shape == spec.matrix_shape
        # the operator computes in another order (im2col / FFT): equal to rounding
        np.testing.assert_allclose(M.toarray(), conv_matrix(w, spec).toarray(), rtol=0, atol=1e-14)

    def test_sparse_and_exact_for_ndimage(self):
        w = np.arange(1.0, 10.0).reshape(3, 3)
        M = probe_matrix(correlate(w, "constant"), (5, 5))
        assert M.nnz == 9 * 9 + 4 * 6 * 3 + 4 * 4   # interior, edges (6 taps), corners (4 taps)
        assert np.array_equal(M.toarray(), conv_matrix(w, (5, 5), padding=1).toarray())

    def test_atol_drops_fft_noise(self, rng):
        w = rng.standard_normal(3)
        op = conv_operator(w, (16,), padding=1, padding_mode="circular", method="fft")
        dense = probe_matrix(lambda x: op @ x, (16,))
        clean = probe_matrix(lambda x: op @ x, (16,), atol=1e-12)
        assert clean.nnz == 48 and dense.nnz >= clean.nnz

    @pytest.mark.parametrize("f, what", [
        (np.abs, "abs"), (lambda x: x + 1.0, "bias"), (lambda x: x * np.abs(x).max(), "scaled")])
    def test_refuses_nonlinear_callables(self, f, what):
        with pytest.raises(NotLinearError, match=(
                r"f is not linear: f\(a\*x \+ b\*y\) differs from a\*f\(x\) \+ b\*f\(y\)")):
            probe_matrix(f, (4, 4))

    def test_budgets(self):
        with pytest.raises(ValueError, match=(
                r"probe_matrix would call f 40,000 times .* over max_probes=16,384; probe a "
                r"smaller input_shape")):
            probe_matrix(lambda x: x, (200, 200))
        with pytest.raises(ValueError, match=(
                r"probe_matrix \(after \d+ of 64 columns\) would need about 1.0 KiB, over max_bytes=1,000")):
            probe_matrix(lambda x: np.full_like(x, x.sum()), (8, 8), max_bytes=1000)
        with pytest.raises(TypeError, match="f must be callable, got int"):
            probe_matrix(3, (4,))
        with pytest.raises(ValueError, match=r"atol must be a finite number \(not NaN\) >= 0, got atol=-1"):
            probe_matrix(np.negative, (4,), atol=-1)

    def test_non_numeric_output(self):
        with pytest.raises(TypeError, match=r"f\(zeros\) must be a numeric array, got str of "
                                            r"dtype <U3"):
            probe_matrix(lambda x: "abc", (3,), linearity_pairs=0)
        # Numeric at zero, text on a unit vector: named by the probe that returned it.
        with pytest.raises(TypeError, match=r"f\(unit vector 0\) must be a numeric array, "
                                            r"got list of dtype <U1"):
            probe_matrix(lambda x: [0.0] if not x.any() else ["1"], (3,), linearity_pairs=0)


class TestScipyNdimage:
    @pytest.mark.parametrize("ndimage_mode", list(NDIMAGE_TO_TORCH))
    @pytest.mark.parametrize("k", [3, 5])
    def test_recovers_the_kernel(self, rng, ndimage_mode, k):
        w = rng.standard_normal((k, k))
        f = correlate(w, ndimage_mode)
        padding_mode = NDIMAGE_TO_TORCH[ndimage_mode]
        kernel = assert_is_convolution(f, (7, 8), padding="same", padding_mode=padding_mode)
        assert np.array_equal(kernel, w)
        given = assert_is_convolution(f, (7, 8), (k, k), padding="same", padding_mode=padding_mode)
        assert np.array_equal(given, w)

    def test_half_sample_reflect_is_replicate_for_three_taps(self, rng):
        w = rng.standard_normal((3, 3))
        kernel = assert_is_convolution(correlate(w, "reflect"), (6, 6), padding="same",
                                       padding_mode="replicate")
        assert np.array_equal(kernel, w)

    @pytest.mark.parametrize("padding_mode", ["zeros", "circular", "reflect", "replicate"])
    def test_half_sample_reflect_is_no_torch_mode_for_five_taps(self, rng, padding_mode):
        w = rng.standard_normal((5, 5))
        with pytest.raises(ConvolutionAssertionError) as info:
            assert_is_convolution(correlate(w, "reflect"), (7, 7), padding="same",
                                  padding_mode=padding_mode)
        b = info.value.recovery.breach
        # The first row is output (0, 0): its corner entry already breaks every torch mode.
        assert (b.row, b.col) == (0, 0)
        M = probe_matrix(correlate(w, "reflect"), (7, 7))
        assert b.found == M[0, 0]
        # Half-sample symmetry reads x[-1] = x[0], x[-2] = x[1]: input 0 gets taps 1 and 2 per axis.
        assert b.found == pytest.approx(w[1:3, 1:3].sum(), rel=0, abs=1e-12)
        assert b.reason == ("fold inconsistent" if padding_mode == "replicate" else "tie broken")
        assert "output (0, 0, 0) reading input (0, 0, 0)" in str(info.value)

    def test_wrong_mode_is_named(self, rng):
        w = rng.standard_normal((3, 3))
        with pytest.raises(ConvolutionAssertionError,
                           match=r"entry \(0, 0\): .*\(tie broken: weight \(0, 0, 1, 1\), "
                                 r"shared by 36 positions\)"):
            assert_is_convolution(correlate(w, "nearest"), (6, 6), padding="same",
                                  padding_mode="zeros")


class TestScipySignal:
    @pytest.mark.parametrize("boundary, padding_mode", [
        ("fill", "zeros"), ("wrap", "circular"), ("symm", "replicate")])
    def test_convolve2d_is_a_flipped_conv(self, rng, boundary, padding_mode):
        w = rng.standard_normal((3, 3))
        f = lambda x: signal.convolve2d(x, w, mode="same", boundary=boundary)
        kernel = assert_is_convolution(f, (6, 7), padding="same", padding_mode=padding_mode,
                                       flip=True)
        assert np.array_equal(kernel, w)
        # Without flip it is a correlation, with the flipped kernel: the same matrix.
        correlation = assert_is_convolution(f, (6, 7), padding="same", padding_mode=padding_mode)
        assert np.array_equal(correlation, w[::-1, ::-1])

    def test_valid_mode_has_no_padding(self, rng):
        w = rng.standard_normal((2, 3))
        f = lambda x: signal.correlate2d(x, w, mode="valid")
        assert np.array_equal(assert_is_convolution(f, (5, 6)), w)


@requires_torch
class TestTorch:
    @pytest.mark.parametrize("padding_mode", ["zeros", "circular", "reflect", "replicate"])
    def test_conv2d_groups_stride_dilation(self, padding_mode):
        import torch

        torch.manual_seed(0)
        conv = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(2, 1), dilation=(2, 1),
                               groups=2, bias=False, padding_mode=padding_mode, dtype=torch.float64)

        def f(x):
            with torch.no_grad():
                return conv(torch.from_numpy(x)[None])[0].numpy()

        kernel = assert_is_convolution(f, (4, 7, 6), (3, 2), stride=(2, 1), padding=(2, 1),
                                       dilation=(2, 1), groups=2, padding_mode=padding_mode)
        np.testing.assert_allclose(kernel, conv.weight.detach().numpy(), rtol=0, atol=0)

    def test_bias_is_not_linear(self):
        import torch

        conv = torch.nn.Conv2d(1, 1, 3, padding=1, dtype=torch.float64)
        f = lambda x: conv(torch.from_numpy(x)[None, None])[0, 0].detach().numpy()
        with pytest.raises(ConvolutionAssertionError, match=(
                r"f is not a convolution: f is not linear")):
            assert_is_convolution(f, (5, 5), padding=1)


class TestFailures:
    def test_position_dependent_kernel(self, rng):
        w = rng.standard_normal(3)
        M = conv_matrix(w, (10,), padding=1).toarray()
        M[6, 5:8] *= 1.5        # output 6 uses a scaled kernel
        with pytest.raises(ConvolutionAssertionError) as info:
            assert_is_convolution(lambda x: M @ x, (10,), padding=1)
        assert (info.value.recovery.breach.row, info.value.recovery.breach.col) == (6, 5)
        assert "output (0, 6) reading input (0, 5)" in str(info.value)

    def test_max_pool_is_not_linear(self):
        f = lambda x: x.reshape(3, 2).max(axis=1)
        with pytest.raises(ConvolutionAssertionError, match="not linear"):
            assert_is_convolution(f, (6,), (2,), stride=2)

    def test_wrong_output_shape(self, rng):
        w = rng.standard_normal((3, 3))
        with pytest.raises(ConvolutionAssertionError,
                           match=r"f\(x\).shape=\(6, 6\), but that geometry gives "
                                 r"spatial output \(4, 4\)"):
            assert_is_convolution(correlate(w, "constant"), (6, 6), (3, 3))

    def test_report_carries_the_recovery(self, rng):
        w = rng.standard_normal((3, 3))
        with pytest.raises(ConvolutionAssertionError) as info:
            assert_is_convolution(correlate(w, "nearest"), (5, 5), padding="same")
        report = info.value.report()
        assert "first breach: entry (0, 0)" in report and "evidence:" in report

    def test_zero_map_has_no_kernel_to_infer(self):
        with pytest.raises(ConvolutionAssertionError, match="f maps every input to zero"):
            assert_is_convolution(np.zeros_like, (4, 4))

    def test_bad_input_shape(self):
        with pytest.raises(ValueError, match=(
                r"input_shape=\(2, 2, 4, 4\) must be \(n1, ..., nd\) or \(C_in, n1, ..., nd\) for "
                r"a 2-D")):
            assert_is_convolution(lambda x: x, (2, 2, 4, 4), (3, 3))
