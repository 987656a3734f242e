"""The conventions table of the README, one row per library call, each pinned.

For a kernel ``w`` of length K, the *centre* is the weight that multiplies
``x[i]`` in output ``i``.  Correlation reads ``x[i - c + a]`` through
``w[a]``; convolution reads ``x[i + c - a]``.  In "same" mode that fixes the
input padding: ``(c, K-1-c)`` for correlation, ``(K-1-c, c)`` for
convolution.  For odd K every library puts the centre at ``(K-1)/2``; for even
K they disagree, and so does the side that gets the extra padded element.

Each row is checked three ways: the impulse response (which pins the
operation and the centre), agreement on random data with the stated
convtheory equivalent, and whether complex weights are conjugated.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as signal

from convtheory import axis_taps, conv_matrix, resolve_padding

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

ATOL = 1e-12  # sums of a handful of O(1) products


def _torch_same(x, w):
    torch = pytest.importorskip("torch")
    out = torch.nn.functional.conv1d(torch.from_numpy(x)[None, None],
                                     torch.from_numpy(w)[None, None], padding="same")
    return out.numpy()[0, 0]


def _as_2d(fn):
    return lambda x, w: fn(x[None], w[None], mode="same")[0]


def _convtheory(flip):
    return lambda x, w: conv_matrix(w, x.shape, padding="same", flip=flip) @ x


@dataclass(frozen=True)
class Row:
    call: str
    same: Callable          # (x, w) -> the call's "same"-size output
    operation: str          # "correlation" or "convolution"
    centre: Callable        # K -> index of the weight that multiplies x[i] in output i
    conjugates: bool        # are complex weights conjugated?
    equivalent: str         # the convtheory call that gives the same numbers

    def pads(self, K):
        c = self.centre(K)
        return (c, K - 1 - c) if self.operation == "correlation" else (K - 1 - c, c)

    def matrix(self, w, n):
        """The convtheory equivalent, built from the row's stated centre."""
        w = w.conj() if self.conjugates else w
        return conv_matrix(w, (n,), padding=[self.pads(len(w))],
                           flip=self.operation == "convolution")


# The two middle weights of an even kernel: w[K/2 - 1] (lower) or w[K/2] (upper).
LOWER, UPPER = (lambda K: (K - 1) // 2), (lambda K: K // 2)
ROWS = [
    Row("numpy.convolve(x, w, 'same')", lambda x, w: np.convolve(x, w, "same"),
        "convolution", LOWER, False, "padding=[(K//2, (K-1)//2)], flip=True"),
    Row("numpy.correlate(x, w, 'same')", lambda x, w: np.correlate(x, w, "same"),
        "correlation", UPPER, True, "padding=[(K//2, (K-1)//2)] on conj(w)"),
    Row("scipy.signal.convolve(x, w, 'same')", lambda x, w: signal.convolve(x, w, "same"),
        "convolution", LOWER, False, "padding=[(K//2, (K-1)//2)], flip=True"),
    Row("scipy.signal.correlate(x, w, 'same')", lambda x, w: signal.correlate(x, w, "same"),
        "correlation", UPPER, True, "padding=[(K//2, (K-1)//2)] on conj(w)"),
    Row("scipy.signal.convolve2d(x, w, 'same')", _as_2d(signal.convolve2d),
        "convolution", LOWER, False, "padding=[(K//2, (K-1)//2)], flip=True"),
    Row("scipy.signal.correlate2d(x, w, 'same')", _as_2d(signal.correlate2d),
        "correlation", LOWER, True, "padding='same' on conj(w)"),
    Row("scipy.ndimage.convolve(x, w)", lambda x, w: ndi.convolve(x, w, mode="constant"),
        "convolution", UPPER, False, "padding='same', flip=True"),
    Row("scipy.ndimage.correlate(x, w)", lambda x, w: ndi.correlate(x, w, mode="constant"),
        "correlation", UPPER, True, "padding=[(K//2, (K-1)//2)] on conj(w)"),
    Row("torch.nn.functional.conv1d(x, w, padding='same')", _torch_same,
        "correlation", LOWER, False, "padding='same'"),
    Row("convtheory.conv_matrix(w, n, padding='same')", _convtheory(False),
        "correlation", LOWER, False, "itself"),
    Row("convtheory.conv_matrix(w, n, padding='same', flip=True)", _convtheory(True),
        "convolution", UPPER, False, "itself"),
]
IDS = [row.call for row in ROWS]
KERNELS = [1, 2, 3, 4, 5, 6]


def impulse_response(row, K, n=13, m=6):
    """Output for x = e_m and w = 1, 2, ..., K (distinct, so positions are legible)."""
    x = np.zeros(n)
    x[m] = 1.0
    return row.same(x, np.arange(1.0, K + 1))


@pytest.mark.parametrize("K", KERNELS)
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_operation_and_centre(row, K):
    n, m = 13, 6
    c = row.centre(K)
    expected = np.zeros(n)
    for a in range(K):
        # Correlation spreads the impulse reversed around m, convolution as is.
        expected[m + c - a if row.operation == "correlation" else m - c + a] = a + 1
    assert np.array_equal(impulse_response(row, K, n, m), expected)


@pytest.mark.parametrize("K", [1, 3, 5, 7])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_odd_kernels_agree_everywhere(row, K):
    assert row.centre(K) == (K - 1) // 2
    assert row.pads(K) == ((K - 1) // 2, (K - 1) // 2)


@pytest.mark.parametrize("K", KERNELS)
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_convtheory_equivalent(row, K):
    rng = np.random.default_rng(20240 + K)
    x, w = rng.standard_normal(11), rng.standard_normal(K)
    np.testing.assert_allclose(row.same(x, w), row.matrix(w, 11) @ x, rtol=0, atol=ATOL)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_complex_weights(row):
    rng = np.random.default_rng(1443)
    x = rng.standard_normal(9) + 1j * rng.standard_normal(9)
    w = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    got = row.same(x, w)
    np.testing.assert_allclose(got, row.matrix(w, 9) @ x, rtol=0, atol=ATOL)
    # and the other choice would be wrong: the conjugation column is not vacuous.
    flipped = Row(row.call, row.same, row.operation, row.centre, not row.conjugates, "")
    assert not np.allclose(got, flipped.matrix(w, 9) @ x)


def test_even_kernel_centres_disagree():
    # The table's point: for K = 4 the "same" outputs of these calls are
    # not all equal, so copying a kernel between libraries shifts the output.
    x = np.random.default_rng(4).standard_normal(12)
    w = np.array([1.0, -2.0, 0.5, 3.0])
    outputs = {row.call: row.same(x, w) for row in ROWS}
    distinct = {tuple(np.round(v, 9)) for v in outputs.values()}
    assert len(distinct) == 4  # {corr, conv} x {extra pad low, extra pad high}


@pytest.mark.parametrize("origin", [-2, -1, 0, 1])
@pytest.mark.parametrize("name", ["correlate", "convolve"])
def test_ndimage_origin_moves_the_centre(name, origin):
    # ndimage: the centre of a length-K kernel is w[K//2 + origin], for
    # correlate and convolve alike.
    K = 4
    row = Row(f"ndimage.{name}", lambda x, w: getattr(ndi, name)(x, w, mode="constant",
                                                                 origin=origin),
              "correlation" if name == "correlate" else "convolution",
              lambda K: K // 2 + origin, name == "correlate", "")
    test_operation_and_centre(row, K)
    test_convtheory_equivalent(row, K)


def test_a_wrong_row_fails():
    # The pins can fail: claiming PyTorch's centre for scipy.signal.correlate
    # contradicts its impulse response.
    wrong = Row("scipy.signal.correlate", ROWS[3].same, "correlation", LOWER, True, "")
    with pytest.raises(AssertionError):
        test_operation_and_centre(wrong, 4)
    with pytest.raises(AssertionError):
        test_convtheory_equivalent(wrong, 4)


# The boundary-mode table: one name per library for the same extension.
# None: the library has no such mode.  The README's table is read and must
# list exactly these rows, so that every name it prints is pinned here.
BOUNDARY_ROWS = [
    # convtheory, PyTorch, numpy.pad, scipy.ndimage, scipy.signal (2-D), TensorFlow, ONNX Pad
    ("zeros", "zeros", "constant", ("constant", "grid-constant"), "fill", "CONSTANT", "constant"),
    ("circular", "circular", "wrap", ("wrap", "grid-wrap"), "wrap", None, "wrap"),
    ("reflect", "reflect", "reflect", ("mirror",), None, "REFLECT", "reflect"),
    ("replicate", "replicate", "edge", ("nearest",), None, None, "edge"),
    ("symmetric", None, "symmetric", ("reflect", "grid-mirror"), "symm", "SYMMETRIC", None),
]

# tf.pad's documented examples: t = [[1, 2, 3], [4, 5, 6]], paddings [[1, 1], [2, 2]].
TF_PAD_EXAMPLES = {
    "CONSTANT": [[0, 0, 0, 0, 0, 0, 0], [0, 0, 1, 2, 3, 0, 0],
                 [0, 0, 4, 5, 6, 0, 0], [0, 0, 0, 0, 0, 0, 0]],
    "REFLECT": [[6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1],
                [6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1]],
    "SYMMETRIC": [[2, 1, 1, 2, 3, 3, 2], [2, 1, 1, 2, 3, 3, 2],
                  [5, 4, 4, 5, 6, 6, 5], [5, 4, 4, 5, 6, 6, 5]],
}


def _readme_table(header_start):
    """The rows of the README table whose header starts with ``header_start``, as cell lists."""
    lines = (Path(__file__).parents[1] / "README.md").read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[first + 2:]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([cell.strip() for cell in cells])
    return rows


def _names(cell):
    """The code names of a table cell, e.g. '`wrap`, `grid-wrap`' -> ('wrap', 'grid-wrap')."""
    return tuple(re.findall(r"`([^`\s]+)`", cell.split("(")[0] if cell.startswith("`") else cell))


def test_readme_boundary_table_is_pinned():
    table = _readme_table("| convtheory `padding_mode`")
    listed = []
    for cells in table:
        ours, torch_, numpy_pad, ndimage_modes, boundary, tf, onnx = (
            _names(c) if c != "—" else None for c in cells)
        listed.append((ours[0], torch_ and torch_[0], numpy_pad[0], ndimage_modes,
                       boundary and boundary[0], tf and tf[0], onnx and onnx[0]))
    assert listed == BOUNDARY_ROWS


def _onnx_pad(x, pads, mode):
    helper = pytest.importorskip("onnx.helper")
    reference = pytest.importorskip("onnx.reference")
    from onnx import TensorProto
    node = helper.make_node("Pad", ["X", "P"], ["Y"], mode=mode)
    graph = helper.make_graph(
        [node], "pad", [helper.make_tensor_value_info("X", TensorProto.DOUBLE, None),
                        helper.make_tensor_value_info("P", TensorProto.INT64, None)],
        [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    flat = [lo for lo, _ in pads] + [hi for _, hi in pads]
    return reference.ReferenceEvaluator(model).run(None, {"X": x, "P": np.array(flat)})[0]


@pytest.mark.parametrize("ours, torch_mode, numpy_pad, ndimage_modes, signal_boundary, tf_mode, onnx_mode",
                         BOUNDARY_ROWS)
def test_boundary_mode_names(ours, torch_mode, numpy_pad, ndimage_modes, signal_boundary,
                             tf_mode, onnx_mode):
    # A 5x5 kernel, "same": two samples of padding, where every extension differs.
    rng = np.random.default_rng(55)
    x, w = rng.standard_normal((7, 8)), rng.standard_normal((5, 5))
    reference = signal.correlate(np.pad(x, 2, mode=numpy_pad), w, mode="valid")
    for ndimage_mode in ndimage_modes:
        np.testing.assert_allclose(ndi.correlate(x, w, mode=ndimage_mode), reference,
                                   rtol=0, atol=ATOL)
    if signal_boundary is not None:
        np.testing.assert_allclose(signal.correlate2d(x, w, "same", boundary=signal_boundary),
                                   reference, rtol=0, atol=ATOL)
    M = conv_matrix(w, x.shape, padding=2, padding_mode=ours)
    np.testing.assert_allclose(M @ x.ravel(), reference.ravel(), rtol=0, atol=ATOL)
    if tf_mode is not None:
        t = np.array([[1, 2, 3], [4, 5, 6]])
        rows = axis_taps(2, 1, padding=(1, 1), padding_mode=ours)[:, 0]
        cols = axis_taps(3, 1, padding=(2, 2), padding_mode=ours)[:, 0]
        padded = np.where((rows[:, None] >= 0) & (cols[None, :] >= 0), t[np.ix_(rows, cols)], 0)
        assert padded.tolist() == TF_PAD_EXAMPLES[tf_mode]
    if torch_mode is not None:
        torch = pytest.importorskip("torch")
        y = torch.nn.Conv2d(1, 1, 5, padding=2, padding_mode=torch_mode, bias=False,
                            dtype=torch.float64)
        with torch.no_grad():
            y.weight.copy_(torch.from_numpy(w)[None, None])
            out = y(torch.from_numpy(x)[None, None]).numpy()[0, 0]
        np.testing.assert_allclose(out, reference, rtol=0, atol=ATOL)


@pytest.mark.parametrize("ours, numpy_pad, onnx_mode",
                         [(r[0], r[2], r[6]) for r in BOUNDARY_ROWS if r[6] is not None])
def test_onnx_pad_names(ours, numpy_pad, onnx_mode):
    # ONNX's reference Pad, wider than the input on one axis: numpy's extension, and ours.
    rng = np.random.default_rng(56)
    x = rng.standard_normal((4, 5))
    pads = [(3, 9), (2, 10)]
    expected = np.pad(x, pads, mode=numpy_pad)
    np.testing.assert_array_equal(_onnx_pad(x, pads, onnx_mode), expected)
    rows = axis_taps(4, 1, padding=pads[0], padding_mode=ours)[:, 0]
    cols = axis_taps(5, 1, padding=pads[1], padding_mode=ours)[:, 0]
    ours_padded = np.where((rows[:, None] >= 0) & (cols[None, :] >= 0), x[np.ix_(rows, cols)], 0)
    np.testing.assert_array_equal(ours_padded, expected)


def test_a_wrong_boundary_row_fails():
    with pytest.raises(AssertionError):
        test_boundary_mode_names("reflect", None, "symmetric", ("reflect",), None, None, None)


# The padding-rule table.
PADDING_ROWS = [
    # convtheory, PyTorch, TensorFlow, ONNX auto_pad
    ("valid", "valid", "VALID", "VALID"),
    ("same", "same", None, None),
    ("same_upper", None, "SAME", "SAME_UPPER"),
    ("same_lower", None, None, "SAME_LOWER"),
    ("full", None, None, None),
]


def test_readme_padding_table_is_pinned():
    table = _readme_table("| convtheory `padding`")
    listed = [tuple(None if c == "—" else re.findall(r'"?`"?([A-Za-z_]+)"?`', c)[0].strip('"')
                    for c in cells[:4]) for cells in table]
    assert listed == PADDING_ROWS


def _tf_same(n, k, s, d):
    """TensorFlow's documented SAME rule, written out: out = ceil(n/s), pad_top = pad_along // 2."""
    out = -(-n // s)
    pad_along = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return pad_along // 2, pad_along - pad_along // 2


@pytest.mark.parametrize("ours, torch_pad, tf_pad, onnx_pad", PADDING_ROWS)
@pytest.mark.parametrize("n, k, s, d", [(7, 3, 2, 1), (8, 4, 3, 2), (9, 2, 1, 1), (5, 3, 1, 2)])
def test_padding_rule_names(ours, torch_pad, tf_pad, onnx_pad, n, k, s, d):
    if ours == "same" and s != 1:
        with pytest.raises(ValueError, match="same_upper"):
            resolve_padding(ours, (k,), stride=s, dilation=d, input_spatial=(n,))
        return
    (pads,) = resolve_padding(ours, (k,), stride=s, dilation=d, input_spatial=(n,))
    if ours == "full":
        assert pads == ((k - 1) * d,) * 2
    if tf_pad == "VALID":
        assert pads == (0, 0)
    if tf_pad == "SAME":
        assert pads == _tf_same(n, k, s, d)
    if onnx_pad in ("SAME_UPPER", "SAME_LOWER"):  # ONNX's published rule: as TF's, low side flipped
        upper = _tf_same(n, k, s, d)
        assert pads == (upper if onnx_pad == "SAME_UPPER" else upper[::-1])
    if torch_pad is not None and s == 1:
        torch = pytest.importorskip("torch")
        rng = np.random.default_rng(n)
        x, w = rng.standard_normal(n), rng.standard_normal(k)
        out = torch.nn.functional.conv1d(torch.from_numpy(x)[None, None],
                                         torch.from_numpy(w)[None, None], padding=torch_pad,
                                         dilation=d).numpy()[0, 0]
        M = conv_matrix(w, (n,), padding=ours, dilation=d)
        np.testing.assert_allclose(M @ x, out, rtol=0, atol=ATOL)


@pytest.mark.parametrize("ours, onnx_pad", [(r[0], r[3]) for r in PADDING_ROWS if r[3] is not None])
@pytest.mark.parametrize("n, k, s, d", [(7, 3, 2, 1), (8, 4, 3, 2), (9, 2, 1, 1), (5, 3, 1, 2)])
def test_onnx_auto_pad_names(ours, onnx_pad, n, k, s, d):
    rng = np.random.default_rng(n)
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    onnx_out = _onnx_conv(x, w, onnx_pad, s, d)
    M = conv_matrix(w, (n,), padding=ours, stride=s, dilation=d)
    np.testing.assert_allclose(M @ x, onnx_out, rtol=0, atol=ATOL)


def _onnx_conv(x, w, auto_pad, stride, dilation):
    helper = pytest.importorskip("onnx.helper")
    reference = pytest.importorskip("onnx.reference")
    from onnx import TensorProto
    node = helper.make_node("Conv", ["X", "W"], ["Y"], auto_pad=auto_pad, strides=[stride],
                            dilations=[dilation])
    graph = helper.make_graph(
        [node], "conv", [helper.make_tensor_value_info("X", TensorProto.DOUBLE, None),
                         helper.make_tensor_value_info("W", TensorProto.DOUBLE, None)],
        [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return reference.ReferenceEvaluator(model).run(
        None, {"X": x[None, None], "W": w[None, None]})[0][0, 0]
