import numpy as np
import pytest
import sympy

from convtheory import conv_matrix, kernel_symbols


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

    def test_floats_refused(self):
        with pytest.raises(TypeError, match=r"symbolic weight must be exact, got the float 0.5 at index \(1,\)"):
            conv_matrix(np.array([sympy.Symbol("a"), 0.5], dtype=object), (4,))


class TestBudget:
    def test_refuses_with_advice(self):
        with pytest.raises(ValueError, match=r"conv_matrix would need about .* MiB .* over max_bytes=1,000; use conv_operator"):
            conv_matrix(np.ones((3, 3)), (64, 64), max_bytes=1000)


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
        ((2, 1, 3, 3), (1, 6, 6), dict(padding=1, padding_mode="reflect")),  # folded: no runs
        ((2, 1, 3, 3), (1, 6, 6), dict(padding=2, padding_mode="circular")),
        ((1, 1, 2), (1, 3), dict(padding=4)),  # rows with every tap in the padding
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
