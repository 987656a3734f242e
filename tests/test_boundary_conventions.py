"""Every boundary mode and padding rule against the library that defines it.

The references compute their own answers: numpy.pad extends the signal, and a
valid correlation is read with ``sliding_window_view`` (no index arithmetic of
ours); scipy.signal and scipy.ndimage filter the raw input with their own
boundary handling; ONNX's reference evaluator runs ``Pad`` and ``Conv`` with
``auto_pad``; PyTorch pads and convolves where it accepts the padding.
TensorFlow is not a test dependency: its ``SAME`` rule is checked by its
published formula and literal values from its documentation.
"""

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as signal
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from convtheory import (
    ConvGeometry,
    ConvSpec,
    axis_taps,
    conv_graph,
    conv_matrix,
    conv_operator,
    kernel_symbols,
    output_shape,
    resolve_padding,
)
from convtheory import nn as ctnn
from convtheory.im2col import im2col

ATOL = 1e-11  # sums of at most a few hundred O(1) products in float64
NUMPY_PAD = {"zeros": "constant", "circular": "wrap", "reflect": "reflect",
             "replicate": "edge", "symmetric": "symmetric"}
MODES = tuple(NUMPY_PAD)
SWEEP = settings(max_examples=60, deadline=None)


def numpy_reference(x, w, pads, mode, stride=None, dilation=None):
    """Pad with numpy.pad, then a valid strided, dilated correlation by sliding windows."""
    stride = stride or (1,) * x.ndim
    dilation = dilation or (1,) * x.ndim
    padded = np.pad(x, pads, mode=NUMPY_PAD[mode])
    extent = tuple(dd * (k - 1) + 1 for k, dd in zip(w.shape, dilation))
    windows = sliding_window_view(padded, extent)
    view = tuple(slice(None, None, s) for s in stride) + tuple(slice(None, None, dd) for dd in dilation)
    windows = windows[view]
    axes = tuple(range(x.ndim, 2 * x.ndim))
    return np.tensordot(windows, w, axes=(axes, tuple(range(w.ndim))))


# --------------------------------------------------------------------------
# numpy.pad, every mode, padding of any width
# --------------------------------------------------------------------------
@st.composite
def axis_geometry(draw, max_pad=12):
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 4))
    d = draw(st.integers(1, 3))
    s = draw(st.integers(1, 3))
    lo = draw(st.integers(0, max_pad))
    hi = draw(st.integers(0, max_pad))
    if d * (k - 1) + 1 > n + lo + hi:
        hi += d * (k - 1) + 1 - (n + lo + hi)
    return n, k, s, d, (lo, hi)


class TestNumpyPad:
    @SWEEP
    @given(geometry=axis_geometry(), mode=st.sampled_from(MODES), seed=st.integers(0, 2**32 - 1))
    def test_1d_matrix_operator_and_layer(self, geometry, mode, seed):
        n, k, s, d, pads = geometry
        rng = np.random.default_rng(seed)
        x, w = rng.standard_normal(n), rng.standard_normal(k)
        ref = numpy_reference(x, w, [pads], mode, (s,), (d,))
        conv = dict(stride=s, dilation=d, padding=(pads,), padding_mode=mode)
        np.testing.assert_allclose(conv_matrix(w, (n,), **conv) @ x, ref, rtol=0, atol=ATOL)
        np.testing.assert_allclose(conv_operator(w, (n,), **conv) @ x, ref, rtol=0, atol=ATOL)
        y = ctnn.functional.conv1d(x[None, None], w[None, None], **conv)
        np.testing.assert_allclose(y[0, 0], ref, rtol=0, atol=ATOL)

    @SWEEP
    @given(rows=axis_geometry(max_pad=8), cols=axis_geometry(max_pad=8),
           mode=st.sampled_from(MODES), seed=st.integers(0, 2**32 - 1))
    def test_2d_multichannel(self, rows, cols, mode, seed):
        rng = np.random.default_rng(seed)
        (n1, k1, s1, d1, p1), (n2, k2, s2, d2, p2) = rows, cols
        x, w = rng.standard_normal((2, n1, n2)), rng.standard_normal((3, 2, k1, k2))
        conv = dict(stride=(s1, s2), dilation=(d1, d2), padding=(p1, p2), padding_mode=mode)
        ref = np.stack([sum(numpy_reference(x[c], w[o, c], [p1, p2], mode, (s1, s2), (d1, d2))
                            for c in range(2)) for o in range(3)])
        np.testing.assert_allclose(conv_matrix(w, x.shape, **conv) @ x.ravel(), ref.ravel(),
                                   rtol=0, atol=ATOL)
        spec = ConvSpec(w.shape, x.shape, **conv)
        cols_ = im2col(x[None], spec)  # (C_in, K, N, P)
        y = np.einsum("ock,ckp->op", w.reshape(3, 2, -1), cols_[:, :, 0])
        np.testing.assert_allclose(y.ravel(), ref.ravel(), rtol=0, atol=ATOL)

    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("n", [1, 2, 3, 5])
    def test_tap_table_is_numpy_pad(self, mode, n):
        # Pads from 0 to 3n: the table of a 1-tap kernel is the padded signal's index.
        for pad in range(3 * n + 1):
            q = axis_taps(n, 1, padding=(pad, pad + 1), padding_mode=mode)[:, 0]
            signal_ = np.arange(1, n + 1)
            ours = np.where(q >= 0, signal_[q], 0)
            assert ours.tolist() == np.pad(signal_, (pad, pad + 1), mode=NUMPY_PAD[mode]).tolist()

    def test_symbolic_is_exact(self):
        w = kernel_symbols((3,))
        x = sympy.symbols("x0:3", real=True)
        M = conv_matrix(w, (3,), padding=5, padding_mode="symmetric")
        padded = np.pad(np.array(x, dtype=object), 5, mode="symmetric")
        ref = [sum(w[a] * padded[o + a] for a in range(3)) for o in range(len(padded) - 2)]
        assert M.shape == (len(ref), 3)
        for got, want in zip(M * sympy.Matrix(x), ref):
            assert sympy.expand(got - want) == 0


class TestLiteralExamples:
    def test_symmetric_correlation(self):
        # The half-sample mirror: 2 1 | 1 2 3 4 5 | 5 4.
        x = np.array([1.0, 2, 3, 4, 5])
        w = np.array([1.0, 10, 100, 1000, 10000])
        y = conv_matrix(w, (5,), padding=2, padding_mode="symmetric") @ x
        assert y.tolist() == [32112, 43211, 54321, 55432, 45543]

    def test_reflect_wider_than_the_input(self):
        q = axis_taps(4, 1, padding=(4, 4), padding_mode="reflect")[:, 0]
        assert (np.array([1, 2, 3, 4])[q]).tolist() == [3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, 2]

    def test_ndimage_mirror_of_one_sample(self):
        # correlate1d(np.ones(1), np.ones(5), mode="mirror") is [5.]
        assert (conv_matrix(np.ones(5), (1,), padding=2, padding_mode="reflect")
                @ np.ones(1)).tolist() == [5.0]

    def test_tensorflow_pad_documentation(self):
        # tf.pad's documented examples, t = [[1, 2, 3], [4, 5, 6]], paddings [[1, 1], [2, 2]].
        t = np.array([[1, 2, 3], [4, 5, 6]])
        reflect = [[6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1],
                   [6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1]]
        symmetric = [[2, 1, 1, 2, 3, 3, 2], [2, 1, 1, 2, 3, 3, 2],
                     [5, 4, 4, 5, 6, 6, 5], [5, 4, 4, 5, 6, 6, 5]]
        for mode, expected in (("reflect", reflect), ("symmetric", symmetric)):
            rows = axis_taps(2, 1, padding=(1, 1), padding_mode=mode)[:, 0]
            cols = axis_taps(3, 1, padding=(2, 2), padding_mode=mode)[:, 0]
            assert t[np.ix_(rows, cols)].tolist() == expected


# --------------------------------------------------------------------------
# scipy.signal and scipy.ndimage
# --------------------------------------------------------------------------
SIGNAL_BOUNDARY = {"fill": "zeros", "wrap": "circular", "symm": "symmetric"}
NDIMAGE_MODE = {"constant": "zeros", "grid-constant": "zeros", "wrap": "circular",
                "grid-wrap": "circular", "mirror": "reflect", "reflect": "symmetric",
                "grid-mirror": "symmetric", "nearest": "replicate"}


class TestScipySignal:
    @SWEEP
    @given(shape=st.tuples(st.integers(1, 5), st.integers(1, 5)),
           kernel=st.tuples(st.integers(1, 7), st.integers(1, 7)),
           boundary=st.sampled_from(sorted(SIGNAL_BOUNDARY)), mode=st.sampled_from(["full", "same"]),
           convolve=st.booleans(), seed=st.integers(0, 2**32 - 1))
    def test_correlate2d_convolve2d(self, shape, kernel, boundary, mode, convolve, seed):
        # Kernels up to 7 on inputs down to 1: padding wider than the input.
        rng = np.random.default_rng(seed)
        x, w = rng.standard_normal(shape), rng.standard_normal(kernel)
        ours = SIGNAL_BOUNDARY[boundary]
        if mode == "full":
            padding = "full"
        elif convolve:  # convolve2d's "same": the extra element on the low side
            padding = [(k // 2, (k - 1) // 2) for k in kernel]
        else:           # correlate2d's "same": on the high side (the README's table)
            padding = "same"
        fn = signal.convolve2d if convolve else signal.correlate2d
        ref = fn(x, w, mode=mode, boundary=boundary)
        M = conv_matrix(w, shape, padding=padding, padding_mode=ours, flip=convolve)
        np.testing.assert_allclose(M @ x.ravel(), ref.ravel(), rtol=0, atol=ATOL)


class TestScipyNdimage:
    @SWEEP
    @given(n=st.integers(1, 6), k=st.integers(1, 8), mode=st.sampled_from(sorted(NDIMAGE_MODE)),
           origin_frac=st.floats(0, 1), convolve=st.booleans(), seed=st.integers(0, 2**32 - 1))
    def test_correlate1d_convolve1d_with_origin(self, n, k, mode, origin_frac, convolve, seed):
        rng = np.random.default_rng(seed)
        x, w = rng.standard_normal(n), rng.standard_normal(k)
        origin = -(k // 2) + int(round(origin_frac * (k - 1)))  # ndimage allows -(k//2)..(k-1)//2
        if convolve:
            # convolve1d is correlate1d with w reversed and origin -origin - (k even).
            lo = k // 2 - origin - (1 - k % 2)
            ref = ndi.convolve1d(x, w, mode=mode, origin=origin)
        else:
            lo = k // 2 + origin
            ref = ndi.correlate1d(x, w, mode=mode, origin=origin)
        M = conv_matrix(w, (n,), padding=[(lo, k - 1 - lo)], padding_mode=NDIMAGE_MODE[mode],
                        flip=convolve)
        np.testing.assert_allclose(M @ x, ref, rtol=0, atol=ATOL)

    @SWEEP
    @given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4)),
           kernel=st.tuples(st.integers(1, 6), st.integers(1, 6)),
           mode=st.sampled_from(sorted(NDIMAGE_MODE)), seed=st.integers(0, 2**32 - 1))
    def test_correlate_2d(self, shape, kernel, mode, seed):
        rng = np.random.default_rng(seed)
        x, w = rng.standard_normal(shape), rng.standard_normal(kernel)
        ref = ndi.correlate(x, w, mode=mode)
        padding = [(k // 2, (k - 1) // 2) for k in kernel]
        M = conv_matrix(w, shape, padding=padding, padding_mode=NDIMAGE_MODE[mode])
        np.testing.assert_allclose(M @ x.ravel(), ref.ravel(), rtol=0, atol=ATOL)

    def test_empty_input(self):
        # ndimage.correlate(np.zeros(0), np.ones(2)) is []: so is ours, for every view.
        assert ndi.correlate(np.zeros(0), np.ones(2)).shape == (0,)
        for mode in MODES:
            M = conv_matrix(np.ones(2), (0,), padding=[(1, 0)], padding_mode=mode)
            assert M.shape == (0, 0)
            A = conv_operator(np.ones(2), (0,), padding=[(1, 0)], padding_mode=mode)
            assert (A @ np.zeros(0)).shape == (0,) and A.rmatvec(np.zeros(0)).shape == (0,)


# --------------------------------------------------------------------------
# PyTorch, where it answers
# --------------------------------------------------------------------------
TORCH_MODES = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.torch
@pytest.mark.parametrize("mode", sorted(TORCH_MODES))
@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_torch_at_its_largest_padding(torch, mode, n):
    # PyTorch accepts reflect padding < n and circular padding <= n; at that
    # largest width, and just beyond where numpy.pad takes over, we agree.
    largest = {"reflect": n - 1, "circular": n, "replicate": 3 * n}[mode]
    rng = np.random.default_rng(n)
    x, w = rng.standard_normal((1, 2, n)), rng.standard_normal((3, 2, 3))
    for pad in range(largest + 1):
        if 2 * pad + n < 3:
            continue
        y = torch.nn.functional.conv1d(
            torch.nn.functional.pad(torch.from_numpy(x), (pad, pad), mode=TORCH_MODES[mode]),
            torch.from_numpy(w)).numpy()[0]
        M = conv_matrix(w, (2, n), padding=pad, padding_mode=mode)
        np.testing.assert_allclose(M @ x[0].ravel(), y.ravel(), rtol=0, atol=ATOL)
    beyond = largest + 1
    ref = np.stack([sum(numpy_reference(x[0, c], w[o, c], [(beyond, beyond)], mode)
                        for c in range(2)) for o in range(3)])
    M = conv_matrix(w, (2, n), padding=beyond, padding_mode=mode)
    np.testing.assert_allclose(M @ x[0].ravel(), ref.ravel(), rtol=0, atol=ATOL)


@pytest.mark.torch
def test_torch_same_is_unchanged(torch):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 1, 9)), rng.standard_normal((1, 1, 4))
    y = torch.nn.functional.conv1d(torch.from_numpy(x), torch.from_numpy(w), padding="same",
                                   dilation=2).numpy()
    M = conv_matrix(w, (1, 9), padding="same", dilation=2)
    np.testing.assert_allclose(M @ x.ravel(), y.ravel(), rtol=0, atol=ATOL)
    assert resolve_padding("same", (4,), dilation=2) == ((3, 3),)
    assert resolve_padding("same", (4,)) == ((1, 2),)  # the extra element on the high side


# --------------------------------------------------------------------------
# same_upper / same_lower: ONNX's auto_pad, TensorFlow's SAME
# --------------------------------------------------------------------------
def test_same_with_a_stride_points_to_same_upper():
    with pytest.raises(ValueError, match=r"padding='same' needs stride 1 on every axis \(as in "
                                         r"PyTorch\), got stride=\(2,\); .*use padding='same_upper'"):
        ConvSpec((3,), (8,), padding="same", stride=2)
    with pytest.raises(ValueError, match=r"padding='same_upper' depends on the input size"):
        resolve_padding("same_upper", (3,), stride=2)


@pytest.mark.parametrize("n, k, s, d, upper, lower", [
    # TensorFlow's documented SAME rule: out = ceil(n / s),
    # pad_along = max((out - 1)*s + k_eff - n, 0), pad_top = pad_along // 2.
    (7, 3, 2, 1, (1, 1), (1, 1)),
    (8, 3, 2, 1, (0, 1), (1, 0)),
    (13, 6, 5, 1, (1, 2), (2, 1)),    # out 3: (3-1)*5 + 6 - 13 = 3
    (10, 3, 1, 2, (2, 2), (2, 2)),    # dilation 2: k_eff = 5, as "same"
    (5, 1, 3, 1, (0, 0), (0, 0)),     # max(..., 0): no negative padding
    (4, 4, 1, 1, (1, 2), (2, 1)),     # stride 1, even kernel: same_upper is PyTorch's "same"
])
def test_same_upper_lower_formula(n, k, s, d, upper, lower):
    assert resolve_padding("same_upper", (k,), stride=s, dilation=d, input_spatial=(n,)) == (upper,)
    assert resolve_padding("same_lower", (k,), stride=s, dilation=d, input_spatial=(n,)) == (lower,)
    out = -(-n // s)
    assert output_shape((n,), (k,), stride=s, dilation=d, padding="same_upper") == (out,)
    assert ConvGeometry((k,), stride=s, dilation=d, padding="same_lower").output_shape((n,)) == (out,)


def _onnx_conv(x, w, auto_pad, stride, dilation):
    helper = pytest.importorskip("onnx.helper")
    reference = pytest.importorskip("onnx.reference")
    from onnx import TensorProto
    node = helper.make_node("Conv", ["X", "W"], ["Y"], auto_pad=auto_pad, strides=list(stride),
                            dilations=list(dilation))
    value = lambda name: helper.make_tensor_value_info(name, TensorProto.DOUBLE, None)  # noqa: E731
    graph = helper.make_graph([node], "conv", [value("X"), value("W")], [value("Y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return reference.ReferenceEvaluator(model).run(None, {"X": x[None], "W": w})[0][0]


@settings(max_examples=30, deadline=None)
@given(shape=st.tuples(st.integers(1, 9), st.integers(1, 9)),
       kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       auto_pad=st.sampled_from(["SAME_UPPER", "SAME_LOWER"]), seed=st.integers(0, 2**32 - 1))
def test_onnx_auto_pad(shape, kernel, stride, dilation, auto_pad, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((2,) + shape), rng.standard_normal((3, 2) + kernel)
    ref = _onnx_conv(x, w, auto_pad, stride, dilation)
    M = conv_matrix(w, x.shape, padding=auto_pad.lower(), stride=stride, dilation=dilation)
    assert ref.shape[1:] == tuple(-(-n // s) for n, s in zip(shape, stride))
    np.testing.assert_allclose(M @ x.ravel(), ref.ravel(), rtol=0, atol=ATOL)


def test_same_upper_rebinds_per_input():
    g = ConvGeometry((3,), stride=2, padding="same_upper", in_channels=1, out_channels=1)
    spec = g.bind((1, 7))
    assert spec.padding == ((1, 1),)
    assert spec.with_input((1, 8)).padding == ((0, 1),)
    assert spec.replace(input_shape=(1, 8)).padding == ((0, 1),)


# --------------------------------------------------------------------------
# Every view accepts the new mode
# --------------------------------------------------------------------------
def test_symmetric_in_every_view():
    w = np.array([1.0, 10, 100])
    x = np.array([1.0, 2, 3, 4])
    M = conv_matrix(w, (4,), padding=5, padding_mode="symmetric")
    ref = numpy_reference(x, w, [(5, 5)], "symmetric")
    np.testing.assert_allclose(M @ x, ref, rtol=0, atol=ATOL)
    G = conv_graph(w, (4,), padding=5, padding_mode="symmetric")
    dense = np.zeros(M.shape)
    for col, row, data in G.edges(data=True):
        dense[row[2], col[2]] = data["value"]
    np.testing.assert_allclose(dense, M.toarray(), rtol=0, atol=ATOL)
    layer = ctnn.Conv1d(1, 1, 3, padding=5, padding_mode="symmetric", bias=False, seed=0)
    layer.weight.data[:] = w
    np.testing.assert_allclose(layer(x[None, None])[0, 0], ref, rtol=0, atol=ATOL)
    assert ctnn.gradcheck(layer, np.random.default_rng(0).standard_normal((2, 1, 4)))


def test_symmetric_in_the_checks():
    from convtheory import (check_sharing, check_sparsity, check_translation_equivariance,
                            recover_kernel)
    from convtheory.testing import assert_is_convolution

    w = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 2]])
    conv = dict(padding=1, padding_mode="symmetric")
    assert check_sharing(w, (5, 5), **conv) and check_sparsity(w, (5, 5), **conv)
    assert recover_kernel(conv_matrix(w, (6, 6), **conv), (6, 6), (3, 3), **conv)
    # scipy.ndimage's "reflect" is the half-sample mirror: read back as this conv, exactly.
    kernel = assert_is_convolution(lambda x: ndi.correlate(x, w, mode="reflect"), (6, 6), (3, 3),
                                   **conv)
    np.testing.assert_array_equal(kernel, w)
    with pytest.raises(AssertionError):  # ... and not as the whole-sample mirror
        assert_is_convolution(lambda x: ndi.correlate(x, w, mode="mirror"), (6, 6), (3, 3), **conv)
    # The mirror breaks translation equivariance at the border only.
    v = check_translation_equivariance(w, (8, 8), (1, 0), **conv)
    assert not v and v.evidence["interior_max_error"] == 0.0
