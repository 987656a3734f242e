"""Real data that ships inside the scikit-image and scikit-learn wheels: no download.

* :func:`photo_crops`: crops of scikit-image's sample photographs
  (``camera``, ``coins``, ``moon``, ``text`` and the luminance or colour of
  ``astronaut``), each standardised to zero mean and unit variance.
* :func:`translated_digits`: scikit-learn's 1,797 handwritten 8x8 digits,
  each pasted at a random offset on a larger blank canvas.

Both datasets are read from files inside the installed packages
(``skimage/data/*.png`` and ``sklearn/datasets/data/digits.csv.gz``);
neither library fetches them over the network.  Every result is a
deterministic function of its seed.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

__all__ = ["COLOR_PHOTOS", "DIGIT_POOL", "PHOTOS", "photo_crops", "translated_digits"]

#: The sample photographs used, in the order crops cycle through them; all
#: are bundled with scikit-image (``skimage.data``), none needs ``pooch``.
PHOTOS = ("camera", "coins", "moon", "astronaut", "text")

#: The bundled colour photographs, for colour crops: a greyscale photograph
#: would give three equal channels, from which no filter bank is identifiable.
COLOR_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")

#: ``translated_digits`` draws its training digits from the first
#: ``DIGIT_POOL`` of a seeded permutation of the 1,797 digits and its test
#: digits from the rest, so that no test digit is ever trained on.
DIGIT_POOL = 1000

_MAX_CROPS = 10_000
_MAX_DIGITS = 100_000


def _count(value, name, limit):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= limit:
        raise ValueError(f"{name} must be an int in [1, {limit:,}], got {name}={value!r}")
    return int(value)


@functools.lru_cache(maxsize=None)
def _photo(name: str, color: bool) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)().astype(np.float64) / 255.0
    if img.ndim == 3:
        img = img[..., :3]
        if not color:  # ITU-R 601 luminance, as skimage.color.rgb2gray
            img = img @ np.array([0.2125, 0.7154, 0.0721])
    img.setflags(write=False)
    return img


def photo_crops(n: int, size: int = 32, seed: int = 0, *, color: bool = False,
                photos=None) -> np.ndarray:
    """``n`` random ``size x size`` crops of the bundled sample photographs.

    Crop ``i`` comes from photograph ``PHOTOS[i % 5]`` (``COLOR_PHOTOS[i %
    4]`` when ``color=True``) at a random position; each crop (each channel
    of a colour crop) is standardised to zero mean and unit variance, as
    :func:`~convtheory.nn.data.synthetic_images` does.

    Parameters
    ----------
    n : int
        At most 10,000.
    size : int
        Side of a crop, 4 to 172 (the height of ``text``).
    seed : int
    color : bool
        ``(n, 3, size, size)`` RGB crops of :data:`COLOR_PHOTOS` instead of
        ``(n, size, size)`` luminance crops of :data:`PHOTOS`.
    photos : sequence of str, optional
        Names to cycle through instead (one name: crops of one photograph).

    Returns
    -------
    ndarray of float64

    Examples
    --------
    >>> x = photo_crops(5, 16, seed=0)
    >>> x.shape, round(float(x[0].mean()), 12), round(float(x[0].std()), 12)
    ((5, 16, 16), 0.0, 1.0)
    >>> photo_crops(2, 8, seed=1, color=True).shape
    (2, 3, 8, 8)
    """
    n = _count(n, "n", _MAX_CROPS)
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or not 4 <= size <= 172:
        raise ValueError(f"size must be an int in [4, 172], got size={size!r}")
    if not isinstance(color, bool):
        raise TypeError(f"color must be a bool, got color={color!r}")
    allowed = COLOR_PHOTOS if color else PHOTOS
    photos = allowed if photos is None else ((photos,) if isinstance(photos, str) else tuple(photos))
    if not photos or any(p not in allowed for p in photos):
        raise ValueError(f"photos must be names from {allowed}, got photos={photos!r}")
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(n):
        img = _photo(photos[i % len(photos)], color)
        r = rng.integers(0, img.shape[0] - size + 1)
        c = rng.integers(0, img.shape[1] - size + 1)
        crop = img[r:r + size, c:c + size]
        crop = np.moveaxis(crop, -1, 0) if color else crop[None]
        crop = crop - crop.mean(axis=(1, 2), keepdims=True)
        std = crop.std(axis=(1, 2), keepdims=True)
        crops.append(crop / np.where(std > 0, std, 1.0))
    out = np.stack(crops)
    return out if color else out[:, 0]


@functools.lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    images, labels = d.images / 16.0, d.target.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def translated_digits(n: int, *, canvas: int = 16, split: str = "train", seed: int = 0,
                      dtype=np.float32) -> tuple:
    """Handwritten 8x8 digits, each at a random offset on a ``canvas x canvas`` blank image.

    The 1,797 digits of ``sklearn.datasets.load_digits`` (values 0..16,
    scaled to 0..1) are permuted by ``seed``; ``split="train"`` takes the
    first ``n`` of the first :data:`DIGIT_POOL`, ``split="test"`` the first
    ``n`` of the other 797.  Each digit's top-left corner is drawn uniformly
    from ``0 .. canvas - 8`` in each axis, so test digits sit at positions
    that no training digit needed to occupy.

    Parameters
    ----------
    n : int
    canvas : int
        At least 8 and at most 64.
    split : {"train", "test"}
    seed : int
    dtype : {np.float32, np.float64}

    Returns
    -------
    images : (n, 1, canvas, canvas) ndarray
    labels : (n,) ndarray of int64

    Examples
    --------
    >>> x, y = translated_digits(4, seed=0)
    >>> x.shape, x.dtype, y.shape
    ((4, 1, 16, 16), dtype('float32'), (4,))
    >>> [int(np.count_nonzero(img.any(axis=0))) <= 8 for img in x[:, 0]]   # 8 columns at most
    [True, True, True, True]
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got split={split!r}")
    images, labels = _digits()
    pool = DIGIT_POOL if split == "train" else len(images) - DIGIT_POOL
    n = _count(n, "n", pool)
    if isinstance(canvas, bool) or not isinstance(canvas, numbers.Integral) or not 8 <= canvas <= 64:
        raise ValueError(f"canvas must be an int in [8, 64], got canvas={canvas!r}")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got dtype={dtype!r}")
    order = np.random.default_rng(seed).permutation(len(images))
    chosen = order[:DIGIT_POOL][:n] if split == "train" else order[DIGIT_POOL:][:n]
    # The offsets have their own stream, one per split, so that n does not change them.
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    offsets = rng.integers(0, canvas - 8 + 1, size=(len(chosen), 2))
    out = np.zeros((len(chosen), 1, canvas, canvas), dtype=dtype)
    for img, idx, (r, c) in zip(out, chosen, offsets):
        img[0, r:r + 8, c:c + 8] = images[idx]
    return out, labels[chosen].copy()
