import numpy as np
import pytest

from convtheory import (
    check_spectral_norm_closed_forms,
    conv_matrix,
    conv_singular_values,
    conv_spectral_norm,
)
from convtheory.checks import CLOSED_FORM_CASES, closed_form_spectral_norm


def dense_singular_values(w, shape, **conv):
    return np.linalg.svd(conv_matrix(w, shape, **conv).toarray(), compute_uv=False)


class TestSingularValues:
    @pytest.mark.parametrize("weight_shape, input_shape, conv", [
        ((3, 2, 3, 3), (2, 6, 5), {}),
        ((2, 4, 2, 2), (4, 4, 6), {}),                       # even kernel, wide
        ((4, 2, 3), (4, 7), dict(groups=2)),
        ((2, 2, 3, 3), (2, 8, 8), dict(dilation=2)),
        ((3, 3, 5), (3, 4), dict(padding=((0, 4),))),        # kernel larger than the input: wraps
        ((1, 1, 2, 2, 2), (1, 3, 4, 3), {}),                 # 3-D
    ])
    def test_matches_dense_svd(self, weight_shape, input_shape, conv, rng):
        w = rng.standard_normal(weight_shape)
        kw = {"padding": "same", **conv, "padding_mode": "circular"}
        s = conv_singular_values(w, input_shape, **kw)
        dense = dense_singular_values(w, input_shape, **kw)
        assert s.shape == dense.shape
        assert np.max(np.abs(s - dense)) < 1e-10 * max(dense[0], 1)

    def test_complex_weights(self, rng):
        w = rng.standard_normal((2, 2, 3)) + 1j * rng.standard_normal((2, 2, 3))
        s = conv_singular_values(w, (2, 6), padding="same", padding_mode="circular")
        assert np.allclose(s, dense_singular_values(w, (2, 6), padding="same", padding_mode="circular"),
                           atol=1e-10)

    def test_offset_does_not_matter(self, rng):
        w = rng.standard_normal((2, 2, 3))
        a = conv_singular_values(w, (2, 7), padding=((0, 2),), padding_mode="circular")
        b = conv_singular_values(w, (2, 7), padding=((2, 0),), padding_mode="circular")
        assert np.allclose(a, b, atol=1e-12)

    @pytest.mark.parametrize("conv", [
        dict(padding_mode="zeros"), dict(padding=1, stride=2, padding_mode="circular"),
        dict(padding=2, padding_mode="reflect", dilation=2), dict(padding=(1, 0), stride=(2, 1)),
        dict(padding=1, padding_mode="replicate", groups=2),
    ])
    def test_every_geometry_matches_dense_svd(self, conv, rng):
        w = rng.standard_normal((4, 1 if conv.get("groups") else 2, 3, 3))
        s = conv_singular_values(w, (2, 7, 8), **conv)
        dense = dense_singular_values(w, (2, 7, 8), **conv)
        assert s.shape == dense.shape
        assert np.max(np.abs(s - dense)) < 1e-10 * dense[0]

    @pytest.mark.parametrize("conv", [dict(padding=1), dict(padding=1, stride=2),
                                      dict(padding="same", padding_mode="circular")])
    def test_top_k_by_lanczos(self, conv, rng):
        # max_bytes below the dense SVD's need forces the Lanczos path
        w = rng.standard_normal((3, 2, 3, 3))
        dense = dense_singular_values(w, (2, 12, 12), **conv)[:3]
        s = conv_singular_values(w, (2, 12, 12), k=3, max_bytes=2_000_000, **conv)
        assert s.shape == (3,)
        assert np.max(np.abs(s - dense)) < 1e-8 * dense[0]

    def test_refuses_over_budget_with_advice(self):
        with pytest.raises(ValueError, match="over max_bytes=1,000; pass k= for the k largest"):
            conv_singular_values(np.ones((1, 1, 3)), (1, 80), max_bytes=1000)

    @pytest.mark.parametrize("k", [0, 7, 2.0, True])
    def test_bad_k(self, k):
        with pytest.raises(ValueError, match=r"k must be None or an int in \[1, 6\]"):
            conv_singular_values(np.ones((1, 1, 3)), (1, 8), k=k)

    @pytest.mark.parametrize("bad", [np.nan, np.inf])
    def test_refuses_non_finite(self, bad):
        w = np.ones((1, 1, 3))
        w[0, 0, 1] = bad
        with pytest.raises(ValueError, match="weight must be finite"):
            conv_singular_values(w, (1, 8))

    def test_defaults_are_conv_matrix_defaults(self, rng):
        # The same call means the same conv everywhere: zero padding, valid.
        w = rng.standard_normal((1, 1, 3))
        assert np.allclose(conv_singular_values(w, (1, 8)), dense_singular_values(w, (1, 8)),
                           atol=1e-12)
        s = conv_singular_values(w, (1, 8), padding="same", padding_mode="circular")
        assert conv_spectral_norm(w, (1, 8), padding="same", padding_mode="circular") == \
            pytest.approx(s[0], rel=1e-12)
        assert conv_spectral_norm(w, (1, 8)) == pytest.approx(dense_singular_values(w, (1, 8))[0])


class TestSpectralNorm:
    @pytest.mark.parametrize("conv", [
        dict(padding=1), dict(stride=2, padding=1), dict(padding=1, padding_mode="reflect"),
        dict(groups=2, dilation=2, padding=2), dict(padding="same", padding_mode="circular"),
        dict(padding=1, padding_mode="replicate", stride=(1, 2)),
    ])
    def test_matches_dense_svd(self, conv, rng):
        w = rng.standard_normal((4, 2, 3, 3))
        shape = (2 * conv.get("groups", 1), 9, 10)
        exact = dense_singular_values(w, shape, **conv)[0]
        assert abs(conv_spectral_norm(w, shape, **conv) - exact) <= 1e-8 * exact
        assert abs(conv_spectral_norm(w, shape, method="lanczos", **conv) - exact) <= 1e-8 * exact

    def test_symmetric_kernel_lanczos(self):
        # A constant start vector is orthogonal to the Laplacian's top singular vector;
        # the start vector must not be.
        lap = CLOSED_FORM_CASES["laplacian 2-D, zero padding"][0]
        exact = dense_singular_values(lap, (16, 16), padding=1)[0]
        got = conv_spectral_norm(lap, (16, 16), padding=1, method="lanczos")
        assert got == pytest.approx(exact, rel=1e-10)

    def test_small_uses_dense(self, rng):
        w = rng.standard_normal(3)
        assert conv_spectral_norm(w, (6,)) == pytest.approx(dense_singular_values(w, (6,))[0], rel=1e-12)

    def test_closed_forms(self):
        v = check_spectral_norm_closed_forms((6, 32))
        assert v and v.evidence["max_relative_error"] < 1e-8

    def test_zero_padding_norm_below_circular(self):
        lap = CLOSED_FORM_CASES["laplacian 2-D, zero padding"][0]
        for n in (4, 16):
            zeros = conv_spectral_norm(lap, (n, n), padding=1)
            circ = conv_spectral_norm(lap, (n, n), padding=1, padding_mode="circular")
            assert zeros < circ == pytest.approx(8.0)
            assert zeros == pytest.approx(float(closed_form_spectral_norm("laplacian 2-D, zero padding", n)))

    def test_wrong_norm_fails_the_closed_forms(self):
        def frobenius(w, shape, **conv):
            return float(np.sqrt((conv_matrix(w, shape, **conv).data ** 2).sum()))
        v = check_spectral_norm_closed_forms((6,), norm=frobenius)
        assert not v and v.counterexample["relative_error"] > 1e-8

    def test_large_uses_lanczos_and_a_vector_its_norm(self, rng):
        w = rng.standard_normal((1, 1, 3, 3))
        # A 64x64 image: 4096 x 4096 > 4 million entries, so auto picks Lanczos.
        got = conv_spectral_norm(w, (1, 64, 64), padding=1)
        assert got == pytest.approx(conv_spectral_norm(w, (1, 64, 64), padding=1, method="lanczos"))
        assert got <= np.abs(np.fft.fft2(w[0, 0], (256, 256))).max() + 1e-12  # sup of |w_hat|
        v = rng.standard_normal(5)
        assert conv_spectral_norm(v, (5,), method="lanczos") == pytest.approx(np.linalg.norm(v))

    def test_memory_guard(self):
        with pytest.raises(ValueError, match=r"frequency_matrices \(C_out \* C_in/groups \* prod\(n\) complex entries\) would need about 32.0 GiB, over max_bytes=1,000,000,000 \(953.7 MiB\); use conv_spectral_norm"):
            conv_singular_values(np.ones((64, 64, 3, 3)), (64, 512, 512), padding="same",
                                 padding_mode="circular", max_bytes=10**9)
        # Zero padding on 10^5 x 10^5: Lanczos vectors alone are ~300 GiB; refused up front.
        with pytest.raises(ValueError, match=r"conv_spectral_norm by Lanczos on the matrix-free "
                                             r"operator would need about 8.4 TiB, over max_bytes=2,147,483,648 \(2.0 GiB\)"):
            conv_spectral_norm(np.ones((3, 3)), (10**5, 10**5))
        # 784 x 900 entries, 32 bytes each (matrix and SVD workspace): 22.6 MB.
        with pytest.raises(ValueError, match=r"conv_spectral_norm by a dense SVD would need about 21.5 MiB, over "
                                             r"max_bytes=1,000,000 \(976.6 KiB\)"):
            conv_spectral_norm(np.ones((3, 3)), (30, 30), method="dense", max_bytes=10**6)
        assert conv_spectral_norm(np.ones((3, 3)), (30, 30), method="dense", max_bytes=3 * 10**7) > 0
        with pytest.raises(ValueError, match="max_bytes must be >= 1, got max_bytes=-1"):
            conv_spectral_norm(np.ones(3), (8,), max_bytes=-1)

    def test_bad_input(self):
        with pytest.raises(ValueError, match="method must be one of"):
            conv_spectral_norm(np.ones(3), (8,), method="power")
        with pytest.raises(TypeError, match="conv_spectral_norm needs numeric weights"):
            conv_spectral_norm(np.array([__import__("sympy").Symbol("a")] * 3, dtype=object), (8,))
        with pytest.raises(ValueError, match=r"tol must be a finite number \(not NaN\) >= 0, got tol=-1"):
            conv_spectral_norm(np.ones(3), (8,), tol=-1)
        with pytest.raises(ValueError, match="name must be one of"):
            closed_form_spectral_norm("sobel")
        for sizes in ((1,), (), (7,), (8.0,)):
            with pytest.raises(ValueError, match=r"sizes must be a non-empty iterable of even ints "
                                                 r">= 2 .* got sizes="):
                check_spectral_norm_closed_forms(sizes)
        with pytest.raises(TypeError, match="sizes must be an iterable of even ints >= 2, got sizes=8"):
            check_spectral_norm_closed_forms(8)
        with pytest.raises(ValueError, match=r"rtol must be a finite number \(not NaN\) >= 0, got rtol=-1"):
            check_spectral_norm_closed_forms((8,), rtol=-1)

    def test_closed_forms_rtol(self):
        def off_by_1e_6(w, shape, **conv):
            return conv_spectral_norm(w, shape, **conv) * (1 + 1e-6)
        assert not check_spectral_norm_closed_forms((8,), norm=off_by_1e_6)
        assert check_spectral_norm_closed_forms((8,), norm=off_by_1e_6, rtol=1e-5)
