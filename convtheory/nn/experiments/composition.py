"""Experiment 3: two stacked conv layers learn a composition of two filters."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import signal

from ...matrices import DEFAULT_MAX_BYTES
from ...validation import as_count
from .. import functional as F
from ..data import box, gaussian, laplacian, sobel_x, sobel_y
from ..layers import Conv2d, Sequential
from ..train import fit
from ._budget import _IMAGE_ARRAYS, _check_budget, _positive_int
from ._inputs import training_images
from .solvers import lbfgs_fit, patch_conditioning

__all__ = ["CompositionResult", "effective_kernel", "learn_composition"]


# --------------------------------------------------------------------------
# 3. Composition
# --------------------------------------------------------------------------
def effective_kernel(first, second) -> np.ndarray:
    """The single kernel of two stacked cross-correlations (first, then second).

    ``second ⋆ (first ⋆ x) = e ⋆ x`` with ``e[u] = sum_{i+j=u} first[i] second[j]``:
    the *full convolution* of the two kernels, of size ``k1 + k2 - 1``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b, x = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal((9, 9))
    >>> stacked = F.conv2d(F.conv2d(x[None], a[None, None]), b[None, None])
    >>> np.allclose(stacked, F.conv2d(x[None], effective_kernel(a, b)[None, None]))
    True
    """
    return signal.convolve2d(np.asarray(first, float), np.asarray(second, float), mode="full")


@dataclass(frozen=True)
class CompositionResult:
    """What :func:`learn_composition` learned.

    Attributes
    ----------
    factor_names : (str, str)
    target : (5, 5) ndarray
        ``effective_kernel(first, second)`` of the true factors.
    first_true, second_true, first_learned, second_learned : (3, 3) ndarray
    effective_learned : (5, 5) ndarray
        The effective kernel of the trained stack.
    effective_error : float
        ``max |effective_learned - target|``.
    scales : (float, float)
        The least-squares scales ``c1, c2`` with ``c_i * learned_i ≈ true_i``
        (after choosing the better order); ``c1 * c2 ≈ 1``.
    factor_errors : (float, float)
        ``max |c_i * learned_i - true_i|``: how far each factor is
        determined once the scale freedom is removed.
    swapped : bool
        True when the stack learned the factors in the other order
        (convolution commutes, so both orders are exact).
    rescaling_error : float
        ``max |effective(c a, b / c) - effective(a, b)|`` for the learned
        factors and ``c = 3.7``: the scale freedom is exact.
    steps : int
    loss_curve : ndarray
    """

    factor_names: tuple
    target: np.ndarray
    first_true: np.ndarray
    second_true: np.ndarray
    first_learned: np.ndarray
    second_learned: np.ndarray
    effective_learned: np.ndarray
    effective_error: float
    scales: tuple
    factor_errors: tuple
    swapped: bool
    rescaling_error: float
    steps: int
    loss_curve: np.ndarray
    images: str = "synthetic"
    solver: str = "adam"
    condition_number: float = float("nan")
    seconds: float = float("nan")


_FACTORS = {"box": lambda: box(3), "gaussian": lambda: gaussian(1.0, size=3),
            "laplacian": laplacian, "sobel_x": sobel_x, "sobel_y": sobel_y}


def _fit_scale(learned, true):
    c = float(np.vdot(learned, true) / np.vdot(learned, learned))
    return c, float(np.abs(c * learned - true).max())


def learn_composition(first: str = "box", second: str = "box", *, n_images: int = 4,
                      size: int = 20, steps: int = 6000, lr: float = 0.05, tol: float = 1e-6,
                      restarts: int = 1, seed: int = 0, kinds=("noise",),
                      progress: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                      images: str = "synthetic", solver: str = "adam") -> CompositionResult:
    """Two stacked 3x3 conv layers learn a 5x5 filter that is a composition.

    The target is ``effective_kernel(first, second)`` applied with valid
    padding.  The stack can match it exactly, but not identify its factors
    uniquely: ``(c a, b / c)`` gives the same effective kernel for every
    ``c != 0``, and so does ``(b, a)``.  The result reports the effective
    kernel's error, the scales, and each factor's error once the best
    scale and order are chosen.

    ``solver="adam"`` trains with one Adam optimiser whose learning rate
    decays exponentially from ``lr`` to ``lr / 100`` over ``steps``: the loss
    is not convex in the factors, and a constant step stalls short of 1e-6.
    Restarting Adam at a lower rate instead resets its moment estimates, and
    its first steps then throw the loss from 1e-9 back to 1e-4; a smooth
    decay does not.  Adam still needs many thousands of steps to approach
    1e-6 here.  ``solver="lbfgs"`` minimises the same loss from the same
    initialisation with scipy's L-BFGS-B
    (:func:`~convtheory.nn.experiments.lbfgs_fit`), for at most ``steps``
    iterations; ``loss_curve`` is then the loss at each iteration.

    The loss is not benign either: for a Gaussian
    composed with a Laplacian, random initialisations end in a spurious
    local minimum (effective error ~0.08) although the exact factors are a
    global minimum that training from near them reaches; ``restarts``
    trains from several initialisations and keeps the lowest loss.

    A repeated factor (box composed with box) is determined only to about
    the square root of the effective error: ``(p + e q)(p - e q) = p^2 -
    e^2 q^2``, so factors off by ``1e-3`` give an effective kernel off by
    ``1e-6``.  Distinct factors are determined to first order.

    ``images="photos"`` trains on crops of the bundled photographs (``kinds``
    applies to synthetic images only).

    Examples
    --------
    >>> r = learn_composition("box", "box", steps=3000, seed=0)
    >>> bool(r.effective_error < 1e-4), r.swapped, round(r.scales[0] * r.scales[1], 4)
    (True, False, 1.0)
    """
    for arg, name in (("first", first), ("second", second)):
        if name not in _FACTORS:
            raise ValueError(f"{arg} must be one of {sorted(_FACTORS)}, got {arg}={name!r}")
    a, b = _FACTORS[first](), _FACTORS[second]()
    target = effective_kernel(a, b)
    restarts = as_count(restarts, "restarts", maximum=1000)
    sizes = {"n_images": _positive_int(n_images, "n_images"), "size": _positive_int(size, "size"),
             "steps": _positive_int(steps, "steps"), "restarts": restarts}
    pixels = n_images * size * size
    _check_budget(sizes, needed_bytes=8 * pixels * (2 * _IMAGE_ARRAYS + 4 * 9),
                  work=2 * 3 * restarts * steps * pixels * 9, max_bytes=max_bytes)
    if solver not in ("adam", "lbfgs"):
        raise ValueError(f"solver must be 'adam' or 'lbfgs', got solver={solver!r}")
    x = training_images(images, n_images, size, seed, kinds=kinds)
    y = F.conv2d(x, target[None, None])
    start = time.perf_counter()
    best = None
    for r in range(restarts):
        stack = Sequential(Conv2d(1, 1, 3, bias=False, seed=seed + 2 * r),
                           Conv2d(1, 1, 3, bias=False, seed=seed + 2 * r + 1))

        def effective(stack=stack):
            return effective_kernel(stack[0].weight.data[0, 0], stack[1].weight.data[0, 0])

        def error(effective=effective):
            return float(np.abs(effective() - target).max())

        if solver == "adam":
            curve = fit(stack, x, y, steps=steps, lr=lr, progress=progress,
                        schedule=lambda step: 0.01 ** (step / steps), stop=lambda: error() <= tol)
        else:
            curve = lbfgs_fit(stack, x, y, error, tol=tol, maxiter=steps).loss_curve
        final = float(np.mean((stack(x) - y) ** 2))
        if best is None or final < best[0]:
            best = (final, stack, curve, effective)
    _, stack, curve, effective = best
    la, lb = stack[0].weight.data[0, 0].copy(), stack[1].weight.data[0, 0].copy()
    eff = effective()
    straight = (_fit_scale(la, a), _fit_scale(lb, b))
    crossed = (_fit_scale(la, b), _fit_scale(lb, a))
    swapped = max(e for _, e in crossed) < max(e for _, e in straight)
    (c1, e1), (c2, e2) = crossed if swapped else straight
    rescaled = effective_kernel(3.7 * la, lb / 3.7)
    return CompositionResult(
        (first, second), target, a, b, la, lb, eff, float(np.abs(eff - target).max()),
        (c1, c2), (e1, e2), bool(swapped), float(np.abs(rescaled - eff).max()), len(curve), curve,
        images, solver, patch_conditioning(x, target.shape), time.perf_counter() - start)
