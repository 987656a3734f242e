"""Conv layers learn handcrafted filters from data: four experiments with their numbers.

1. :func:`learn_filter`: one 3x3 conv learns Sobel x (or any kernel) from
   (image, filtered image) pairs, to 1e-6.
2. :func:`learn_filter_bank`: a 3->4-channel layer learns a bank at once.
3. :func:`learn_composition`: two stacked 3x3 layers learn a 5x5 filter that
   is the composition of two 3x3 filters; the stack's effective kernel
   matches, while each factor is determined only up to scale (and order).
4. :func:`data_efficiency`: conv against dense on translated test images,
   as a function of the number of training images.

Each returns a frozen dataclass of its numbers.  Training stops with a
:class:`TrainingDiverged` error naming the step if the loss becomes NaN or
infinite, and shows a tqdm progress bar only when ``progress=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from ..matrices import DEFAULT_MAX_BYTES
from ..transforms import cyclic_shift
from ..validation import as_count, as_int, check_budget
from . import functional as F
from .data import box, filter_bank, gaussian, laplacian, sobel_x, sobel_y, synthetic_images
from .layers import Conv2d, Linear, Sequential
from .losses import MSELoss
from .optim import SGD, Adam

__all__ = [
    "BankResult",
    "CompositionResult",
    "DataEfficiencyResult",
    "FilterResult",
    "MAX_TRAINING_WORK",
    "TrainingDiverged",
    "data_efficiency",
    "effective_kernel",
    "filter_bank_weight",
    "fit",
    "learn_composition",
    "learn_filter",
    "learn_filter_bank",
    "run_experiments",
]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite during training."""


#: The experiments refuse to start a training run estimated at more
#: multiply-adds than this (a few minutes on one core).
MAX_TRAINING_WORK = 2 * 10**10
#: Most optimiser steps :func:`fit` takes in one call (a bound, so no call hangs).
MAX_FIT_STEPS = 10**6

# Arrays of the size of the images that one conv layer's training holds at
# once, besides its im2col gathers: input, target, output, output gradient,
# input gradient, and slack for the optimiser's temporaries.
_IMAGE_ARRAYS = 6


def _positive_int(value, name: str) -> int:
    return as_int(value, name, minimum=1)


def _check_budget(sizes: dict, *, needed_bytes: int, work: int, max_bytes: int) -> None:
    """Refuse a run, before any image exists, that would not fit in memory or not end."""
    given = ", ".join(f"{k}={v!r}" for k, v in sizes.items())
    check_budget(needed_bytes, max_bytes, given, "use fewer or smaller images")
    if work > MAX_TRAINING_WORK:
        raise ValueError(f"{given} would take ~{work:.2g} multiply-adds, over "
                         f"MAX_TRAINING_WORK={MAX_TRAINING_WORK:.2g} (minutes); use fewer steps, "
                         f"fewer or smaller images")


def _optimizer(name, params, lr):
    if name == "adam":
        return Adam(params, lr=lr)
    if name == "sgd":
        return SGD(params, lr=lr, momentum=0.9)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got optimizer={name!r}")


def fit(model, inputs, targets, *, steps: int, lr: float, optimizer: str = "adam",
        stop=None, progress: bool = False) -> np.ndarray:
    """Full-batch training of ``model`` on ``MSE(model(inputs), targets)``.

    Parameters
    ----------
    model : Module
    inputs, targets : ndarray
    steps : int
        At most this many optimiser steps (1 to :data:`MAX_FIT_STEPS`).
    lr : float
    optimizer : {"adam", "sgd"}
        Adam, or SGD with momentum 0.9.
    stop : callable, optional
        Called after every step; training ends when it returns True.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    loss_curve : ndarray
        The loss before each step taken.

    Raises
    ------
    ValueError
        When ``inputs`` or ``targets`` hold NaN or infinity.
    TrainingDiverged
        When the loss is NaN or infinite, naming the step.

    Examples
    --------
    >>> x = synthetic_images(2, 8, seed=0)[:, None]
    >>> y = F.conv2d(x, laplacian()[None, None])
    >>> curve = fit(Conv2d(1, 1, 3, bias=False, seed=0), x, y, steps=100, lr=0.1)
    >>> bool(curve[-1] < 1e-2 * curve[0])
    True
    """
    from tqdm.auto import tqdm

    steps = as_count(steps, "steps", maximum=MAX_FIT_STEPS)
    for name, arr in (("inputs", inputs), ("targets", targets)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        if bad:  # otherwise the loss is NaN at step 0 and reads like divergence
            raise ValueError(f"{name} must be finite, got {bad} NaN or infinite entries in "
                             f"{name} of shape {np.shape(arr)}")
    loss_fn = MSELoss()
    opt = _optimizer(optimizer, model.parameters(), lr)
    curve = []
    bar = tqdm(range(steps), disable=not progress, desc=type(model).__name__, leave=False)
    try:
        # Overflow is reported as divergence at the step it happens, not as a numpy warning.
        with np.errstate(over="ignore", invalid="ignore"):
            for step in bar:
                model.zero_grad()
                loss = loss_fn(model(inputs), targets)
                if not np.isfinite(loss):
                    raise TrainingDiverged(
                        f"the loss became {loss} at step {step} (lr={lr:g}, optimizer={optimizer!r}); "
                        f"training diverged: use a lower learning rate, e.g. lr={lr / 10:g}"
                    )
                curve.append(loss)
                model.backward(loss_fn.backward())
                opt.step()
                if progress and step % 50 == 0:
                    bar.set_postfix(loss=f"{loss:.3g}")
                if stop is not None and stop():
                    break
    finally:
        bar.close()
    return np.array(curve)


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
                 progress: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> FilterResult:
    """Learn one filter from (image, filtered image) pairs with a single conv layer.

    The targets are ``conv2d(image, kernel)`` (valid padding, so no border
    convention is learned); the layer is ``Conv2d(1, 1, k, bias=False)``
    from PyTorch's initialisation.  The problem is linear least squares in
    the weights, so the true kernel is the unique minimiser as soon as the
    images excite all ``k*k`` directions.

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
    x = synthetic_images(n_images, size, seed=seed)[:, None]
    y = F.conv2d(x, k[None, None])
    conv = Conv2d(1, 1, k.shape, bias=False, seed=seed)
    curve = fit(conv, x, y, steps=steps, lr=lr, optimizer=optimizer, progress=progress,
                stop=lambda: np.abs(conv.weight.data[0, 0] - k).max() <= tol)
    learned = conv.weight.data[0, 0].copy()
    err = float(np.abs(learned - k).max())
    return FilterResult(name, k, learned, err, tol, err <= tol, len(curve), curve, n_images)


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
                      max_bytes: int = DEFAULT_MAX_BYTES) -> BankResult:
    """Learn a 3->4-channel filter bank (:func:`filter_bank_weight`) in one layer.

    Each colour channel of an input is an independent synthetic image.

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
    x = synthetic_images(3 * n_images, size, seed=seed).reshape(n_images, 3, size, size)
    y = F.conv2d(x, w)
    conv = Conv2d(3, 4, 3, bias=False, seed=seed)
    curve = fit(conv, x, y, steps=steps, lr=lr, progress=progress,
                stop=lambda: np.abs(conv.weight.data - w).max() <= tol)
    learned = conv.weight.data.copy()
    errors = tuple(float(e) for e in np.abs(learned - w).reshape(4, -1).max(axis=1))
    return BankResult(names, w, learned, errors, max(errors), len(curve), curve)


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


_FACTORS = {"box": lambda: box(3), "gaussian": lambda: gaussian(1.0, size=3),
            "laplacian": laplacian, "sobel_x": sobel_x, "sobel_y": sobel_y}


def _fit_scale(learned, true):
    c = float(np.vdot(learned, true) / np.vdot(learned, learned))
    return c, float(np.abs(c * learned - true).max())


def learn_composition(first: str = "box", second: str = "box", *, n_images: int = 4,
                      size: int = 20, steps: int = 6000, lr: float = 0.05, tol: float = 1e-6,
                      restarts: int = 1, seed: int = 0, kinds=("noise",),
                      progress: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> CompositionResult:
    """Two stacked 3x3 conv layers learn a 5x5 filter that is a composition.

    The target is ``effective_kernel(first, second)`` applied with valid
    padding.  The stack can match it exactly, but not identify its factors
    uniquely: ``(c a, b / c)`` gives the same effective kernel for every
    ``c != 0``, and so does ``(b, a)``.  The result reports the effective
    kernel's error, the scales, and each factor's error once the best
    scale and order are chosen.

    Training is Adam in three phases of ``steps // 3`` (``lr``, ``lr/10``,
    ``lr/100``): the loss is not convex in the factors, and a constant
    step stalls short of 1e-6.  It is not benign either: for a Gaussian
    composed with a Laplacian, random initialisations end in a spurious
    local minimum (effective error ~0.08) although the exact factors are a
    global minimum that training from near them reaches; ``restarts``
    trains from several initialisations and keeps the lowest loss.

    A repeated factor (box composed with box) is determined only to about
    the square root of the effective error: ``(p + e q)(p - e q) = p^2 -
    e^2 q^2``, so factors off by ``1e-3`` give an effective kernel off by
    ``1e-6``.  Distinct factors are determined to first order.

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
    x = synthetic_images(n_images, size, seed=seed, kinds=kinds)[:, None]
    y = F.conv2d(x, target[None, None])
    best = None
    for r in range(restarts):
        stack = Sequential(Conv2d(1, 1, 3, bias=False, seed=seed + 2 * r),
                           Conv2d(1, 1, 3, bias=False, seed=seed + 2 * r + 1))

        def effective(stack=stack):
            return effective_kernel(stack[0].weight.data[0, 0], stack[1].weight.data[0, 0])

        curves = []
        for phase_lr in (lr, lr / 10, lr / 100):
            curves.append(fit(stack, x, y, steps=max(steps // 3, 1), lr=phase_lr,
                              progress=progress,
                              stop=lambda: np.abs(effective() - target).max() <= tol))
            if np.abs(effective() - target).max() <= tol:
                break
        curve = np.concatenate(curves)
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
        (c1, c2), (e1, e2), bool(swapped), float(np.abs(rescaled - eff).max()), len(curve), curve)


# --------------------------------------------------------------------------
# 4. Data efficiency
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class DataEfficiencyResult:
    """Test error of a conv and a dense layer against the number of training images.

    Attributes
    ----------
    kernel_name : str
    size : int
        Images are ``size x size``; the dense layer has ``size**4`` weights.
    n_train : tuple of int
    conv_error, dense_error : tuple of float
        Relative test error ``||pred - y||^2 / ||y||^2`` on translated
        test images, per entry of ``n_train``.
    n_test : int
    conv_parameters, dense_parameters : int
    """

    kernel_name: str
    size: int
    n_train: tuple
    conv_error: tuple
    dense_error: tuple
    n_test: int
    conv_parameters: int
    dense_parameters: int

    def table(self) -> str:
        """A markdown table of the errors.

        Examples
        --------
        >>> r = DataEfficiencyResult("sobel_x", 8, (1,), (0.0,), (0.5,), 4, 9, 4096)
        >>> print(r.table())
        | training images | conv test error | dense test error |
        |---:|---:|---:|
        | 1 | 0 | 0.5 |
        """
        rows = [f"| {n} | {c:.3g} | {d:.3g} |"
                for n, c, d in zip(self.n_train, self.conv_error, self.dense_error)]
        return "\n".join(["| training images | conv test error | dense test error |",
                          "|---:|---:|---:|"] + rows)


def data_efficiency(kernel="sobel_x", *, n_train=(1, 2, 4, 8, 16, 32, 64), size: int = 12,
                    n_test: int = 16, steps: int = 1500, lr: float = 0.05, seed: int = 0,
                    progress: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
                    ) -> DataEfficiencyResult:
    """Conv against dense on the same filtering task, tested on translated images.

    Targets are ``kernel`` applied with circular 'same' padding, so the task
    is exactly translation equivariant.  The conv layer (``k*k`` weights)
    and a dense ``Linear(size**2, size**2)`` (zero-initialised, so it ends
    near the minimum-norm fit) are trained on the first ``n`` images; both
    are tested on fresh images, each cyclically translated by a random shift.

    The conv layer's weight sharing is the prior that the task is the same
    everywhere: one image pins its few weights.  The dense layer must see
    about ``size**2`` images before it has seen every direction of its input.

    Examples
    --------
    >>> r = data_efficiency(n_train=(2, 8), size=8, steps=300, seed=0)
    >>> [bool(c < 1e-4) for c in r.conv_error], [bool(d > 0.3) for d in r.dense_error]
    ([True, True], [True, True])
    """
    name, k = _kernel(kernel)
    n_train = tuple(int(n) for n in n_train)
    if not n_train or min(n_train) < 1:
        raise ValueError(f"n_train must be positive ints, got n_train={n_train!r}")
    sizes = {"n_train": n_train, "size": _positive_int(size, "size"),
             "n_test": _positive_int(n_test, "n_test"), "steps": _positive_int(steps, "steps")}
    d = size * size
    # The dense layer holds its weight, gradient and Adam's two moments: 4 d^2 floats.
    _check_budget(sizes, needed_bytes=8 * ((max(n_train) + n_test) * d * (_IMAGE_ARRAYS + 2 * k.size)
                                           + 4 * d * d),
                  work=3 * steps * sum(n_train) * d * (k.size + d), max_bytes=max_bytes)
    conv_kw = dict(padding="same", padding_mode="circular")
    rng = np.random.default_rng(seed)
    train = synthetic_images(max(n_train), size, seed=seed)[:, None]
    fresh = synthetic_images(n_test, size, seed=seed + 1)
    test = np.stack([cyclic_shift(img, tuple(rng.integers(0, size, 2))) for img in fresh])[:, None]
    w = k[None, None]
    y_train, y_test = F.conv2d(train, w, **conv_kw), F.conv2d(test, w, **conv_kw)

    def rel(pred, y):
        return float(np.sum((pred - y) ** 2) / np.sum(y ** 2))

    conv_err, dense_err = [], []
    for n in n_train:
        conv = Conv2d(1, 1, k.shape, bias=False, seed=seed, **conv_kw)
        fit(conv, train[:n], y_train[:n], steps=steps, lr=lr, progress=progress)
        conv_err.append(rel(conv(test), y_test))
        dense = Linear(d, d, bias=False, seed=seed)
        dense.weight.data[...] = 0.0
        fit(dense, train[:n].reshape(n, d), y_train[:n].reshape(n, d), steps=steps, lr=lr,
            progress=progress)
        dense_err.append(rel(dense(test.reshape(n_test, d)), y_test.reshape(n_test, d)))
    return DataEfficiencyResult(name, size, n_train, tuple(conv_err), tuple(dense_err), n_test,
                                k.size, d * d)


def run_experiments(*, quick: bool = False, seed: int = 0, progress: bool = False) -> dict:
    """All four experiments with their default settings, by name.

    Parameters
    ----------
    quick : bool
        Smaller composition and data-efficiency runs (a few seconds in all),
        for smoke tests; the numbers are less converged.
    seed : int
    progress : bool
        Progress bars for the long runs (the command line turns them on).

    Returns
    -------
    dict
        ``{"filter": FilterResult, "bank": BankResult, "composition":
        CompositionResult, "data_efficiency": DataEfficiencyResult}``.

    Examples
    --------
    >>> results = run_experiments(quick=True)
    >>> sorted(results), results["filter"].converged
    (['bank', 'composition', 'data_efficiency', 'filter'], True)
    """
    composition = dict(steps=1500) if quick else {}
    efficiency = dict(n_train=(1, 4, 16), size=8, steps=300) if quick else {}
    return {
        "filter": learn_filter("sobel_x", seed=seed, progress=progress),
        "bank": learn_filter_bank(seed=seed, progress=progress),
        "composition": learn_composition("box", "box", seed=seed, progress=progress, **composition),
        "data_efficiency": data_efficiency("sobel_x", seed=seed, progress=progress, **efficiency),
    }
