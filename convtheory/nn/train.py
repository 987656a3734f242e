"""Full-batch training of a :class:`~convtheory.nn.Module` on a mean-squared error.

:func:`fit` stops with a :class:`TrainingDiverged` error naming the step if
the loss becomes NaN or infinite, and shows a tqdm progress bar only when
``progress=True``.  The experiments that use it live in
:mod:`convtheory.nn.experiments`; their names stay importable from here.
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from .data import laplacian, synthetic_images
from .layers import Conv2d
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

# The experiments import fit from here, so their names are re-exported
# lazily (PEP 562): either module can be imported first.
_EXPERIMENTS = frozenset(__all__) - {"TrainingDiverged", "fit"}


def __getattr__(name):
    if name in _EXPERIMENTS:
        from . import experiments

        return getattr(experiments, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite during training."""


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
        At most this many optimiser steps.
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

    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got steps={steps!r}")
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
