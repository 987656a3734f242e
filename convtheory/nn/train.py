"""Training loops for a :class:`~convtheory.nn.Module`.

* :func:`fit`: full-batch steps on a mean-squared error (the filter
  experiments: a loss that must reach 1e-12).
* :func:`fit_epochs`: epochs of minibatches from a
  :class:`~convtheory.nn.loader.DataLoader` on any loss, with training and
  validation loss and accuracy per epoch (a :class:`History`).

Both stop with a :class:`TrainingDiverged` error naming the step if the loss
becomes NaN or infinite, and show tqdm progress bars only when
``progress=True``.  The experiments that use them live above, in
:mod:`convtheory.nn.experiments`, and are imported from there: this module
knows nothing of them.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass

import numpy as np

from ..validation import as_count
from . import functional as F
from .data import laplacian, synthetic_images
from .layers import Conv2d
from .losses import CrossEntropyLoss, MSELoss
from .optim import SGD, Adam

__all__ = [
    "History",
    "MAX_EPOCHS",
    "MAX_FIT_STEPS",
    "TrainingDiverged",
    "evaluate",
    "fit",
    "fit_epochs",
]


#: Most optimiser steps :func:`fit` takes in one call (a bound, so no call hangs).
MAX_FIT_STEPS = 10**6


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite during training."""


def _optimizer(name, params, lr):
    if name == "adam":
        return Adam(params, lr=lr)
    if name == "sgd":
        return SGD(params, lr=lr, momentum=0.9)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got optimizer={name!r}")


def fit(model, inputs, targets, *, steps: int, lr: float, optimizer: str = "adam",
        stop=None, progress: bool = False, schedule=None) -> np.ndarray:
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
    schedule : callable, optional
        ``schedule(step) -> factor``: step ``step`` uses ``lr * factor``
        (as ``torch.optim.lr_scheduler.LambdaLR``).  One optimiser keeps its
        state throughout, so a decaying rate does not restart Adam's moments.

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
                if schedule is not None:
                    opt.lr = lr * float(schedule(step))
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


#: :func:`fit_epochs` refuses more epochs than this.
MAX_EPOCHS = 100_000


@dataclass(frozen=True)
class History:
    """Per-epoch numbers of :func:`fit_epochs`, as Keras' ``History.history``.

    Attributes
    ----------
    train_loss, train_accuracy : tuple of float
        Means over the epoch's minibatches, weighted by batch size, measured
        while training (so with the weights of each batch's step).
    val_loss, val_accuracy : tuple of float
        On the validation set after each epoch; empty without one.
    seconds : float
        Wall time of all epochs.

    Accuracies are the fraction of argmax predictions equal to the target,
    and NaN unless the loss is a :class:`~convtheory.nn.CrossEntropyLoss`.
    """

    train_loss: tuple
    train_accuracy: tuple
    val_loss: tuple
    val_accuracy: tuple
    seconds: float


def _accuracy(loss_fn, out, target) -> float:
    if not isinstance(loss_fn, CrossEntropyLoss):
        return float("nan")
    return float(np.mean(np.argmax(out, axis=1) == target))


def evaluate(model, inputs, targets, *, loss=None, batch_size: int = 256) -> tuple:
    """``(loss, accuracy)`` of ``model`` on a dataset, in batches of ``batch_size``.

    Examples
    --------
    >>> from convtheory.nn import Linear
    >>> model = Linear(2, 3, seed=0)
    >>> model.weight.data[...] = [[1, 0], [0, 1], [0, 0]]
    >>> model.bias.data[...] = 0
    >>> _, acc = evaluate(model, np.array([[2.0, 0], [0, 2], [1, 0]]), np.array([0, 1, 2]))
    >>> round(acc, 4)
    0.6667
    """
    from .loader import DataLoader

    loss_fn = CrossEntropyLoss() if loss is None else loss
    total, correct, count = 0.0, 0.0, 0
    for xb, yb in DataLoader(inputs, targets, batch_size=batch_size):
        out = model(xb)
        total += loss_fn(out, yb) * len(xb)
        correct += _accuracy(loss_fn, out, yb) * len(xb)
        count += len(xb)
    return total / count, correct / count


def fit_epochs(model, loader, *, epochs: int, loss=None, optimizer=None, validation=None,
               progress: bool = False) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``'s minibatches.

    Parameters
    ----------
    model : Module
    loader : DataLoader
        Yields ``(inputs, targets)`` batches; shuffled per epoch if it says so.
    epochs : int
        At most :data:`MAX_EPOCHS`.
    loss : optional
        Default :class:`~convtheory.nn.CrossEntropyLoss` (logits against
        class indices); any loss with ``__call__(out, target)`` and
        ``backward()``.
    optimizer : optional
        Default ``Adam(model.parameters(), lr=1e-3)``, PyTorch's default.
    validation : (inputs, targets), optional
        Evaluated after every epoch.
    progress : bool
        One tqdm bar per epoch, over its minibatches (off by default).

    Returns
    -------
    History

    Raises
    ------
    TrainingDiverged
        When a minibatch's loss is NaN or infinite, naming the epoch and batch.

    Examples
    --------
    >>> from convtheory.nn import Linear
    >>> from convtheory.nn.loader import DataLoader
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((64, 2))
    >>> y = (x[:, 0] > x[:, 1]).astype(np.int64)      # linearly separable
    >>> model = Linear(2, 2, seed=0)
    >>> h = fit_epochs(model, DataLoader(x, y, batch_size=16, shuffle=True), epochs=30,
    ...                optimizer=Adam(model.parameters(), lr=0.05), validation=(x, y))
    >>> len(h.train_loss), h.train_loss[-1] < h.train_loss[0], h.val_accuracy[-1] >= 0.95
    (30, True, True)
    """
    from tqdm.auto import tqdm

    from .loader import DataLoader

    if not isinstance(loader, DataLoader):
        raise TypeError(f"loader must be a DataLoader, got {type(loader).__name__}")
    if (isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral)
            or not 1 <= epochs <= MAX_EPOCHS):
        raise ValueError(f"epochs must be an int in [1, {MAX_EPOCHS:,}], got epochs={epochs!r}")
    for name, arr in (("inputs", loader.inputs), ("targets", loader.targets)):
        if np.issubdtype(np.asarray(arr).dtype, np.floating) and not np.isfinite(arr).all():
            raise ValueError(f"the loader's {name} must be finite, got NaN or infinite entries")
    loss_fn = CrossEntropyLoss() if loss is None else loss
    opt = Adam(model.parameters(), lr=1e-3) if optimizer is None else optimizer
    history = {k: [] for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")}
    start = time.perf_counter()
    for epoch in range(int(epochs)):
        total, correct, count = 0.0, 0.0, 0
        bar = tqdm(loader, disable=not progress, desc=f"epoch {epoch + 1}/{epochs}", leave=False)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                for batch, (xb, yb) in enumerate(bar):
                    model.zero_grad()
                    out = model(xb)
                    value = loss_fn(out, yb)
                    if not np.isfinite(value):
                        raise TrainingDiverged(
                            f"the loss became {value} in epoch {epoch}, batch {batch}; training "
                            f"diverged: use a lower learning rate")
                    model.backward(loss_fn.backward())
                    opt.step()
                    total += value * len(xb)
                    correct += _accuracy(loss_fn, out, yb) * len(xb)
                    count += len(xb)
                    if progress:
                        bar.set_postfix(loss=f"{total / count:.3g}")
        finally:
            bar.close()
        history["train_loss"].append(total / count)
        history["train_accuracy"].append(correct / count)
        if validation is not None:
            val_loss, val_acc = evaluate(model, *validation, loss=loss_fn,
                                         batch_size=max(loader.batch_size, 256))
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_acc)
    return History(*(tuple(history[k]) for k in ("train_loss", "train_accuracy", "val_loss",
                                                 "val_accuracy")), time.perf_counter() - start)
