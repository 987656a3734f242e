import numpy as np
import pytest
import sympy

from convtheory import conv_matrix, kernel_symbols

from .conftest import traced_peak


class TestTextbook:
    def test_4x4_input_3x3_kernel(self):
        # The textbook picture: a 3x3 kernel on a 4x4 image, valid, is a 4x16
        # matrix; row (i, j) holds the kernel at columns (i+a)*4 + (j+b).
        w = np.arange(1.0, 10.0).reshape(3, 3)
        M = conv_matrix(w, (4, 4)).toarray()
        a, b, c, d, e, f, g, h, i = range(1, 10)
        expected = np.array([
            [a, b, c, 0, d, e, f, 0, g, h, i, 0, 0, 0, 0, 0],
            [0, a, b, c, 0, d, e, f, 0, g, h, i, 0, 0, 0, 0],
            [0, 0, 0, 0, a, b, c, 0, d, e, f, 0, g, h, i, 0],
            [0, 0, 0, 0, 0, a, b, c, 0, d, e, f, 0, g, h, i],
        ], dtype=float)
        assert M.shape == (4, 16)
        assert np.array_equal(M, expected)
        assert all((row != 0).sum() == 9 for row in M)


class TestSymbolic:
    def test_replicate_folds_sums(self):
        w = kernel_symbols((3,))
        M = conv_matrix(w, (3,), padding=1, padding_mode="replicate")
        w0, w1, w2 = w
        expected = sympy.Matrix([[w0 + w1, w2, 0], [w0, w1, w2], [0, w0, w1 + w2]])
        assert (M - expected).expand() == sympy.zeros(3, 3)

    def test_substitution_equals_numeric(self, rng):
        w = kernel_symbols((2, 1, 3, 2))
        kw = dict(padding=((1, 2), (0, 1)), padding_mode="reflect", stride=(1, 2))
        S = conv_matrix(w, (1, 5, 4), **kw)
        values = rng.integers(-5, 6, size=w.shape)
        subs = {s: int(v) for s, v in zip(w.ravel(), values.ravel())}
        numeric = conv_matrix(values.astype(float), (1, 5, 4), **kw).toarray()
        assert np.array_equal(np.array(S.subs(subs), dtype=float), numeric)

    def test_reflect_folds_sums(self):
        # n = 3, k = 3, pad 1, reflect: the padded input is x1 x0 x1 x2 x1, so
        # output 0 reads x1 through w0 and w2, and output 2 reads x1 through w0 and w2.
        w = kernel_symbols((3,))
        M = conv_matrix(w, (3,), padding=1, padding_mode="reflect")
        w0, w1, w2 = w
        expected = sympy.Matrix([[w1, w0 + w2, 0], [w0, w1, w2], [0, w0 + w2, w1]])
        assert (M - expected).expand() == sympy.zeros(3, 3)

    def test_circular_folds_when_the_kernel_wraps_twice(self):
        # n = 2, k = 3, pad 1, circular: padded x1 x0 x1 x0; each output reads
        # one input through two weights.
        w = kernel_symbols((3,))
        M = conv_matrix(w, (2,), padding=1, padding_mode="circular")
        w0, w1, w2 = w
        expected = sympy.Matrix([[w1, w0 + w2], [w0 + w2, w1]])
        assert (M - expected).expand() == sympy.zeros(2, 2)

    def test_replicate_corner_is_a_sum_of_four_weights(self):
        w = kernel_symbols((3, 3))
        M = conv_matrix(w, (4, 4), padding=1, padding_mode="replicate")
        # Output (0, 0) reads x[0, 0] through the top-left 2x2 block of the kernel.
        assert sympy.expand(M[0, 0] - (w[0, 0] + w[0, 1] + w[1, 0] + w[1, 1])) == 0
        assert sympy.expand(M[0, 1] - (w[0, 2] + w[1, 2])) == 0
        assert sympy.expand(M[0, 4] - (w[2, 0] + w[2, 1])) == 0
        assert M[0, 2] == 0

    @pytest.mark.parametrize("mode", ["zeros", "circular", "reflect", "replicate"])
    def test_substitution_equals_numeric_every_mode(self, rng, mode):
        w = kernel_symbols((4, 1, 2, 3))
        kw = dict(padding=((1, 0), (2, 1)), padding_mode=mode, groups=2, flip=True, dilation=(1, 2))
        S = conv_matrix(w, (2, 3, 5), **kw)
        values = rng.integers(-5, 6, size=w.shape)
        numeric = conv_matrix(values.astype(float), (2, 3, 5), **kw).toarray()
        subs = {s: int(v) for s, v in zip(w.ravel(), values.ravel())}
        assert np.array_equal(np.array(S.subs(subs), dtype=float), numeric)
        # Same pattern: a structural entry for every tap, symbolic or not.
        assert S.nnz() == conv_matrix(np.ones(w.shape), (2, 3, 5), **kw).nnz

    def test_floats_refused(self):
        with pytest.raises(TypeError, match=r"symbolic weight must be exact, got the float 0.5 at index \(1,\)"):
            conv_matrix(np.array([sympy.Symbol("a"), 0.5], dtype=object), (4,))


class TestBudget:
    def test_refuses_with_advice(self):
        with pytest.raises(ValueError, match=r"conv_matrix of a .* matrix would need about .* MiB, over max_bytes=1,000 \(1,000 bytes\); use conv_operator"):
            conv_matrix(np.ones((3, 3)), (64, 64), max_bytes=1000)

    def test_default_budget_refuses_an_imagenet_layer_before_allocating(self):
        # 64->64, 3x3 on 224x224 is 1.8 G nonzeros (~21 GiB): refused at once,
        # naming the size and the way out, having allocated next to nothing.
        with traced_peak() as peak:
            with pytest.raises(ValueError, match=(
                    r"conv_matrix of a 3,211,264 x 3,211,264 matrix would need about 22.7 GiB, "
                    r"over max_bytes=2,147,483,648 \(2.0 GiB\); use conv_operator\(\.\.\.\) for a "
                    r"matrix-free operator, or pass a larger max_bytes")):
                conv_matrix(np.ones((64, 64, 3, 3)), (64, 224, 224), padding=1)
        assert peak.bytes < 50 * 2**20

    def test_budget_is_the_documented_default_and_can_be_raised(self):
        from convtheory import DEFAULT_MAX_BYTES, ConvSpec, estimate_matrix_bytes

        assert DEFAULT_MAX_BYTES == 2 * 1024**3
        spec = ConvSpec((3, 3), (64, 64))
        needed = estimate_matrix_bytes(spec)
        with pytest.raises(ValueError, match="over max_bytes"):
            conv_matrix(np.ones((3, 3)), (64, 64), max_bytes=needed - 1)
        assert conv_matrix(np.ones((3, 3)), (64, 64), max_bytes=needed).shape == (62 * 62, 64 * 64)

    @pytest.mark.parametrize("weight_shape, input_shape, kw", [
        ((1, 1, 3, 3), (1, 200, 200), dict(padding=1)),
        ((8, 4, 3, 3), (4, 64, 64), dict(padding=1)),
        ((4, 4, 5, 5), (4, 40, 40), dict(padding=2, padding_mode="reflect")),
        ((2, 2, 3, 3, 3), (2, 16, 16, 16), dict(padding=1)),
        ((1, 1, 7), (1, 40000), dict(padding=3, padding_mode="replicate")),
    ])
    def test_estimate_bounds_the_peak_of_a_cold_build(self, weight_shape, input_shape, kw):
        # The refusal is only honest if the estimate is an upper bound on what
        # a first build (taps not yet cached) really allocates.
        from convtheory import ConvSpec, estimate_matrix_bytes, matrices, taps

        spec = ConvSpec(weight_shape, input_shape, **kw)
        for cached in (taps.spatial_taps, taps.channel_layout, matrices._row_runs):
            cached.cache_clear()
        w = np.ones(weight_shape)
        with traced_peak() as peak:
            M = conv_matrix(w, input_shape, **kw)
        own = M.data.nbytes + M.indices.nbytes + M.indptr.nbytes
        estimate = estimate_matrix_bytes(spec)
        assert own <= peak.bytes <= estimate
        assert estimate < 16 * own  # an upper bound, not a refusal of everything

    def test_max_bytes_kind(self):
        with pytest.raises(TypeError, match=r"max_bytes must be an integer, got 1.5 of type float"):
            conv_matrix(np.ones(3), (5,), max_bytes=1.5)

    @pytest.mark.parametrize("max_bytes", [-1, 0])
    def test_max_bytes_not_positive(self, max_bytes):
        with pytest.raises(ValueError, match=rf"max_bytes must be >= 1, got max_bytes={max_bytes}$"):
            conv_matrix(np.ones(3), (5,), max_bytes=max_bytes)


class TestWeights:
    def test_non_finite(self):
        with pytest.raises(ValueError, match=r"weight must be finite, got nan at index \(1,\)"):
            conv_matrix(np.array([1.0, np.nan]), (4,))

    def test_bool(self):
        with pytest.raises(TypeError, match=r"weight must be a numeric or sympy array, got dtype bool"):
            conv_matrix(np.array([True, False]), (4,))


class TestCsrBuildPaths:
    """The CSR values are written by runs of identical rows on large matrices
    and by a gather on small ones; both must give the matrix the taps define."""

    @pytest.mark.parametrize("threshold", [1, 10**18])
    @pytest.mark.parametrize("weight_shape, input_shape, kw", [
        ((4, 3, 3, 3), (3, 9, 8), dict(padding=1)),
        ((4, 2, 2, 3), (4, 9, 7), dict(padding=((1, 0), (2, 1)), stride=(2, 1), groups=2)),
        ((3, 1, 5), (1, 17), dict(padding="same", dilation=2, flip=True)),
        ((2, 2, 2, 3, 2), (2, 5, 6, 4), dict(padding="full")),
        ((2, 1, 3, 3), (1, 6, 6), dict(padding=1, padding_mode="reflect")),  # folded taps
        ((3, 2, 3, 2), (2, 7, 6), dict(padding=((2, 1), (1, 1)), padding_mode="replicate",
                                       stride=(1, 2))),
        ((2, 1, 3, 3), (1, 6, 6), dict(padding=2, padding_mode="circular")),
        ((1, 1, 2), (1, 3), dict(padding=4)),  # rows with every tap in the padding
        ((3, 2, 2), (2, 1), dict(padding=2, dilation=3)),  # no tap reaches the input
    ])
    def test_equals_taps(self, monkeypatch, rng, threshold, weight_shape, input_shape, kw):
        from convtheory import ConvSpec, conv_taps, matrices

        monkeypatch.setattr(matrices, "_ENTRIES_PER_RUN_CALL", threshold)
        w = rng.standard_normal(weight_shape)
        M = conv_matrix(w, input_shape, **kw)
        taps = conv_taps(ConvSpec(weight_shape, input_shape, **kw))
        dense = np.zeros(M.shape)
        np.add.at(dense, (taps.rows, taps.cols), w.ravel()[taps.kernel])
        np.testing.assert_array_equal(M.toarray(), dense)
        assert M.has_canonical_format and M.nnz == len(np.unique(taps.rows * M.shape[1] + taps.cols))

    def test_int32_indices(self):
        M = conv_matrix(np.ones((2, 3, 3, 3)), (3, 16, 16), padding=1)
        assert M.indices.dtype == np.int32 and M.indptr.dtype == np.int32


class TestPaddingBeyondTheInput:
    """PyTorch refuses circular padding larger than the input; here it wraps
    on, as numpy.pad(mode="wrap") does.  Replicate has no limit in either."""

    @pytest.mark.parametrize("mode, numpy_mode", [("circular", "wrap"), ("replicate", "edge")])
    def test_equals_numpy_pad_then_valid(self, rng, mode, numpy_mode):
        from scipy.signal import correlate

        w, x = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
        pads = ((5, 2), (4, 7))
        M = conv_matrix(w, x.shape, padding=pads, padding_mode=mode)
        expected = correlate(np.pad(x, pads, mode=numpy_mode), w, mode="valid")
        np.testing.assert_allclose(M @ x.ravel(), expected.ravel(), rtol=0, atol=1e-12)
