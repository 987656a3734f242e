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

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as signal

from convtheory import conv_matrix

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
# None: the library has no such mode.  Half-sample symmetric has no
# PyTorch/convtheory mode (it is a valid conv after np.pad(mode="symmetric")).
BOUNDARY_ROWS = [
    # convtheory/PyTorch, numpy.pad, scipy.ndimage, scipy.signal (2-D)
    ("zeros", "constant", "constant", "fill"),
    ("circular", "wrap", "wrap", "wrap"),
    ("reflect", "reflect", "mirror", None),
    ("replicate", "edge", "nearest", None),
    (None, "symmetric", "reflect", "symm"),
]


@pytest.mark.parametrize("ours, numpy_pad, ndimage_mode, signal_boundary", BOUNDARY_ROWS)
def test_boundary_mode_names(ours, numpy_pad, ndimage_mode, signal_boundary):
    # A 5x5 kernel, "same": two samples of padding, where every extension differs.
    rng = np.random.default_rng(55)
    x, w = rng.standard_normal((7, 8)), rng.standard_normal((5, 5))
    reference = signal.correlate(np.pad(x, 2, mode=numpy_pad), w, mode="valid")
    np.testing.assert_allclose(ndi.correlate(x, w, mode=ndimage_mode), reference,
                               rtol=0, atol=ATOL)
    if signal_boundary is not None:
        np.testing.assert_allclose(signal.correlate2d(x, w, "same", boundary=signal_boundary),
                                   reference, rtol=0, atol=ATOL)
    if ours is not None:
        M = conv_matrix(w, x.shape, padding=2, padding_mode=ours)
        np.testing.assert_allclose(M @ x.ravel(), reference.ravel(), rtol=0, atol=ATOL)
    else:  # and no convtheory mode gives it
        for mode in ("zeros", "circular", "reflect", "replicate"):
            M = conv_matrix(w, x.shape, padding=2, padding_mode=mode)
            assert not np.allclose(M @ x.ravel(), reference.ravel()), mode
