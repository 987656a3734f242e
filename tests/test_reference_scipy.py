"""conv_matrix against scipy.signal and scipy.ndimage, where the conventions meet.

Each reference is matched by an explicit ``(lo, hi)`` padding written here
from the reference's documented rule (not from convtheory), so a test pins
both our matrix and the reference's convention.  For a kernel of length K
(``full`` is ``K - 1`` on each side everywhere):

=================================  =========================  ===================
reference                          "same" padding (lo, hi)    boundary -> mode
=================================  =========================  ===================
signal.correlate / convolve        (K//2, (K-1)//2), flip     (zeros only)
signal.correlate2d                 ((K-1)//2, K//2)           fill, wrap, symm
signal.convolve2d                  (K//2, (K-1)//2), flip     fill, wrap, symm
ndimage.correlate(origin=o)        (K//2 + o, (K-1)//2 - o)   constant, wrap,
ndimage.convolve(origin=o)         ((K-1)//2 - o, K//2 + o),  mirror, nearest,
                                   flip                       reflect
=================================  =========================  ===================

``symm`` (scipy.signal) and ``reflect`` (scipy.ndimage) are the
*half-sample* symmetric extension ``d c b a | a b c d | d c b a``, which
PyTorch and convtheory do not have: PyTorch's ``reflect`` is ndimage's
``mirror`` (``d c b | a b c d | c b a``).  It is expressed here as a valid
conv of the padded input times the 0/1 padding matrix, and with one
sample of padding it coincides with ``replicate``.
"""

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as signal

from convtheory import conv_matrix
from convtheory.transforms import transform_matrix

# float64 sums of at most ~100 O(1) products; any index error is O(1).
ATOL = 1e-11

NDIMAGE_MODE = {"constant": "zeros", "wrap": "circular", "mirror": "reflect",
                "nearest": "replicate"}
SIGNAL_BOUNDARY = {"fill": "zeros", "wrap": "circular"}


def signal_same(K):
    """scipy.signal's "same": centred on "full", so the extra pad is on the low side."""
    return (K // 2, (K - 1) // 2)


def pads_for(mode, kernel, same):
    if mode == "valid":
        return tuple((0, 0) for _ in kernel)
    if mode == "full":
        return tuple((K - 1, K - 1) for K in kernel)
    return tuple(same(K) for K in kernel)


def symmetric_conv_matrix(w, shape, pads, *, flip):
    """Conv with half-sample symmetric padding: a valid conv after the padding matrix."""
    P = transform_matrix(lambda x: np.pad(x, pads, mode="symmetric"), shape)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(shape, pads))
    return conv_matrix(w, padded, flip=flip) @ P


class TestSignalCorrelateConvolve:
    @pytest.mark.parametrize("method", ["direct", "fft"])
    @pytest.mark.parametrize("mode", ["valid", "same", "full"])
    @pytest.mark.parametrize("kernel, shape", [
        ((1,), (7,)), ((2,), (7,)), ((3,), (7,)), ((4,), (9,)), ((5,), (8,)), ((6,), (6,)),
        ((3, 3), (6, 7)), ((4, 2), (7, 5)), ((2, 5), (5, 8)), ((4, 4), (6, 6)),
    ])
    @pytest.mark.parametrize("name", ["correlate", "convolve"])
    def test_matches(self, name, kernel, shape, mode, method):
        rng = np.random.default_rng(1968)
        w, x = rng.standard_normal(kernel), rng.standard_normal(shape)
        expected = getattr(signal, name)(x, w, mode=mode, method=method)
        M = conv_matrix(w, shape, padding=pads_for(mode, kernel, signal_same),
                        flip=name == "convolve")
        np.testing.assert_allclose(M @ x.ravel(), expected.ravel(), rtol=0, atol=ATOL)

    def test_same_is_not_pytorch_same_for_even_kernels(self):
        # The one place the two disagree: scipy puts the extra pad low, PyTorch high.
        rng = np.random.default_rng(1443)
        w, x = rng.standard_normal(4), rng.standard_normal(10)
        ours = conv_matrix(w, x.shape, padding="same") @ x
        assert not np.allclose(ours, signal.correlate(x, w, mode="same"))
        # scipy's window starts one sample earlier: ours[i] is scipy's [i + 1].
        np.testing.assert_allclose(ours[:-1], signal.correlate(x, w, mode="same")[1:],
                                   rtol=0, atol=ATOL)


class TestSignal2D:
    """correlate2d / convolve2d with their boundary conditions."""

    @staticmethod
    def same(name):
        # scipy/scipy#1968: correlate2d's "same" is centred unlike correlate's.
        return (lambda K: ((K - 1) // 2, K // 2)) if name == "correlate2d" else signal_same

    @pytest.mark.parametrize("mode", ["valid", "same", "full"])
    @pytest.mark.parametrize("boundary", ["fill", "wrap"])
    @pytest.mark.parametrize("kernel", [(1, 1), (3, 3), (2, 3), (4, 4), (3, 2), (5, 4)])
    @pytest.mark.parametrize("name", ["correlate2d", "convolve2d"])
    def test_fill_and_wrap(self, name, kernel, boundary, mode):
        rng = np.random.default_rng(2024)
        shape = (7, 6)
        w, x = rng.standard_normal(kernel), rng.standard_normal(shape)
        expected = getattr(signal, name)(x, w, mode=mode, boundary=boundary)
        M = conv_matrix(w, shape, padding=pads_for(mode, kernel, self.same(name)),
                        padding_mode=SIGNAL_BOUNDARY[boundary], flip=name == "convolve2d")
        np.testing.assert_allclose(M @ x.ravel(), expected.ravel(), rtol=0, atol=ATOL)

    @pytest.mark.parametrize("mode", ["same", "full"])
    @pytest.mark.parametrize("kernel", [(3, 3), (2, 3), (4, 4), (5, 5), (5, 2)])
    @pytest.mark.parametrize("name", ["correlate2d", "convolve2d"])
    def test_symm_is_half_sample_symmetric(self, name, kernel, mode):
        rng = np.random.default_rng(3003)
        shape = (7, 6)
        w, x = rng.standard_normal(kernel), rng.standard_normal(shape)
        expected = getattr(signal, name)(x, w, mode=mode, boundary="symm")
        pads = pads_for(mode, kernel, self.same(name))
        M = symmetric_conv_matrix(w, shape, pads, flip=name == "convolve2d")
        np.testing.assert_allclose(M @ x.ravel(), expected.ravel(), rtol=0, atol=ATOL)

    @pytest.mark.parametrize("kernel", [(3, 3), (2, 3), (3, 2), (2, 2)])
    def test_symm_with_one_sample_of_padding_is_replicate(self, kernel):
        # With at most one padded sample per side, "d c b a | a b c d" and
        # "a a a a | a b c d" agree: symm is replicate.
        rng = np.random.default_rng(4004)
        w, x = rng.standard_normal(kernel), rng.standard_normal((6, 6))
        expected = signal.correlate2d(x, w, mode="same", boundary="symm")
        M = conv_matrix(w, x.shape, padding="same", padding_mode="replicate")
        np.testing.assert_allclose(M @ x.ravel(), expected.ravel(), rtol=0, atol=ATOL)

    def test_symm_differs_from_reflect_and_replicate_beyond_one_sample(self):
        # A 5x5 "same" pads two samples: symm, reflect and replicate all differ.
        rng = np.random.default_rng(5005)
        w, x = rng.standard_normal((5, 5)), rng.standard_normal((6, 6))
        symm = signal.correlate2d(x, w, mode="same", boundary="symm").ravel()
        for mode in ("reflect", "replicate"):
            M = conv_matrix(w, x.shape, padding="same", padding_mode=mode)
            assert not np.allclose(M @ x.ravel(), symm), mode
        # ... but only at the border: the interior (valid part) is the same.
        interior = conv_matrix(w, x.shape) @ x.ravel()
        np.testing.assert_allclose(symm.reshape(6, 6)[2:-2, 2:-2].ravel(), interior,
                                   rtol=0, atol=ATOL)


class TestNdimage:
    """scipy.ndimage.correlate / convolve: output the input's size, centre K//2 + origin."""

    @staticmethod
    def pads(name, kernel, origin):
        if name == "correlate":
            return tuple((K // 2 + o, (K - 1) // 2 - o) for K, o in zip(kernel, origin))
        # convolve(w, origin=o) is correlate(w[::-1], origin=-o - (K even)).
        return tuple(((K - 1) // 2 - o, K // 2 + o) for K, o in zip(kernel, origin))

    @pytest.mark.parametrize("mode", sorted(NDIMAGE_MODE))
    @pytest.mark.parametrize("kernel, shape, origin", [
        ((3,), (8,), (0,)), ((4,), (8,), (0,)), ((4,), (8,), (-2,)), ((4,), (8,), (1,)),
        ((1,), (5,), (0,)), ((5,), (9,), (2,)), ((6,), (9,), (-1,)),
        ((3, 3), (6, 7), (0, 0)), ((4, 2), (7, 6), (0, 0)), ((2, 5), (6, 7), (-1, 1)),
        ((4, 4), (6, 6), (1, -2)),
        ((3, 3, 3), (4, 5, 4), (0, 0, 0)), ((2, 3, 4), (4, 4, 5), (0, 1, -1)),
    ])
    @pytest.mark.parametrize("name", ["correlate", "convolve"])
    def test_matches(self, name, kernel, shape, origin, mode):
        rng = np.random.default_rng(6006)
        w, x = rng.standard_normal(kernel), rng.standard_normal(shape)
        expected = getattr(ndi, name)(x, w, mode=mode, origin=list(origin))
        M = conv_matrix(w, shape, padding=self.pads(name, kernel, origin),
                        padding_mode=NDIMAGE_MODE[mode], flip=name == "convolve")
        np.testing.assert_allclose(M @ x.ravel(), expected.ravel(), rtol=0, atol=ATOL)

    @pytest.mark.parametrize("kernel, origin", [((3,), (0,)), ((4,), (0,)), ((5,), (-1,)),
                                                ((3, 4), (0, 0)), ((5, 2), (1, 0))])
    @pytest.mark.parametrize("name", ["correlate", "convolve"])
    def test_reflect_is_half_sample_symmetric(self, name, kernel, origin):
        # ndimage's "reflect" is scipy.signal's "symm", not PyTorch's "reflect".
        rng = np.random.default_rng(7007)
        shape = (7,) * len(kernel)
        w, x = rng.standard_normal(kernel), rng.standard_normal(shape)
        expected = getattr(ndi, name)(x, w, mode="reflect", origin=list(origin))
        M = symmetric_conv_matrix(w, shape, self.pads(name, kernel, origin),
                                  flip=name == "convolve")
        np.testing.assert_allclose(M @ x.ravel(), expected.ravel(), rtol=0, atol=ATOL)

    def test_pytorch_reflect_is_ndimage_mirror_not_reflect(self):
        rng = np.random.default_rng(8008)
        w, x = rng.standard_normal(5), rng.standard_normal(9)
        M = conv_matrix(w, x.shape, padding="same", padding_mode="reflect")
        np.testing.assert_allclose(M @ x, ndi.correlate(x, w, mode="mirror"), rtol=0, atol=ATOL)
        assert not np.allclose(M @ x, ndi.correlate(x, w, mode="reflect"))

    def test_convolve_same_with_even_kernel_is_pytorch_same_flipped(self):
        # ndimage.convolve centres an even kernel exactly where convtheory's
        # flip=True with PyTorch's "same" does, unlike scipy.signal.convolve.
        rng = np.random.default_rng(9009)
        w, x = rng.standard_normal((4, 2)), rng.standard_normal((6, 7))
        M = conv_matrix(w, x.shape, padding="same", flip=True)
        np.testing.assert_allclose(M @ x.ravel(), ndi.convolve(x, w, mode="constant").ravel(),
                                   rtol=0, atol=ATOL)
        assert not np.allclose(M @ x.ravel(), signal.convolve(x, w, mode="same").ravel())
