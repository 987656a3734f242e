"""Filter bank against scipy.ndimage's filters; images deterministic from their seed."""

import numpy as np
import pytest
from scipy import ndimage

from convtheory.nn import data
from convtheory.nn.functional import conv2d


@pytest.mark.parametrize("kernel, reference", [
    # scipy's sobel/prewitt differentiate along `axis` and smooth across it.
    (data.sobel_x, lambda img: ndimage.sobel(img, axis=1, mode="wrap")),
    (data.sobel_y, lambda img: ndimage.sobel(img, axis=0, mode="wrap")),
    (data.prewitt_x, lambda img: ndimage.prewitt(img, axis=1, mode="wrap")),
    (data.prewitt_y, lambda img: ndimage.prewitt(img, axis=0, mode="wrap")),
    (data.laplacian, lambda img: ndimage.laplace(img, mode="wrap")),
    (data.box, lambda img: ndimage.uniform_filter(img, 3, mode="wrap")),
    (lambda: data.gaussian(1.0), lambda img: ndimage.gaussian_filter(img, 1.0, mode="wrap", truncate=3.0)),
])
def test_filters_match_scipy_ndimage(kernel, reference):
    img = data.noise_image(12, seed=7)
    k = kernel()
    pad = k.shape[0] // 2
    ours = conv2d(img[None, None], k[None, None], padding=pad, padding_mode="circular")[0, 0]
    np.testing.assert_allclose(ours, reference(img), rtol=0, atol=1e-12)


def test_filter_identities():
    np.testing.assert_array_equal(data.sharpen(), np.pad([[1.0]], 1) - data.laplacian())
    assert data.emboss().sum() == 1.0
    assert abs(data.gaussian(0.7, size=5).sum() - 1) < 1e-15
    assert data.gaussian(2.0).shape == (13, 13)
    assert set(data.filter_bank()) >= {"sobel_x", "laplacian", "gaussian", "box", "sharpen", "emboss"}


@pytest.mark.parametrize("kind", sorted(data.IMAGE_KINDS))
def test_images_are_deterministic_and_distinct(kind):
    a = data.synthetic_images(3, (10, 12), seed=4, kinds=kind)
    b = data.synthetic_images(3, (10, 12), seed=4, kinds=kind)
    c = data.synthetic_images(3, (10, 12), seed=5, kinds=kind)
    assert a.shape == (3, 10, 12) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.1
    assert np.abs(a[0] - a[1]).max() > 0.1


@pytest.mark.parametrize("call, match", [
    (lambda: data.gaussian(0.0), "sigma must be a positive number"),
    (lambda: data.gaussian(1.0, size=4), "size must be a positive odd int"),
    (lambda: data.box(0), "size must be >= 1, got size=0"),
    (lambda: data.synthetic_images(0), "n must be >= 1, got n=0"),
    (lambda: data.synthetic_images(2, kinds=("clouds",)), "kinds must be names from"),
    (lambda: data.synthetic_images(2, shape=(3, 8)), "sides >= 4"),
])
def test_data_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: data.synthetic_images(10**8, 8), r"n must be at most MAX_IMAGES=1,000,000 .* got n=100000000"),
    (lambda: data.synthetic_images(10**5, 24, max_bytes=10**6),
     r"n=100000 images of shape=\(24, 24\) would need about 439.5 MiB, over max_bytes=1,000,000 \(976.6 KiB\); use fewer"),
    (lambda: data.synthetic_images(2, 100_000), r"one image of shape=\(100000, 100000\) would need about 447\.0 GiB, over max_bytes=2,147,483,648"),
    (lambda: data.noise_image((4, 10**9), seed=0), r"one image of shape=\(4, 1000000000\) would need about [\d.]+ GiB, over max_bytes"),
])
def test_data_refuses_absurd_sizes(call, match):
    with pytest.raises(ValueError, match=match):
        call()
