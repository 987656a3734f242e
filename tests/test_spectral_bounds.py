import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convtheory.circular_bound as circular_bound
import convtheory.spectral_bounds as sb
from convtheory import PADDING_MODES, ConvSpec, conv_matrix
from convtheory.spectral_bounds import (
    conv_spectral_norm_bounds,
    linear_spectral_norm,
    reshaped_spectral_norm,
)

from .conftest import ROUNDING, dense_norm, requires_torch, torch



def assert_bracket(b, w, shape, exact, **conv):
    assert np.isfinite(b.lower) and np.isfinite(b.upper)
    assert b.lower <= exact * (1 + ROUNDING), (b.lower, exact)
    assert exact <= b.upper * (1 + ROUNDING), (exact, b.upper)
    # the lower bound is the Rayleigh quotient of the returned vector, with the exact matrix
    x = b.vector.ravel()
    assert b.vector.shape == ConvSpec(w.shape, shape, **conv).input_shape
    rq = np.linalg.norm(conv_matrix(w, shape, **conv) @ x) / np.linalg.norm(x)
    assert abs(rq - b.lower) <= 1e-12 * exact
    assert b.relative_width == pytest.approx((b.upper - b.lower) / b.upper, abs=1e-15)


@st.composite
def small_layers(draw):
    ndim = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    spatial = tuple(draw(st.integers(3, 7)) for _ in range(ndim))
    conv = dict(stride=draw(st.integers(1, 2)), dilation=draw(st.integers(1, 2)),
                padding=draw(st.integers(0, 2)), groups=groups,
                padding_mode=draw(st.sampled_from(PADDING_MODES)))
    try:
        ConvSpec((c_out, c_in // groups) + kernel, (c_in,) + spatial, **conv)
    except ValueError:
        assume(False)
    seed = draw(st.integers(0, 2**32 - 1))
    w = np.random.default_rng(seed).standard_normal((c_out, c_in // groups) + kernel)
    return w, (c_in,) + spatial, conv


class TestBracketContainsExactValue:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(small_layers())
    def test_dense_and_embedding_paths(self, layer):
        w, shape, conv = layer
        exact = dense_norm(w, shape, **conv)
        b = conv_spectral_norm_bounds(w, shape, **conv)
        assert_bracket(b, w, shape, exact, **conv)
        assert b.relative_width < 1e-9  # small layers take the dense (or exact FFT) path

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(small_layers())
    def test_embedding_path(self, layer):
        # Force the large-layer path (circular embedding + Lanczos) on a layer
        # small enough for the reference SVD.
        w, shape, conv = layer
        exact = dense_norm(w, shape, **conv)
        old = sb.DENSE_ENTRIES
        sb.DENSE_ENTRIES = 0
        try:
            b = conv_spectral_norm_bounds(w, shape, **conv)
        finally:
            sb.DENSE_ENTRIES = old
        assert_bracket(b, w, shape, exact, **conv)

    def test_closed_form_difference_kernel(self):
        n = 3000  # over the dense budget: the embedding path
        exact = 2 * np.cos(np.pi / (2 * n))
        b = conv_spectral_norm_bounds([1.0, -1.0], (n,), rtol=1e-10)
        assert "Lanczos" in b.method["lower"] and "embedding" in b.method["upper"]
        assert b.lower <= exact * (1 + ROUNDING) and exact <= b.upper
        assert abs(b.value - exact) <= 1e-8 * exact

    def test_circular_stride_one_is_exact(self, rng):
        w = rng.standard_normal((4, 3, 3, 3))
        kw = dict(padding=1, padding_mode="circular")
        b = conv_spectral_norm_bounds(w, (3, 40, 40), **kw)
        assert b.relative_width < 1e-12
        assert b.iterations == 0
        assert b.method["upper"].startswith("exact")


class TestComplexWeights:
    @pytest.mark.parametrize("dense", [True, False])
    def test_bracket(self, dense, rng, monkeypatch):
        if not dense:
            monkeypatch.setattr(sb, "DENSE_ENTRIES", 0)
        w = rng.standard_normal((2, 2, 3)) + 1j * rng.standard_normal((2, 2, 3))
        exact = dense_norm(w, (2, 9), padding=1)
        assert_bracket(conv_spectral_norm_bounds(w, (2, 9), padding=1), w, (2, 9), exact,
                       padding=1)


class TestExactValue:
    @pytest.mark.parametrize("conv", [
        dict(padding=1), dict(stride=2, padding=1), dict(padding=2, padding_mode="reflect"),
        dict(padding=1, padding_mode="replicate", groups=2), dict(dilation=2, padding=2),
        dict(padding=1, padding_mode="circular", stride=2),
    ])
    def test_value_agrees_with_dense_svd(self, conv, rng):
        w = rng.standard_normal((4, 2 // conv.get("groups", 1), 3, 3))
        shape = (2, 11, 12)
        exact = dense_norm(w, shape, **conv)
        assert abs(conv_spectral_norm_bounds(w, shape, **conv).value - exact) <= 1e-8 * exact
        old = sb.DENSE_ENTRIES
        sb.DENSE_ENTRIES = 0
        try:
            b = conv_spectral_norm_bounds(w, shape, rtol=1e-10, **conv)
        finally:
            sb.DENSE_ENTRIES = old
        assert abs(b.value - exact) <= 1e-8 * exact
        assert_bracket(b, w, shape, exact, **conv)


class TestWrongBoundIsCaught:
    def test_too_small_grid_breaks_the_bracket(self, monkeypatch):
        # On a grid smaller than the padded input the circular conv wraps
        # around: its norm is no longer an upper bound.  For [1, -1] on n = 8
        # the 7-point circular norm 2 sin(3 pi / 7) = 1.9499 is below the true
        # 2 cos(pi / 16) = 1.9616, and the guard or the containment test fails.
        def too_small(base, stride, exact):
            return [tuple(m - 1 for m in base)]

        monkeypatch.setattr(sb, "DENSE_ENTRIES", 0)
        monkeypatch.setattr(sb, "CERTIFICATE_FLOPS", 0)
        monkeypatch.setattr(circular_bound, "_candidate_grids", too_small)
        exact = 2 * np.cos(np.pi / 16)
        try:
            b = conv_spectral_norm_bounds([1.0, -1.0], (8,))
        except RuntimeError as err:
            assert "lower bound" in str(err)
        else:
            assert b.upper < exact

    def test_forgotten_padding_norm_breaks_the_bracket(self, monkeypatch, rng):
        # Reflect padding copies inputs; without ||P|| the bound is too small.
        monkeypatch.setattr(sb, "DENSE_ENTRIES", 0)
        monkeypatch.setattr(sb, "CERTIFICATE_FLOPS", 0)
        monkeypatch.setattr(circular_bound, "_padding_norm", lambda spec: 1.0)
        w = np.ones((1, 1, 3, 3))
        exact = dense_norm(w, (1, 6, 6), padding=2, padding_mode="reflect")
        try:
            b = conv_spectral_norm_bounds(w, (1, 6, 6), padding=2, padding_mode="reflect")
        except RuntimeError as err:
            assert "lower bound" in str(err)
        else:
            assert b.upper < exact


class TestExtremeMagnitudes:
    """Weights whose squares under- or overflow: the bracket still holds the norm."""

    BASE = np.array([[[1.0, -2.0, 0.5]]])

    @pytest.mark.parametrize("k", [-1000, -600, -500, 500, 1000])
    def test_dense_path_scales_with_the_weight(self, k):
        # 2**k w is an exact scaling, so the norm is exactly 2**k ||M(w)||; before, tiny
        # weights gave the bracket [0, 0] (converged) and huge ones raised from inside
        exact = np.ldexp(dense_norm(self.BASE, (1, 7)), k)
        b = conv_spectral_norm_bounds(np.ldexp(self.BASE, k), (1, 7), rtol=1e-8)
        assert 0 < b.lower <= exact * (1 + ROUNDING), (b.lower, exact)
        assert exact <= b.upper * (1 + ROUNDING), (exact, b.upper)
        assert b.converged and b.relative_width <= 1e-8
        assert "scale" in b.method

    @pytest.mark.parametrize("conv", [dict(padding=1, padding_mode="circular"),
                                      dict(padding=1)])
    @pytest.mark.parametrize("k", [-600, 700])
    def test_large_paths_scale_with_the_weight(self, conv, k):
        n = 16 if conv.get("padding_mode") == "circular" else 2100  # exact / embedding path
        ref = conv_spectral_norm_bounds(self.BASE, (1, n), **conv)
        b = conv_spectral_norm_bounds(np.ldexp(self.BASE, k), (1, n), **conv)
        assert b.lower == pytest.approx(np.ldexp(ref.lower, k), rel=1e-12, abs=0)
        assert b.upper == pytest.approx(np.ldexp(ref.upper, k), rel=1e-12, abs=0)
        assert 0 < b.lower <= b.upper and b.converged == ref.converged

    def test_entries_lost_to_underflow_when_scaling_are_covered(self):
        # 2**-1000 cannot be scaled by 2**-1001 without underflowing to zero
        w = np.array([[[2.0 ** 1000, 2.0 ** -1000, -(2.0 ** 999)]]])
        kept = np.ldexp(dense_norm(np.ldexp(w, -1000), (1, 7)), 1000)  # within 2**-1000 of it
        b = conv_spectral_norm_bounds(w, (1, 7))
        assert b.lower <= kept * (1 + ROUNDING) and kept <= b.upper * (1 + ROUNDING)

    def test_denormal_weights(self):
        w = np.array([[[5e-324, 0.0, -1e-322]]])
        exact = np.ldexp(dense_norm(np.ldexp(w, 1074), (1, 5)), -1074)
        b = conv_spectral_norm_bounds(w, (1, 5))
        assert 0 < b.lower <= exact <= b.upper

    @pytest.mark.parametrize("conv", [dict(), dict(padding=1, padding_mode="circular", stride=3)])
    def test_a_zero_operator_is_bracketed_exactly(self, conv):
        # all-zero weights, and [1, -1] whose two taps meet the one circular input
        # (M = [[0]]): the bracket is [0, 0], with no allowance for underflow to widen it
        w = np.zeros((1, 1, 2)) if not conv else np.array([[[1.0, -1.0]]])
        n = 6 if not conv else 1
        assert dense_norm(w, (1, n), **conv) == 0
        b = conv_spectral_norm_bounds(w, (1, n), **conv)
        assert (b.lower, b.upper, b.converged) == (0.0, 0.0, True)

    @pytest.mark.parametrize("shape, conv", [((1, 23, 24), dict()), ((2, 20, 20), dict(padding=1))])
    def test_zero_weights_of_a_mid_sized_layer(self, shape, conv):
        # a Gram matrix over 400 unknowns goes to ARPACK first, which raised "starting
        # vector is zero" (ARPACK error -9) for G = 0 instead of falling back
        w = np.zeros((shape[0], shape[0], 3, 3))
        b = conv_spectral_norm_bounds(w, shape, **conv)
        assert (b.lower, b.upper, b.converged) == (0.0, 0.0, True)

    def test_taps_that_only_read_padding_on_the_embedding_path(self, monkeypatch):
        # stride 2, dilation 2, padding 1 on a 1 x 5 input: every tap of the 1 x 2 kernel
        # reads padding, M = 0; the certificate had no tau > lower = 0 to try, and the
        # bracket stayed [0, 3.3] (the circular embedding of the nonzero kernel)
        monkeypatch.setattr(sb, "DENSE_ENTRIES", 0)
        w = np.random.default_rng(3).standard_normal((2, 2, 1, 2))
        conv = dict(stride=2, padding=1, dilation=2)
        assert dense_norm(w, (2, 1, 5), **conv) == 0
        b = conv_spectral_norm_bounds(w, (2, 1, 5), **conv)
        assert (b.lower, b.upper, b.converged) == (0.0, 0.0, True)

    def test_a_norm_beyond_float64_is_refused(self):
        with pytest.raises(ValueError, match="norm of this layer may exceed the float64 range"):
            conv_spectral_norm_bounds(np.full((1, 1, 3), 1e308), (1, 7))


class TestClusteredSpectrum:
    """All singular values equal to within an ulp: LAPACK syevr may return no eigenpair."""

    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))[0]

    @pytest.mark.parametrize("dense", [True, False])
    @pytest.mark.parametrize("conv", [dict(), dict(padding=1), dict(padding=1, stride=2)])
    def test_orthogonal_channel_mixing(self, conv, dense, monkeypatch):
        # M = Q (x) I: its 168 x 168 Gram matrix is the identity to an ulp, and syevr
        # asked for the top pair returned an empty array (IndexError on the dense path)
        if not dense:
            monkeypatch.setattr(sb, "DENSE_ENTRIES", 0)
        w = self.Q.reshape(4, 4, 1, 1)
        exact = dense_norm(w, (4, 7, 6), **conv)
        b = conv_spectral_norm_bounds(w, (4, 7, 6), rtol=1e-10, **conv)
        assert_bracket(b, w, (4, 7, 6), exact, **conv)
        assert b.converged

    def test_top_eigenpair_of_a_tight_cluster(self):
        from convtheory.gram_certificate import small_gram, top_eigenpair
        G = small_gram(conv_matrix(self.Q.reshape(4, 4, 1, 1), (4, 7, 6)))[0].toarray()
        lam, v = top_eigenpair(G)
        assert lam == pytest.approx(1.0, abs=1e-14)
        assert np.linalg.norm(G @ v - lam * v) <= 1e-14 and np.linalg.norm(v) == pytest.approx(1.0)


def test_equal_maxima_over_frequency_blocks_keep_the_first(monkeypatch):
    # A 1x1 kernel has the same matrix at every frequency.  The blocks' maxima were taken in
    # the order the workers finished, so at two threads the maximising frequency, the start
    # vector and the lower bound (in its last bit) changed from run to run.
    w = np.random.default_rng(0).standard_normal((4, 4, 1, 1))
    monkeypatch.setattr(sb, "DENSE_ENTRIES", 0)
    serial = conv_spectral_norm_bounds(w, (4, 9, 8), padding=1)

    def last_block_first(n, fn, *, min_items=1):
        for start in reversed(range(0, n, min_items)):
            fn(start, min(start + min_items, n))

    monkeypatch.setattr(circular_bound, "_CHUNK_BYTES", 4 * 16 * 4 * 4 * 3)  # 4 per block
    monkeypatch.setattr(circular_bound, "parallel_blocks", last_block_first)
    reordered = conv_spectral_norm_bounds(w, (4, 9, 8), padding=1)
    assert (reordered.lower, reordered.upper) == (serial.lower, serial.upper)
    np.testing.assert_array_equal(reordered.vector, serial.vector)


def test_a_warm_start_in_an_invariant_subspace_is_restarted(monkeypatch):
    # 12 x 84 (stride 3, replicate, uneven padding): the modulated frequency vector lay in
    # an invariant subspace of M^T M without the top vector, Lanczos stopped after 3
    # products on the exact Ritz value 2.849 (sigma_3), and the bracket [2.849, 6.98] was
    # 59% wide around the norm 3.166
    monkeypatch.setattr(sb, "DENSE_ENTRIES", 0)
    w = np.random.default_rng(0).standard_normal((2, 2, 2, 3))
    conv = dict(padding=((2, 0), (0, 1)), padding_mode="replicate", stride=3)
    exact = dense_norm(w, (2, 7, 6), **conv)
    b = conv_spectral_norm_bounds(w, (2, 7, 6), rtol=1e-9, **conv)
    assert_bracket(b, w, (2, 7, 6), exact, **conv)
    assert b.converged and "random" in b.method["lower"]


class TestWeightDtypes:
    """Every rounding allowance is for float64: other weights are converted first."""

    @pytest.mark.parametrize("dense", [True, False])
    @pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int8, np.complex64])
    def test_bracket_of_the_weight_as_given(self, dtype, dense, monkeypatch):
        # float32 weights formed a float32 Gram matrix under a float64 allowance: the
        # upper bound fell 1.4e-7 below the lower one (internal error) or below the norm
        if not dense:
            monkeypatch.setattr(sb, "DENSE_ENTRIES", 0)  # the embedding + Lanczos path
        rng = np.random.default_rng(32)
        w = rng.standard_normal((3, 2, 3, 3)) * (50 if dtype == np.int8 else 1)
        if dtype == np.complex64:
            w = w + 1j * rng.standard_normal(w.shape)
        w = w.astype(dtype)
        exact64 = w.astype(np.complex128 if dtype == np.complex64 else np.float64)
        exact = dense_norm(exact64, (2, 9, 8), padding=1)
        b = conv_spectral_norm_bounds(w, (2, 9, 8), padding=1, rtol=1e-8)
        assert b.lower <= exact * (1 + ROUNDING) and exact <= b.upper * (1 + ROUNDING)
        assert b.vector.dtype.itemsize >= 8

    @pytest.mark.parametrize("k", [-600, 0, 600])
    def test_linear_norm_by_lanczos_of_tiny_and_huge_weights(self, k, monkeypatch):
        # ARPACK's products of 2**-600 entries underflowed: "starting vector is zero"
        monkeypatch.setattr(sb, "DENSE_ENTRIES", 10)  # the svds path on a small matrix
        a = np.random.default_rng(1).standard_normal((30, 20))
        exact = np.ldexp(np.linalg.svd(a, compute_uv=False)[0], k)
        assert linear_spectral_norm(np.ldexp(a, k)) == pytest.approx(exact, rel=1e-10, abs=0)

    def test_linear_norm_in_float64(self):
        w = np.random.default_rng(5).standard_normal((40, 30)).astype(np.float32)
        exact = np.linalg.svd(w.astype(np.float64), compute_uv=False)[0]
        assert linear_spectral_norm(w) == pytest.approx(exact, rel=1e-14)


class TestArguments:
    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite_weights_are_refused(self, bad):
        w = np.ones((2, 1, 3, 3))
        w[1, 0, 2, 1] = bad
        with pytest.raises(ValueError, match=r"weight must be finite, got (nan|inf|-inf) at index \(1, 0, 2, 1\)"):
            conv_spectral_norm_bounds(w, (1, 8, 8))
        with pytest.raises(ValueError, match="weight must be finite"):
            linear_spectral_norm(w[1, 0])

    def test_symbolic_weights_are_refused(self):
        import sympy
        with pytest.raises(TypeError, match="weight must be numeric"):
            conv_spectral_norm_bounds(np.array([sympy.Symbol("a"), 1], dtype=object), (5,))

    @pytest.mark.parametrize("rtol", [0, 1, -1e-3, np.nan, "1e-4", True])
    def test_bad_rtol(self, rtol):
        with pytest.raises(ValueError, match=r"rtol must be a float in \(0, 1\)"):
            conv_spectral_norm_bounds([1.0, 2.0], (5,), rtol=rtol)

    @pytest.mark.parametrize("max_seconds", [0, -1, np.inf, np.nan, "1"])
    def test_bad_max_seconds(self, max_seconds):
        with pytest.raises(ValueError, match="max_seconds must be None or a finite float > 0"):
            conv_spectral_norm_bounds([1.0, 2.0], (5,), max_seconds=max_seconds)

    def test_bad_max_bytes_and_seed(self):
        with pytest.raises(ValueError, match="max_bytes must be an int >= 0"):
            conv_spectral_norm_bounds([1.0, 2.0], (5,), max_bytes=-1)
        with pytest.raises(TypeError, match="seed must be an int"):
            conv_spectral_norm_bounds([1.0, 2.0], (5,), seed=1.5)

    @pytest.mark.parametrize("conv", [dict(), dict(padding=1), dict(padding=2)])
    def test_an_empty_matrix_is_refused(self, conv):
        # an input with an empty axis: 0 x 0 or 2 x 0; before, an IndexError from inside
        with pytest.raises(ValueError, match=r"needs a non-empty matrix, got input_shape=\(1, 0\)"):
            conv_spectral_norm_bounds(np.ones((1, 1, 3)), (1, 0), **conv)

    def test_over_budget_is_refused_with_advice(self):
        with pytest.raises(ValueError, match="over max_bytes=10,000; use a smaller input"):
            conv_spectral_norm_bounds(np.ones((4, 4, 3, 3)), (4, 64, 64), max_bytes=10_000)

    def test_max_seconds_keeps_a_valid_bracket(self, rng):
        w = rng.standard_normal((3, 2, 3, 3))
        old = sb.DENSE_ENTRIES
        sb.DENSE_ENTRIES = 0
        try:
            b = conv_spectral_norm_bounds(w, (2, 10, 10), padding=1, max_seconds=1e-6)
        finally:
            sb.DENSE_ENTRIES = old
        assert_bracket(b, w, (2, 10, 10), dense_norm(w, (2, 10, 10), padding=1), padding=1)


class TestDenseNorms:
    def test_linear_matches_svd(self, rng):
        w = rng.standard_normal((7, 5))
        assert linear_spectral_norm(w) == pytest.approx(np.linalg.norm(w, 2), rel=1e-12)

    def test_linear_large_uses_lanczos(self, rng, monkeypatch):
        monkeypatch.setattr(sb, "DENSE_ENTRIES", 10)
        w = rng.standard_normal((40, 30))
        assert linear_spectral_norm(w) == pytest.approx(np.linalg.norm(w, 2), rel=1e-10)

    @pytest.mark.parametrize("shape", [(3,), (0, 4), (2, 2, 2)])
    def test_linear_bad_shape(self, shape):
        with pytest.raises(ValueError, match="weight must be a non-empty 2-D array"):
            linear_spectral_norm(np.ones(shape))

    def test_reshaped_is_not_the_layer_norm(self, rng):
        w = rng.standard_normal((8, 8, 3, 3))
        reshaped = reshaped_spectral_norm(w)
        assert reshaped == pytest.approx(np.linalg.norm(w.reshape(8, -1), 2), rel=1e-12)
        exact = dense_norm(w, (8, 10, 10), padding=1)
        assert reshaped < 0.8 * exact  # the gap the reshaped normalisation ignores

    def test_reshaped_dim(self, rng):
        w = rng.standard_normal((2, 3, 2))
        assert reshaped_spectral_norm(w, dim=1) == pytest.approx(
            np.linalg.norm(np.moveaxis(w, 1, 0).reshape(3, -1), 2), rel=1e-12)
        with pytest.raises(ValueError, match="dim must be an int in"):
            reshaped_spectral_norm(w, dim=3)

    @requires_torch
    def test_reshaped_matches_torch_spectral_norm(self, rng):
        w = rng.standard_normal((6, 4, 3, 3))
        conv = torch.nn.Conv2d(4, 6, 3, bias=False).double()
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w))
        sn = torch.nn.utils.parametrizations.spectral_norm(conv, n_power_iterations=500)
        sn.train()
        with torch.no_grad():
            normalised = sn.weight.detach().numpy()
        # torch divides by its power-iteration estimate of the reshaped norm
        assert np.max(np.abs(normalised * reshaped_spectral_norm(w) - w)) < 1e-8
