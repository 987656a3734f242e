"""The handcrafted filters of image processing, and synthetic images to learn them from.

Filters are 2-D kernels for *cross-correlation* (what conv layers compute):
``sobel_x`` responds positively to intensity increasing along x (columns).
Images are deterministic functions of a seed, so experiments need no download
and give the same numbers everywhere.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import ndimage

from ..matrices import DEFAULT_MAX_BYTES
from ..validation import as_int, check_budget

__all__ = [
    "IMAGE_KINDS",
    "MAX_IMAGES",
    "box",
    "emboss",
    "filter_bank",
    "gaussian",
    "gaussian_derivative",
    "laplacian",
    "noise_image",
    "prewitt_x",
    "prewitt_y",
    "shapes_image",
    "sharpen",
    "smooth_field",
    "sobel_x",
    "sobel_y",
    "synthetic_images",
    "texture_image",
]


# --------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------
def sobel_x() -> np.ndarray:
    """Sobel derivative along x (columns), smoothed along y.

    Examples
    --------
    >>> sobel_x()
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    """
    return np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_y() -> np.ndarray:
    """Sobel derivative along y (rows): the transpose of :func:`sobel_x`.

    Examples
    --------
    >>> bool((sobel_y() == sobel_x().T).all())
    True
    """
    return sobel_x().T.copy()


def prewitt_x() -> np.ndarray:
    """Prewitt derivative along x: a central difference, box-smoothed along y.

    Examples
    --------
    >>> prewitt_x()[0]
    array([-1.,  0.,  1.])
    """
    return np.array([[-1.0, 0.0, 1.0]] * 3)


def prewitt_y() -> np.ndarray:
    """Prewitt derivative along y.

    Examples
    --------
    >>> prewitt_y()[:, 0]
    array([-1.,  0.,  1.])
    """
    return prewitt_x().T.copy()


def laplacian() -> np.ndarray:
    """The 5-point discrete Laplacian.

    Examples
    --------
    >>> laplacian().sum()
    np.float64(0.0)
    """
    return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def gaussian(sigma: float = 1.0, size: int | None = None) -> np.ndarray:
    """A normalised, sampled Gaussian ``exp(-r^2 / (2 sigma^2))``.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, > 0.
    size : int, optional
        Odd side length; default ``2 * ceil(3 sigma) + 1``.

    Examples
    --------
    >>> g = gaussian(1.0, size=3)
    >>> round(float(g.sum()), 12), bool(g[1, 1] == g.max())
    (1.0, True)
    """
    if not isinstance(sigma, numbers.Real) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number, got sigma={sigma!r}")
    if size is None:
        size = 2 * int(np.ceil(3 * sigma)) + 1
    if not isinstance(size, numbers.Integral) or size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd int, got size={size!r}")
    r = np.arange(size) - size // 2
    g1 = np.exp(-(r * r) / (2.0 * sigma * sigma))
    g = np.outer(g1, g1)
    return g / g.sum()


def gaussian_derivative(axis: str = "x", sigma: float = 1.0, size: int = 3) -> np.ndarray:
    """The derivative of a sampled Gaussian along ``x`` (columns) or ``y`` (rows).

    ``-u / sigma^2 * g(u, v)``, sampled on the ``size x size`` grid and scaled
    to unit sum of absolute values; positive where intensity increasing along
    the axis is met, like :func:`sobel_x`.

    Examples
    --------
    >>> d = gaussian_derivative("x")
    >>> bool(np.allclose(d, -d[:, ::-1])), bool((np.sign(d) == np.sign(sobel_x())).all())
    (True, True)
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got axis={axis!r}")
    g = gaussian(sigma, size)
    u = np.arange(size) - size // 2
    d = g * (u[None, :] / (sigma * sigma))
    d = d / np.abs(d).sum()
    return d if axis == "x" else d.T.copy()


def box(size: int = 3) -> np.ndarray:
    """The mean filter: ``size x size`` ones over ``size**2``.

    Examples
    --------
    >>> box(2)
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    size = as_int(size, "size", minimum=1)
    return np.full((size, size), 1.0 / (size * size))


def sharpen() -> np.ndarray:
    """Identity plus a negative Laplacian: ``delta - laplacian()``.

    Examples
    --------
    >>> sharpen()[1]
    array([-1.,  5., -1.])
    """
    delta = np.zeros((3, 3))
    delta[1, 1] = 1.0
    return delta - laplacian()


def emboss() -> np.ndarray:
    """The emboss filter: a diagonal derivative plus the identity.

    Examples
    --------
    >>> emboss()[0]
    array([-2., -1.,  0.])
    """
    return np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


def filter_bank(sigma: float = 1.0) -> dict:
    """The handcrafted 3x3 filters, by name.

    Examples
    --------
    >>> sorted(filter_bank())
    ['box', 'emboss', 'gaussian', 'laplacian', 'prewitt_x', 'prewitt_y', 'sharpen', 'sobel_x', 'sobel_y']
    """
    return {
        "sobel_x": sobel_x(), "sobel_y": sobel_y(),
        "prewitt_x": prewitt_x(), "prewitt_y": prewitt_y(),
        "laplacian": laplacian(), "gaussian": gaussian(sigma, size=3),
        "box": box(3), "sharpen": sharpen(), "emboss": emboss(),
    }


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------
#: At most this many images from :func:`synthetic_images`: each costs ~50 us
#: of Python, so a million already takes about a minute.
MAX_IMAGES = 10**6

# A generator holds about this many float64/int64 arrays of one image at once
# (the image, the noise, np.mgrid's rows and cols, a mask).
_IMAGE_TEMPORARIES = 6


def _shape(shape) -> tuple:
    if isinstance(shape, numbers.Integral):
        shape = (shape, shape)
    shape = tuple(shape)
    if len(shape) != 2 or not all(isinstance(s, numbers.Integral) and s >= 4 for s in shape):
        raise ValueError(f"shape must be an int or (H, W) with sides >= 4, got shape={shape!r}")
    shape = tuple(int(s) for s in shape)
    needed = shape[0] * shape[1] * 8 * _IMAGE_TEMPORARIES
    # Refuse before allocating, not with a MemoryError.
    check_budget(needed, DEFAULT_MAX_BYTES, f"one image of shape={shape!r}", "use smaller sides")
    return shape


def _standardise(img: np.ndarray) -> np.ndarray:
    img = img - img.mean()
    std = img.std()
    return img / std if std > 0 else img


def noise_image(shape, seed: int) -> np.ndarray:
    """White Gaussian noise: every filter is identifiable from it.

    Examples
    --------
    >>> noise_image(8, seed=0).shape
    (8, 8)
    """
    return np.random.default_rng(seed).standard_normal(_shape(shape))


def smooth_field(shape, seed: int, length_scale: float = 2.0) -> np.ndarray:
    """A smooth random field: periodic Gaussian-filtered noise, standardised.

    Examples
    --------
    >>> f = smooth_field((16, 16), seed=1)
    >>> round(float(f.mean()), 12), round(float(f.std()), 12)
    (0.0, 1.0)
    """
    noise = np.random.default_rng(seed).standard_normal(_shape(shape))
    return _standardise(ndimage.gaussian_filter(noise, length_scale, mode="wrap"))


def shapes_image(shape, seed: int, n_shapes: int = 5) -> np.ndarray:
    """Rectangles and discs of random intensity on a dark background.

    Examples
    --------
    >>> img = shapes_image(16, seed=2)
    >>> img.shape, bool(np.unique(img).size > 2)
    ((16, 16), True)
    """
    h, w = _shape(shape)
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w))
    for _ in range(n_shapes):
        value = rng.uniform(-1.0, 1.0)
        if rng.random() < 0.5:
            r0, c0 = rng.integers(0, h - 2), rng.integers(0, w - 2)
            img[r0:r0 + rng.integers(2, h // 2 + 2), c0:c0 + rng.integers(2, w // 2 + 2)] = value
        else:
            r, c, radius = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(1.5, min(h, w) / 3)
            img[(rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2] = value
    return _standardise(img + 0.05 * rng.standard_normal((h, w)))


def texture_image(shape, seed: int, n_waves: int = 4) -> np.ndarray:
    """A texture: a sum of oriented sinusoidal gratings plus a little noise.

    Examples
    --------
    >>> texture_image((12, 20), seed=3).shape
    (12, 20)
    """
    h, w = _shape(shape)
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w))
    for _ in range(n_waves):
        theta, freq, phase = rng.uniform(0, np.pi), rng.uniform(0.15, 0.45), rng.uniform(0, 2 * np.pi)
        img += np.cos(2 * np.pi * freq * (rows * np.sin(theta) + cols * np.cos(theta)) + phase)
    return _standardise(img + 0.1 * rng.standard_normal((h, w)))


#: Image generators by name, for :func:`synthetic_images`.
IMAGE_KINDS = {"smooth": smooth_field, "shapes": shapes_image, "texture": texture_image,
               "noise": noise_image}


def synthetic_images(n: int, shape=32, seed: int = 0,
                     kinds=("smooth", "shapes", "texture", "noise"), *,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """A deterministic stack of ``n`` images, cycling through ``kinds``.

    Image ``i`` depends only on ``(seed, i)``, so a larger ``n`` extends a
    smaller one.

    Parameters
    ----------
    n : int
    shape : int or (H, W)
    seed : int
    kinds : sequence of str
        Names from :data:`IMAGE_KINDS`.
    max_bytes : int
        Refuse (``ValueError``), before generating anything, a stack larger
        than this (default 2 GiB); ``n`` is also at most :data:`MAX_IMAGES`.

    Returns
    -------
    (n, H, W) ndarray of float64

    Examples
    --------
    >>> a = synthetic_images(3, 8, seed=5)
    >>> b = synthetic_images(5, 8, seed=5)
    >>> a.shape, bool((a == b[:3]).all())
    ((3, 8, 8), True)
    """
    n = as_int(n, "n", minimum=1)
    if n > MAX_IMAGES:
        raise ValueError(f"n must be at most MAX_IMAGES={MAX_IMAGES:,} (about a minute to "
                         f"generate), got n={n!r}")
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = [k for k in kinds if k not in IMAGE_KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds must be names from {sorted(IMAGE_KINDS)}, got kinds={kinds!r}")
    shape = _shape(shape)
    needed = int(n) * shape[0] * shape[1] * 8
    check_budget(needed, max_bytes, f"n={n!r} images of shape={shape!r}",
                 "use fewer or smaller images")
    seeds = np.random.SeedSequence(seed).spawn(n)
    return np.stack([IMAGE_KINDS[kinds[i % len(kinds)]](shape, seeds[i]) for i in range(n)])
