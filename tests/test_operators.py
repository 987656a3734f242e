"""conv_operator and dot_test without PyTorch: equality with conv_matrix, errors,
and a dot test that fails when the adjoint is wrong.  (The PyTorch comparison
over random geometries is in test_reference_torch.py.)"""

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator

from convtheory import ConvSpec, conv_matrix, conv_operator, dot_test, estimate_operator_bytes, kernel_symbols

from .conftest import traced_peak

ATOL = 1e-11  # float64 sums of <= 100 O(1) products


class TestEqualsConvMatrix:
    @pytest.mark.parametrize("method", ["direct", "fft", "auto"])
    @pytest.mark.parametrize("weight_shape, input_shape, kw", [
        ((4, 3, 3, 3), (3, 8, 8), dict(padding=1, padding_mode="circular")),
        ((4, 2, 4, 2), (4, 7, 6), dict(padding="same", padding_mode="circular", groups=2)),
        ((3, 2, 5), (2, 11), dict(padding="same", padding_mode="circular", dilation=2, flip=True)),
        ((2, 1, 3, 3, 3), (1, 5, 4, 6), dict(padding=1, padding_mode="circular")),
    ])
    def test_circular(self, rng, method, weight_shape, input_shape, kw):
        w = rng.standard_normal(weight_shape)
        A = conv_operator(w, input_shape, method=method, **kw)
        M = conv_matrix(w, input_shape, **kw)
        X = rng.standard_normal((M.shape[1], 2))
        Y = rng.standard_normal((M.shape[0], 2))
        np.testing.assert_allclose(A @ X, M @ X, rtol=0, atol=ATOL)
        np.testing.assert_allclose(A.H @ Y, M.T @ Y, rtol=0, atol=ATOL)
        assert dot_test(A)

    @pytest.mark.parametrize("weight_shape, input_shape, kw", [
        ((4, 3, 3, 3), (3, 9, 8), dict(padding=((1, 0), (2, 1)), stride=(2, 1))),
        ((6, 1, 3), (3, 10), dict(groups=3, padding_mode="reflect", padding=2, dilation=2)),
        ((2, 2, 2, 2), (2, 5, 5), dict(padding="full", padding_mode="replicate", flip=True)),
    ])
    def test_direct(self, rng, weight_shape, input_shape, kw):
        w = rng.standard_normal(weight_shape)
        A = conv_operator(w, input_shape, **kw)
        M = conv_matrix(w, input_shape, **kw)
        x, y = rng.standard_normal(M.shape[1]), rng.standard_normal(M.shape[0])
        assert A.method == "direct" and A.shape == M.shape
        np.testing.assert_allclose(A.matvec(x), M @ x, rtol=0, atol=ATOL)
        np.testing.assert_allclose(A.rmatvec(y), M.T @ y, rtol=0, atol=ATOL)
        np.testing.assert_allclose(A.H.H @ x, M @ x, rtol=0, atol=ATOL)

    def test_auto_picks_fft_for_large_kernels_in_every_mode(self, rng):
        w = rng.standard_normal((8, 8, 7, 7))
        assert conv_operator(w, (8, 32, 32), padding=3, padding_mode="circular").method == "fft"
        assert conv_operator(w, (8, 32, 32), padding=3).method == "fft"
        small = rng.standard_normal((8, 8, 3, 3))
        assert conv_operator(small, (8, 32, 32), padding=1).method == "direct"
        assert conv_operator(w, (8, 32, 32), padding=3, padding_mode="circular",
                             stride=4).method == "direct"

    def test_repr(self):
        A = conv_operator(np.ones((2, 1, 3)), (1, 8))
        assert repr(A) == "<12x8 ConvOperator weight=(2, 1, 3) input=(1, 8) method='direct' dtype=float64>"


class TestErrors:
    @pytest.mark.parametrize("kw, exc, match", [
        (dict(method="dense"), ValueError,
         r"method must be one of \('auto', 'direct', 'fft', 'overlap_add'\), got method='dense'"),
        (dict(padding="same", stride=2), ValueError, r"padding='same' needs stride 1"),
        (dict(padding_mode="mirror"), ValueError, r"padding_mode must be one of"),
        (dict(strides=2), TypeError, r"unexpected keyword argument 'strides'"),
    ])
    def test_bad_arguments(self, kw, exc, match):
        with pytest.raises(exc, match=match):
            conv_operator(np.ones(3), (8,), **kw)

    def test_symbolic_weights(self):
        with pytest.raises(TypeError, match=r"conv_operator needs numeric weights; use conv_matrix"):
            conv_operator(kernel_symbols((3,)), (8,))

    def test_non_finite_weights(self):
        with pytest.raises(ValueError, match=r"weight must be finite, got inf at index \(0, 1\)"):
            conv_operator(np.array([[0.0, np.inf]]), (4, 4))

    def test_vector_of_the_wrong_size(self):
        A = conv_operator(np.ones(3), (8,))
        with pytest.raises(ValueError, match="dimension mismatch"):
            A @ np.ones(7)


class TestDotTest:
    def test_fails_on_a_wrong_adjoint(self, rng):
        w = rng.standard_normal((2, 2, 3, 3))
        A = conv_operator(w, (2, 6, 6), padding=1)
        # The adjoint of correlation is NOT correlation with the same kernel.
        wrong = LinearOperator(A.shape, matvec=A.matvec,
                               rmatvec=lambda y: conv_operator(w, (2, 6, 6), padding=1).matvec(y))
        verdict = dot_test(wrong)
        assert not verdict and verdict.counterexample is not None
        lhs, rhs = verdict.evidence["sides"][0]
        assert abs(lhs - rhs) > 1e-3 * abs(lhs)
        assert dot_test(A).evidence["max_relative_error"] < 1e-12

    def test_fails_on_a_transposed_but_unconjugated_complex_adjoint(self, rng):
        M = rng.standard_normal((4, 5)) + 1j * rng.standard_normal((4, 5))
        wrong = LinearOperator(M.shape, matvec=lambda x: M @ x, rmatvec=lambda y: M.T @ y,
                               dtype=complex)
        assert not dot_test(wrong)
        assert dot_test(M)

    def test_bad_n_samples(self):
        with pytest.raises(ValueError, match=r"n_samples must be >= 1, got n_samples=0"):
            dot_test(np.eye(2), n_samples=0)


class TestComplexWeights:
    """The adjoint conjugates the weights: a lost ``conj`` (direct or FFT), or a
    kernel transform that is only right for real kernels, fails here."""

    @pytest.mark.parametrize("method, weight_shape, kw", [
        ("direct", (4, 4, 3, 2), dict(padding=1, stride=(2, 1))),
        ("direct", (4, 2, 3, 2), dict(padding="same", padding_mode="reflect", groups=2)),
        ("fft", (4, 2, 3, 2), dict(padding="same", padding_mode="circular", groups=2)),
        ("fft", (4, 4, 3, 2), dict(padding="same", padding_mode="circular", flip=True)),
    ])
    def test_equals_conv_matrix_and_its_conjugate_transpose(self, rng, method, weight_shape, kw):
        w = rng.standard_normal(weight_shape) + 1j * rng.standard_normal(weight_shape)
        A = conv_operator(w, (4, 6, 5), method=method, **kw)
        M = conv_matrix(w, (4, 6, 5), **kw)
        m, n = M.shape
        X = rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2))
        Y = rng.standard_normal((m, 2)) + 1j * rng.standard_normal((m, 2))
        np.testing.assert_allclose(A @ X, M @ X, rtol=0, atol=ATOL)
        np.testing.assert_allclose(A.H @ Y, M.conj().T @ Y, rtol=0, atol=ATOL)
        # A real input through a complex operator (the real-FFT shortcut must not apply).
        np.testing.assert_allclose(A @ X.real, M @ X.real, rtol=0, atol=ATOL)
        assert dot_test(A)


class TestBudget:
    def test_refuses_a_huge_operator_before_allocating(self):
        w = np.ones((64, 64, 3, 3))
        with pytest.raises(ValueError, match=r"conv_operator\(method='direct'\) with weight \(64, 64, 3, 3\) "
                           r"on input \(64, 100000, 10000\) would need about 9.3 TiB, "
                           r"over max_bytes=2,147,483,648 \(2.0 GiB\); use a smaller input"):
            conv_operator(w, (64, 10**5, 10**4), padding=1)

    def test_max_bytes_is_the_estimate(self):
        w = np.ones((4, 3, 3, 3))
        spec = ConvSpec(w.shape, (3, 16, 16), padding=1)
        needed = estimate_operator_bytes(spec)
        assert needed == 8 * (2 * 3 * 9 * 256 + 3 * 256 + 4 * 256)  # two im2col buffers, x and y
        conv_operator(w, (3, 16, 16), padding=1, max_bytes=needed)
        with pytest.raises(ValueError, match=r"over max_bytes=" + f"{needed - 1:,}"):
            conv_operator(w, (3, 16, 16), padding=1, max_bytes=needed - 1)

    def test_fft_estimate_counts_the_kernel_transform(self):
        spec = ConvSpec((8, 8, 3, 3), (8, 32, 32), padding=1, padding_mode="circular")
        # 64 channel pairs, each a 32x32 real embedding and two complex copies of its transform.
        assert estimate_operator_bytes(spec, "fft") >= 64 * 1024 * (8 + 2 * 16)
        with pytest.raises(ValueError, match=r"conv_operator\(method='fft'\) with weight .* would need about 3.2 MiB"):
            conv_operator(np.ones((8, 8, 3, 3)), (8, 32, 32), padding=1, padding_mode="circular",
                          method="fft", max_bytes=10**5)

    @pytest.mark.parametrize("weight_shape, input_shape", [((101,), (20000,)),
                                                            ((2, 3, 15, 15), (3, 300, 200))])
    def test_overlap_add_estimate_bounds_its_peak(self, weight_shape, input_shape):
        rng = np.random.default_rng(31)
        w = rng.standard_normal(weight_shape)
        spec = ConvSpec(weight_shape, input_shape, padding="same")
        x = rng.standard_normal(spec.matrix_shape[1])
        y = rng.standard_normal(spec.matrix_shape[0])
        A = conv_operator(w, input_shape, padding="same", method="overlap_add")
        # the applications (the spec's tap tables are not the operator's)
        with traced_peak() as peak:
            A @ x, A.H @ y
        assert peak.bytes <= estimate_operator_bytes(spec, "overlap_add")

    def test_a_matmat_too_wide_for_the_budget(self):
        A = conv_operator(np.ones((1, 1, 3)), (1, 100), max_bytes=10**4)
        assert A.matvec(np.ones(100)).shape == (98,)
        with pytest.raises(ValueError, match=r"process the batch in smaller chunks"):
            A @ np.ones((100, 50))

    @pytest.mark.parametrize("max_bytes, exc, match", [
        (-1, ValueError, r"max_bytes must be >= 1, got max_bytes=-1$"),
        (0, ValueError, r"max_bytes must be >= 1, got max_bytes=0$"),
        (1.5e9, TypeError, r"max_bytes must be an integer, got 1500000000.0 of type float"),
        (True, TypeError, r"max_bytes must be an integer, got True of type bool"),
    ])
    def test_bad_max_bytes(self, max_bytes, exc, match):
        with pytest.raises(exc, match=match):
            conv_operator(np.ones(3), (8,), max_bytes=max_bytes)

    @pytest.mark.parametrize("method", ["auto", "dense"])
    def test_estimate_bad_method(self, method):
        match = rf"method must be one of \('direct', 'fft', 'overlap_add'\), got method='{method}'"
        with pytest.raises(ValueError, match=match):
            estimate_operator_bytes(ConvSpec((3,), (8,)), method)


class TestDotTestArguments:
    def test_numpy_integer_n_samples(self):
        v = dot_test(np.eye(3), n_samples=np.int64(3))
        assert v and "3 random (x, y) pairs" in v.scope

    def test_array_like(self):
        assert dot_test([[1.0, 2.0], [3.0, 4.0]])

    @pytest.mark.parametrize("op, match", [
        ("A", r"op must be a LinearOperator, a sparse array or a 2-D numeric array, got str$"),
        (np.ones(3), r"got ndarray of dtype float64 and shape \(3,\)"),
        (np.array([["a", "b"]]), r"got ndarray of dtype <U1 and shape \(1, 2\)"),
        (None, r"got NoneType of dtype object and shape \(\)"),
    ])
    def test_not_an_operator(self, op, match):
        with pytest.raises(TypeError, match=match):
            dot_test(op)

    @pytest.mark.parametrize("n_samples", [2.0, "3", True])
    def test_n_samples_of_the_wrong_kind(self, n_samples):
        with pytest.raises(TypeError, match=rf"n_samples must be an integer, got {n_samples!r} of type"):
            dot_test(np.eye(2), n_samples=n_samples)


class TestSharedBuffer:
    def test_threads_and_pickle(self, rng):
        # The direct path reuses one im2col buffer: concurrent calls must not mix inputs.
        import pickle
        from concurrent.futures import ThreadPoolExecutor

        w = rng.standard_normal((16, 8, 3, 3))
        A = conv_operator(w, (8, 64, 64), padding=1)
        M = conv_matrix(w, (8, 64, 64), padding=1)
        xs = rng.standard_normal((24, M.shape[1]))
        with ThreadPoolExecutor(4) as pool:
            ys = list(pool.map(A.matvec, xs))
        for x, y in zip(xs, ys):
            np.testing.assert_allclose(y, M @ x, rtol=0, atol=1e-10)
        B = pickle.loads(pickle.dumps(A))
        np.testing.assert_allclose(B @ xs[0], M @ xs[0], rtol=0, atol=1e-10)
        np.testing.assert_allclose(B.H @ ys[0], M.T @ ys[0], rtol=0, atol=1e-10)

    def test_the_direct_path_is_built_once_when_two_threads_first_need_it(self, rng, monkeypatch):
        # An FFT operator builds its direct path on the first non-finite input.  Two threads
        # arriving together each built one and replaced the other's lock: two buffers (twice
        # the budget), and a window in which both threads gathered into one of them.
        import threading
        import time

        import convtheory.operators as operators

        built = []

        class SlowIm2col(operators.Im2col):
            def __init__(self, *args, **kwargs):
                built.append(self)
                time.sleep(0.05)  # both threads are past the check before either is done
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(operators, "Im2col", SlowIm2col)
        w = rng.standard_normal((4, 4, 3, 3))
        M = conv_matrix(w, (4, 10, 10), padding=1)
        A = conv_operator(w, (4, 10, 10), padding=1, method="fft")
        xs = rng.standard_normal((2, M.shape[1]))
        xs[:, 0] = np.nan
        barrier, ys = threading.Barrier(2), [None, None]

        def apply(i):
            barrier.wait()
            ys[i] = A @ xs[i]

        threads = [threading.Thread(target=apply, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(built) == 1
        for x, y in zip(xs, ys):
            want = M @ x
            np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
            np.testing.assert_allclose(y[~np.isnan(y)], want[~np.isnan(want)], rtol=0, atol=1e-12)


class TestColumnsBudget:
    """A product on an FFT path holds the spectra of all its columns: checked, as im2col is."""

    def test_the_fft_adjoint_of_many_columns_is_refused_before_allocating(self, rng):
        # method="auto" sends this adjoint to the FFT; 100 columns took 121 MiB under a
        # budget of 23.5 MiB that refused the forward product of the same columns.
        w = rng.standard_normal((8, 8, 7, 7))
        spec = ConvSpec(w.shape, (8, 64, 64), padding=3, stride=2)
        budget = estimate_operator_bytes(spec, "direct") + estimate_operator_bytes(spec, "fft")
        A = conv_operator(w, (8, 64, 64), padding=3, stride=2, max_bytes=budget)
        assert (A.method, A.adjoint_method) == ("direct", "fft")
        Y = rng.standard_normal((A.shape[0], 100))
        with pytest.raises(ValueError, match=r"the adjoint product on the 'fft' path of 100 "
                                             r"columns \(weight \(8, 8, 7, 7\), input "
                                             r"\(8, 64, 64\)\) would need about .* MiB, over "
                                             r"max_bytes=24,657,920 \(23.5 MiB\); apply it to "
                                             r"fewer columns at a time"):
            A.H @ Y
        M = conv_matrix(w, (8, 64, 64), padding=3, stride=2)
        np.testing.assert_allclose(A.H @ Y[:, :2], M.T @ Y[:, :2], rtol=0,
                                   atol=1e-12 * np.abs(M.T @ Y[:, :2]).max())

    @pytest.mark.parametrize("method", ["fft", "overlap_add"])
    def test_every_fft_path_checks_its_columns(self, rng, method):
        w = rng.standard_normal((2, 2, 5))
        spec = ConvSpec(w.shape, (2, 300), padding=2)
        A = conv_operator(w, (2, 300), padding=2, method=method,
                          max_bytes=estimate_operator_bytes(spec, method))
        with pytest.raises(ValueError, match=rf"the forward product on the '{method}' path of "
                                             r"50 columns"):
            A @ rng.standard_normal((A.shape[1], 50))
        A @ rng.standard_normal(A.shape[1])  # one column fits: the budget counted it
