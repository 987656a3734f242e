"""Every path that conv_operator's cost model can choose agrees with conv_matrix.

The paths: ``direct`` as im2col + GEMM, ``direct`` as shift-and-add (one
channel pair per group: single channel and depthwise), ``fft`` of the input's
size (circular, stride 1, same size), ``fft`` of the padded input (every
other geometry) and ``overlap_add`` (short FFTs over blocks of the padded
input, segments overlapping by the kernel's extent).  Each is compared with the explicit matrix, forward and
adjoint, for every boundary mode, stride and dilation, to 1e-12 relative
(float64 sums of at most a few hundred O(1) products, and FFTs of at most a
few hundred points, round to ~1e-15 relative; 1e-12 leaves room and still
catches any wrong tap, which is an O(1) error).
"""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


from convtheory import ConvSpec, conv_matrix, conv_operator
from convtheory.fftconv import FFTConv
from convtheory.operators import ConvOperator, estimate_operator_bytes
from convtheory.weights import conv_arguments
from convtheory.geometry import padded_source_indices
from convtheory.operators import _fft_eligible, method_costs
from convtheory.overlap_add import OverlapAddConv
from convtheory.padded import Padder

RTOL = 1e-12
MODES = ("zeros", "circular", "reflect", "replicate", "symmetric")


def _path(op) -> str:
    w = op._w
    if op.method == "direct":
        return "shift-add" if w.shape[1] == w.shape[2] == 1 else "gemm"
    if op.method == "overlap_add":
        return "overlap-add"
    return "fft-padded" if isinstance(op._paths["fft"], FFTConv) else "fft-wrap"


def _assert_matches(w, input_shape, method, rng, **kw):
    M = conv_matrix(w, input_shape, **kw)
    A = conv_operator(w, input_shape, method=method, **kw)
    complex_ = np.iscomplexobj(w)
    X = rng.standard_normal((M.shape[1], 2)) + (1j * rng.standard_normal((M.shape[1], 2)) if complex_ else 0)
    Y = rng.standard_normal((M.shape[0], 2)) + (1j * rng.standard_normal((M.shape[0], 2)) if complex_ else 0)
    for got, want in ((A @ X, M @ X), (A.H @ Y, M.conj().T @ Y),
                      (A @ X[:, 0], M @ X[:, 0]), (A.H @ Y[:, 0], M.conj().T @ Y[:, 0])):
        scale = np.abs(want).max()
        assert scale > 0
        err = np.abs(got - want).max() / scale
        assert err <= RTOL, (method, kw, err)
    # The adjoint called after the forward and the forward after the adjoint: the
    # direct path reuses one buffer for both.
    np.testing.assert_allclose(A @ X, M @ X, rtol=0, atol=RTOL * np.abs(M @ X).max())
    return A


GEOMETRIES = [
    # (weight_shape, input_shape, kwargs)
    ((3, 2, 3, 2), (2, 9, 8), dict(padding=1)),
    ((3, 2, 3, 3), (2, 9, 8), dict(padding=2, stride=2)),
    ((3, 2, 3, 2), (2, 9, 8), dict(padding=(2, 1), dilation=2)),
    ((2, 2, 2, 3), (2, 7, 9), dict(padding=((0, 2), (1, 0)), stride=(1, 3), dilation=(2, 1))),
    ((4, 1, 3, 3), (2, 8, 8), dict(padding="same", groups=2)),
    ((2, 1, 3, 3), (2, 8, 8), dict(padding=1, groups=2)),  # depthwise: shift-and-add
    ((1, 1, 5, 5), (1, 9, 9), dict(padding=2, stride=2, flip=True)),  # single channel
    ((1, 1, 3, 3), (1, 8, 8), dict(padding="same")),  # circular same: the wrapped FFT
    ((2, 3, 3), (3, 12), dict(padding=3, dilation=3)),
    ((2, 1, 3, 2, 2), (1, 5, 4, 6), dict(padding=1, stride=(1, 2, 1))),
]


class TestEveryPath:
    @pytest.mark.parametrize("method", ["direct", "fft", "overlap_add", "auto"])
    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("weight_shape, input_shape, kw", GEOMETRIES)
    def test_forward_and_adjoint(self, rng, method, mode, weight_shape, input_shape, kw):
        w = rng.standard_normal(weight_shape)
        try:
            ConvSpec(weight_shape, input_shape, padding_mode=mode, **kw)
        except ValueError as err:  # reflect padding as large as the input: PyTorch refuses too
            assert mode == "reflect" and "reflect padding must be smaller" in str(err)
            return
        _assert_matches(w, input_shape, method, rng, padding_mode=mode, **kw)

    @pytest.mark.parametrize("method", ["direct", "fft", "overlap_add"])
    @pytest.mark.parametrize("mode", MODES)
    def test_complex_weights(self, rng, method, mode):
        w = rng.standard_normal((2, 2, 3, 3)) + 1j * rng.standard_normal((2, 2, 3, 3))
        _assert_matches(w, (2, 7, 6), method, rng, padding=2, stride=2, padding_mode=mode)
        d = rng.standard_normal((2, 1, 3)) + 1j * rng.standard_normal((2, 1, 3))
        _assert_matches(d, (2, 9), method, rng, padding=1, groups=2, padding_mode=mode)

    def test_every_path_is_exercised(self, rng):
        seen = set()
        for weight_shape, input_shape, kw in GEOMETRIES:
            for method in ("direct", "fft", "overlap_add"):
                for mode in MODES:
                    try:
                        op = conv_operator(np.ones(weight_shape), input_shape, method=method,
                                           padding_mode=mode, **kw)
                    except ValueError:
                        continue
                    seen.add(_path(op))
        assert seen == {"gemm", "shift-add", "fft-wrap", "fft-padded", "overlap-add"}

    @settings(max_examples=60, deadline=None)
    @given(data=st.data())
    def test_random_geometries(self, data):
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
        ndim = data.draw(st.integers(1, 2))
        groups = data.draw(st.sampled_from([1, 2]))
        c_in = groups * data.draw(st.integers(1, 2))
        c_out = groups * data.draw(st.integers(1, 2))
        k = tuple(data.draw(st.integers(1, 4)) for _ in range(ndim))
        n = tuple(data.draw(st.integers(3, 9)) for _ in range(ndim))
        stride = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
        dilation = tuple(data.draw(st.integers(1, 2)) for _ in range(ndim))
        pad = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in range(ndim))
        mode = data.draw(st.sampled_from(MODES))
        flip = data.draw(st.booleans())
        method = data.draw(st.sampled_from(["direct", "fft", "overlap_add", "auto"]))
        kw = dict(stride=stride, dilation=dilation, padding=pad, groups=groups,
                  padding_mode=mode, flip=flip)
        try:
            ConvSpec((c_out, c_in // groups) + k, (c_in,) + n, **kw)
        except ValueError:
            return  # kernel larger than the padded input, or reflect pad >= input
        w = rng.standard_normal((c_out, c_in // groups) + k)
        _assert_matches(w, (c_in,) + n, method, rng, **kw)


class TestAdjointPath:
    """The adjoint may take another path than the forward; every pairing is the matrix."""

    @pytest.mark.parametrize("forward, adjoint", [
        (f, a) for f in ("direct", "fft", "overlap_add") for a in ("direct", "fft", "overlap_add")
        if f != a])
    @pytest.mark.parametrize("weight_shape, input_shape, kw", GEOMETRIES)
    def test_every_pairing_is_the_matrix(self, rng, forward, adjoint, weight_shape,
                                          input_shape, kw):
        w = rng.standard_normal(weight_shape)
        mode = "reflect" if kw.get("padding") == 1 else "zeros"
        M = conv_matrix(w, input_shape, padding_mode=mode, **kw)
        taps, spec = conv_arguments(w, input_shape, padding_mode=mode, **kw)
        A = ConvOperator(taps, spec, forward, adjoint_method=adjoint)
        assert (A.method, A.adjoint_method) == (forward, adjoint)
        x, y = rng.standard_normal(M.shape[1]), rng.standard_normal(M.shape[0])
        for got, want in ((A @ x, M @ x), (A.H @ y, M.T @ y), (A.rmatvec(y), M.T @ y),
                          (A.H.H @ x, M @ x)):
            assert np.abs(got - want).max() <= RTOL * np.abs(want).max()

    def test_auto_sends_the_strided_adjoint_to_the_fft(self, rng):
        w = rng.standard_normal((8, 8, 7, 7))
        A = _assert_matches(w, (8, 64, 64), "auto", rng, padding=3, stride=2)
        assert (A.method, A.adjoint_method) == ("direct", "fft")
        assert "adjoint_method='fft'" in repr(A)
        B = pickle.loads(pickle.dumps(A))
        y = rng.standard_normal(A.shape[0])
        np.testing.assert_array_equal(B.H @ y, A.H @ y)

    def test_auto_takes_a_path_within_the_budget(self, rng):
        # The cheapest path by time (im2col, 1.0 MiB) is over 800 kB; the FFT's (702 KiB)
        # and overlap-add's fit: auto refused, advising a smaller input, an operator that
        # method='fft' builds.
        w = rng.standard_normal((1, 1, 15))
        assert conv_operator(w, (1, 4096), padding=7).method == "direct"
        A = conv_operator(w, (1, 4096), padding=7, max_bytes=800_000)
        assert A.method in ("fft", "overlap_add") and A.adjoint_method in ("fft", "overlap_add")
        M = conv_matrix(w, (1, 4096), padding=7)
        x = rng.standard_normal(M.shape[1])
        assert np.abs(A @ x - M @ x).max() <= RTOL * np.abs(M @ x).max()
        # No path fits: refused with the least any path needs (the FFT's), not im2col's.
        with pytest.raises(ValueError, match=r"conv_operator\(method='fft'\) with weight "
                                             r"\(1, 1, 15\) on input \(1, 4096\) would need "
                                             r"about 701\.8 KiB, over max_bytes=500,000"):
            conv_operator(w, (1, 4096), padding=7, max_bytes=500_000)

    @pytest.mark.parametrize("dtype", [np.float32, np.complex64])
    def test_single_precision_weights_keep_one_path(self, rng, dtype):
        # The FFT paths hold the kernel's spectrum in the weight's precision (about 1e-7
        # relative in single precision), the direct path applies the weights themselves.
        # Split between them, A.H would be the adjoint of another operator than A, and
        # float64 vectors would see it: the dot test fails at 1.6e-7.
        w = rng.standard_normal((8, 8, 7, 7)).astype(dtype)
        A = conv_operator(w, (8, 64, 64), padding=3, stride=2)
        assert A.method == A.adjoint_method
        x, y = rng.standard_normal(A.shape[1]), rng.standard_normal(A.shape[0])
        lhs, rhs = np.vdot(y, A @ x), np.vdot(A.H @ y, x)
        assert abs(lhs - rhs) <= 1e-12 * abs(lhs)
        # float64 weights of the same geometry still take two paths.
        assert conv_operator(w.astype(np.complex128 if dtype == np.complex64 else np.float64),
                             (8, 64, 64), padding=3, stride=2).adjoint_method == "fft"

    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("method", ["direct", "fft", "overlap_add", "auto"])
    def test_infinities_reach_the_matrix_outputs_without_warnings(self, rng, mode, method):
        # pytest turns warnings into errors here: numpy's "invalid value" must not escape
        # where the matrix's own product is silent.  inf and -inf read through folded taps
        # may give NaN where the matrix's summed entry gives inf: non-finite either way.
        w = rng.standard_normal((2, 2, 3, 3))
        A = conv_operator(w, (2, 8, 8), padding=1, padding_mode=mode, method=method)
        M = conv_matrix(w, (2, 8, 8), padding=1, padding_mode=mode)
        for _ in range(10):
            x = rng.standard_normal(M.shape[1])
            x[rng.choice(M.shape[1], 3, replace=False)] = [np.inf, -np.inf, np.nan]
            y = rng.standard_normal(M.shape[0])
            y[rng.choice(M.shape[0], 2, replace=False)] = [np.inf, -np.inf]
            np.testing.assert_array_equal(np.isfinite(A @ x), np.isfinite(M @ x))
            np.testing.assert_array_equal(np.isfinite(A.H @ y), np.isfinite(M.T @ y))
            keep = np.isfinite(M @ x)
            assert np.abs((A @ x)[keep] - (M @ x)[keep]).max() <= RTOL * np.abs(M @ x)[keep].max()

    def test_a_nan_on_an_fft_operator_over_the_direct_budget_says_why(self):
        A = conv_operator(np.ones((4, 4, 15, 15)), (4, 128, 128), padding="same",
                          max_bytes=2**25)
        assert A.method == "fft"
        x = np.ones(A.shape[1])
        x[7] = np.nan
        with pytest.raises(ValueError, match=r"this 'fft' operator applies an input on its direct "
                                             r"path when it holds NaN or inf .* over budget: im2col "
                                             r".* or pass a larger max_bytes, or replace the "
                                             r"non-finite values"):
            A @ x
        assert np.isfinite(A @ np.ones(A.shape[1])).all()  # a finite input stays on the FFT

    def test_a_nan_on_an_fft_adjoint_over_the_direct_budget_names_the_adjoint(self, rng):
        # auto: the forward is direct, the adjoint on the FFT; the adjoint's fallback was
        # called "this 'direct' operator", which never takes an FFT.
        A = conv_operator(rng.standard_normal((8, 8, 7, 7)), (8, 64, 64), padding=3, stride=2,
                          max_bytes=60_000_000)
        assert (A.method, A.adjoint_method) == ("direct", "fft")
        Y = np.ones((A.shape[0], 40))
        Y[3, 0] = np.nan
        with pytest.raises(ValueError, match=r"^this operator's 'fft' adjoint applies an input on "
                                             r"its direct path when it holds NaN or inf .* over "
                                             r"budget: im2col of a batch of 40 inputs"):
            A.H @ Y

    def test_two_paths_over_budget_share_one(self, rng):
        w = rng.standard_normal((8, 8, 7, 7))
        spec = ConvSpec(w.shape, (8, 64, 64), padding=3, stride=2)
        direct = estimate_operator_bytes(spec, "direct")
        A = conv_operator(w, (8, 64, 64), padding=3, stride=2, max_bytes=direct + 1)
        assert A.method == A.adjoint_method == "direct"

    @pytest.mark.parametrize("bad", ["fast", None, "auto"])
    def test_adjoint_method_is_checked(self, bad):
        spec = ConvSpec((1, 1, 3), (1, 8))
        if bad is None:  # None means: the forward's path
            assert ConvOperator(np.ones((1, 1, 3)), spec, "fft").adjoint_method == "fft"
            return
        with pytest.raises(ValueError, match=r"adjoint_method must be one of \('direct', "
                                             rf"'fft', 'overlap_add'\), got adjoint_method='{bad}'"):
            ConvOperator(np.ones((1, 1, 3)), spec, "fft", adjoint_method=bad)

    @pytest.mark.parametrize("bad", [1, np.nan, b"fft"])
    def test_a_method_that_is_not_a_string_is_a_type_error(self, bad):
        spec = ConvSpec((1, 1, 3), (1, 8))
        with pytest.raises(TypeError, match=r"adjoint_method must be a string, one of "
                                            r"\('direct', 'fft', 'overlap_add'\), got "):
            ConvOperator(np.ones((1, 1, 3)), spec, "fft", adjoint_method=bad)
        with pytest.raises(TypeError, match=r"method must be a string, one of \('auto', "):
            conv_operator(np.ones(3), (8,), method=bad)

    def test_forward_cost_is_not_the_adjoint_cost(self):
        strided = ConvSpec((8, 8, 7, 7), (8, 64, 64), padding=3, stride=2)
        f, a = method_costs(strided), method_costs(strided, adjoint=True)
        assert a["direct"] > f["direct"] and a["fft"] == f["fft"]


class TestCostModel:
    def test_large_kernel_same_is_fft_and_fits_the_default_budget(self):
        # 31x31 "same" on 512x512: im2col would need 3.8 GiB; the FFT needs none.
        A = conv_operator(np.ones((31, 31)), (512, 512), padding="same")
        assert A.method == "fft"

    def test_small_multichannel_kernel_is_direct(self):
        A = conv_operator(np.ones((16, 16, 3, 3)), (16, 32, 32), padding=1)
        assert A.method == "direct"

    @pytest.mark.parametrize("mode", MODES)
    def test_every_boundary_mode_can_go_fft(self, mode):
        A = conv_operator(np.ones((15, 15)), (128, 128), padding=7, padding_mode=mode)
        assert A.method == "fft"

    def test_circular_same_uses_the_wrapped_fft(self):
        spec = ConvSpec((5, 5), (64, 64), padding="same", padding_mode="circular")
        assert _fft_eligible(spec)
        costs = method_costs(spec)
        assert set(costs) == {"direct", "fft", "overlap_add"} and all(c > 0 for c in costs.values())

    @pytest.mark.parametrize("kw, error, match", [
        (dict(adjoint="no"), TypeError, r"adjoint must be True or False, got 'no' of type str"),
        (dict(adjoint=None), TypeError, r"adjoint must be True or False, got None"),
        (dict(batch=-3), ValueError, r"batch must be >= 1, got batch=-3"),
        (dict(batch=0), ValueError, r"batch must be >= 1, got batch=0"),
        (dict(batch=2.5), TypeError, r"batch must be an integer, got 2.5 of type float"),
    ])
    def test_bad_arguments_are_refused(self, kw, error, match):
        # A truthy string would have priced the adjoint; a negative batch, negative seconds.
        spec = ConvSpec((8, 8, 7, 7), (8, 64, 64), padding=3, stride=2)
        with pytest.raises(error, match=match):
            method_costs(spec, **kw)
        with pytest.raises(TypeError, match=r"spec must be a ConvSpec, got '3x3' of type str"):
            method_costs("3x3")

    def test_batch_scales_the_costs(self):
        spec = ConvSpec((3, 3), (256, 256), padding=1)
        one, ten = method_costs(spec), method_costs(spec, batch=10)
        assert all(ten[m] > 5 * one[m] for m in one)

    def test_long_signal_with_a_mid_sized_kernel_is_overlap_add(self):
        A = conv_operator(np.ones(101), (2**18,), padding="same")
        assert A.method == "overlap_add"

    def test_image_with_a_mid_sized_kernel_stays_on_the_full_fft(self):
        # Measured: in 2-D the full FFT beat overlap-add up to 4096^2 with 15x15.
        A = conv_operator(np.ones((15, 15)), (1024, 1024), padding="same")
        assert A.method == "fft"


class TestOverlapAdd:
    """Block sizes from the kernel's extent (one output per block) to past the input."""

    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("weight_shape, input_shape, kw", [
        ((2, 3, 5, 4), (3, 23, 19), dict(padding=2)),
        ((2, 2, 3, 3), (2, 25, 22), dict(padding=3, stride=2, dilation=2)),
        ((2, 1, 5), (2, 40), dict(padding=4, groups=2, stride=3)),
        ((1, 1, 3, 3, 3), (1, 12, 11, 13), dict(padding=1)),
        ((3, 2, 4, 3), (2, 21, 20), dict(padding=((0, 3), (2, 1)), stride=(2, 1),
                                         dilation=(1, 3), flip=True)),
    ])
    @pytest.mark.parametrize("extra", [0, 1, 6, 100])
    def test_every_block_size_matches_the_matrix(self, rng, mode, weight_shape, input_shape, kw,
                                                 extra):
        spec = ConvSpec(weight_shape, input_shape, padding_mode=mode, **kw)
        w = rng.standard_normal(weight_shape)
        extent = tuple((k - 1) * d + 1 for k, d in zip(spec.kernel_size, spec.dilation))
        oa = OverlapAddConv(spec, w.reshape(spec.groups, spec.out_channels_per_group,
                                            spec.in_channels_per_group, -1),
                            sizes=tuple(e + extra for e in extent))
        M = conv_matrix(w, spec)
        x = rng.standard_normal((2,) + spec.input_shape)
        y = rng.standard_normal((2,) + spec.output_shape)
        for got, want in ((oa.forward(x).reshape(2, -1), (M @ x.reshape(2, -1).T).T),
                          (oa.adjoint(y).reshape(2, -1), (M.T @ y.reshape(2, -1).T).T)):
            assert np.abs(got - want).max() <= RTOL * np.abs(want).max()

    def test_matches_scipy_oaconvolve(self, rng):
        from scipy.signal import oaconvolve
        w, x = rng.standard_normal(31), rng.standard_normal(5000)
        A = conv_operator(w, x.shape, padding=[(15, 15)], flip=True, method="overlap_add")
        want = oaconvolve(x, w, mode="same")
        assert np.abs(A @ x - want).max() <= RTOL * np.abs(want).max()

    def test_a_block_smaller_than_the_kernel_is_refused(self, rng):
        spec = ConvSpec((1, 1, 5), (1, 20))
        with pytest.raises(ValueError, match=r"sizes must be at least the kernel's extent \(5,\)"):
            OverlapAddConv(spec, np.ones((1, 1, 1, 5)), sizes=(4,))


class TestPadder:
    @pytest.mark.parametrize("mode, np_mode", [("zeros", "constant"), ("circular", "wrap"),
                                               ("reflect", "reflect"), ("replicate", "edge")])
    def test_matches_numpy_pad(self, rng, mode, np_mode):
        x = rng.standard_normal((2, 3, 5, 6))
        spec = ConvSpec((1, 3, 2, 2), (3, 5, 6), padding=((2, 1), (3, 4)), padding_mode=mode)
        got = Padder(spec).pad(x)
        want = np.pad(x, ((0, 0), (0, 0), (2, 1), (3, 4)), mode=np_mode)
        np.testing.assert_array_equal(got, want)

    @pytest.mark.parametrize("mode", MODES)
    def test_fold_is_the_adjoint_of_pad(self, rng, mode):
        pads = ((3, 2), (1, 4))  # reflect needs each pad below the input size
        spec = ConvSpec((1, 1, 3, 3), (1, 4, 6), padding=pads, padding_mode=mode)
        p = Padder(spec)
        x = rng.standard_normal((2, 1, 4, 6))
        z = rng.standard_normal((2, 1) + p.padded_spatial)
        assert np.isclose(np.vdot(p.pad(x), z), np.vdot(x, p.fold(z.copy())), rtol=1e-13)

    def test_source_indices_come_from_the_tap_table(self):
        np.testing.assert_array_equal(padded_source_indices(3, 2, 2, "circular"), [1, 2, 0, 1, 2, 0, 1])
        np.testing.assert_array_equal(padded_source_indices(3, 2, 1, "replicate"), [0, 0, 0, 1, 2, 2])
