"""Experiments 1 and 2: one conv layer learns a handcrafted filter, or a bank of them."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ...matrices import DEFAULT_MAX_BYTES
from .. import functional as F
from ..data import filter_bank, gaussian, laplacian, sobel_x, sobel_y
from ..layers import Conv2d
from ..train import fit
from ._budget import _IMAGE_ARRAYS, _check_budget, _positive_int
from ._inputs import training_images
from .solvers import patch_conditioning

__all__ = ["BankResult", "FilterResult", "filter_bank_weight", "learn_filter", "learn_filter_bank"]


# --------------------------------------------------------------------------
# 1. One filter
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class FilterResult:
    """What :func:`learn_filter` learned, and how well.

    Attributes
    ----------
    name : str
    true_kernel, learned_kernel : (k, k) ndarray
    max_error : float
        ``max |learned - true|``.
    tol : float
    converged : bool
        ``max_error <= tol``.
    steps : int
        Optimiser steps taken (training stops once ``max_error <= tol``).
    loss_curve : ndarray
    n_images : int
    """

    name: str
    true_kernel: np.ndarray
    learned_kernel: np.ndarray
    max_error: float
    tol: float
    converged: bool
    steps: int
    loss_curve: np.ndarray
    n_images: int
    images: str = "synthetic"
    condition_number: float = float("nan")
    seconds: float = float("nan")


def _kernel(kernel):
    if isinstance(kernel, str):
        bank = filter_bank()
        if kernel not in bank:
            raise ValueError(f"kernel must be an array or one of {sorted(bank)}, got kernel={kernel!r}")
        return kernel, bank[kernel]
    arr = np.asarray(kernel, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"kernel must be a 2-D array, got kernel.shape={arr.shape}")
    return "custom", arr


def learn_filter(kernel="sobel_x", *, n_images: int = 4, size: int = 24, steps: int = 3000,
                 lr: float = 0.05, tol: float = 1e-6, seed: int = 0, optimizer: str = "adam",
                 progress: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                 images: str = "synthetic") -> FilterResult:
    """Learn one filter from (image, filtered image) pairs with a single conv layer.

    The targets are ``conv2d(image, kernel)`` (valid padding, so no border
    convention is learned); the layer is ``Conv2d(1, 1, k, bias=False)``
    from PyTorch's initialisation.  The problem is linear least squares in
    the weights, so the true kernel is the unique minimiser as soon as the
    images excite all ``k*k`` directions.  How fast a first-order method
    gets there depends on the condition number of the patches' second-moment
    matrix, which the result reports: ``images="photos"`` trains on crops of
    the bundled sample photographs (smooth, so worse conditioned than the
    default synthetic images).

    Before making any image, a run is refused (``ValueError`` naming
    ``n_images``, ``size`` and ``steps``) when its arrays would exceed
    ``max_bytes`` (default 2 GiB) or its multiply-adds
    :data:`MAX_TRAINING_WORK`; so are the other experiments here.

    Examples
    --------
    >>> r = learn_filter("sobel_x", seed=0)
    >>> r.converged, r.max_error <= 1e-6
    (True, True)
    """
    name, k = _kernel(kernel)
    sizes = {"n_images": _positive_int(n_images, "n_images"), "size": _positive_int(size, "size"),
             "steps": _positive_int(steps, "steps")}
    pixels = n_images * size * size
    # Three products per step (forward, weight and input gradients), two gathers held.
    _check_budget(sizes, needed_bytes=8 * pixels * (_IMAGE_ARRAYS + 2 * k.size),
                  work=3 * steps * pixels * k.size, max_bytes=max_bytes)
    x = training_images(images, n_images, size, seed)
    y = F.conv2d(x, k[None, None])
    conv = Conv2d(1, 1, k.shape, bias=False, seed=seed)
    start = time.perf_counter()
    curve = fit(conv, x, y, steps=steps, lr=lr, optimizer=optimizer, progress=progress,
                stop=lambda: np.abs(conv.weight.data[0, 0] - k).max() <= tol)
    seconds = time.perf_counter() - start
    learned = conv.weight.data[0, 0].copy()
    err = float(np.abs(learned - k).max())
    return FilterResult(name, k, learned, err, tol, err <= tol, len(curve), curve, n_images, images,
                        patch_conditioning(x, k.shape), seconds)


# --------------------------------------------------------------------------
# 2. A filter bank
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class BankResult:
    """What :func:`learn_filter_bank` learned.

    Attributes
    ----------
    names : tuple of str
        What each output channel computes.
    true_weight, learned_weight : (4, 3, 3, 3) ndarray
    channel_errors : tuple of float
        ``max |learned - true|`` per output channel.
    max_error : float
    steps : int
    loss_curve : ndarray
    """

    names: tuple
    true_weight: np.ndarray
    learned_weight: np.ndarray
    channel_errors: tuple
    max_error: float
    steps: int
    loss_curve: np.ndarray
    images: str = "synthetic"
    condition_number: float = float("nan")
    seconds: float = float("nan")


def filter_bank_weight() -> tuple:
    """A 3->4-channel bank: edges on red and green, a blur of blue, a Laplacian of luminance.

    Examples
    --------
    >>> names, w = filter_bank_weight()
    >>> w.shape, names[0]
    ((4, 3, 3, 3), 'sobel_x(R)')
    """
    w = np.zeros((4, 3, 3, 3))
    w[0, 0] = sobel_x()
    w[1, 1] = sobel_y()
    w[2, 2] = gaussian(1.0, size=3)
    w[3, :] = laplacian() / 3.0
    return ("sobel_x(R)", "sobel_y(G)", "gaussian(B)", "laplacian(mean RGB)"), w


def learn_filter_bank(*, n_images: int = 4, size: int = 20, steps: int = 3000, lr: float = 0.05,
                      tol: float = 1e-6, seed: int = 0, progress: bool = False,
                      max_bytes: int = DEFAULT_MAX_BYTES, images: str = "synthetic") -> BankResult:
    """Learn a 3->4-channel filter bank (:func:`filter_bank_weight`) in one layer.

    Each colour channel of a synthetic input is an independent image;
    ``images="photos"`` trains on colour crops of the bundled photographs,
    whose channels are strongly correlated.

    Examples
    --------
    >>> r = learn_filter_bank(seed=0)
    >>> r.max_error <= 1e-6
    True
    """
    names, w = filter_bank_weight()
    sizes = {"n_images": _positive_int(n_images, "n_images"), "size": _positive_int(size, "size"),
             "steps": _positive_int(steps, "steps")}
    pixels = n_images * size * size  # per channel: 3 in, 4 out
    _check_budget(sizes, needed_bytes=8 * pixels * (7 * _IMAGE_ARRAYS + 2 * w[0].size),
                  work=3 * steps * pixels * w.size, max_bytes=max_bytes)
    x = training_images(images, n_images, size, seed, color=True)
    y = F.conv2d(x, w)
    conv = Conv2d(3, 4, 3, bias=False, seed=seed)
    start = time.perf_counter()
    curve = fit(conv, x, y, steps=steps, lr=lr, progress=progress,
                stop=lambda: np.abs(conv.weight.data - w).max() <= tol)
    seconds = time.perf_counter() - start
    learned = conv.weight.data.copy()
    errors = tuple(float(e) for e in np.abs(learned - w).reshape(4, -1).max(axis=1))
    return BankResult(names, w, learned, errors, max(errors), len(curve), curve, images,
                      patch_conditioning(x, w.shape[1:]), seconds)
