"""Experiment 5: weight sharing and data efficiency on real handwritten digits.

Each of scikit-learn's 8x8 digits is pasted at a random offset on a 16x16
canvas (:func:`~convtheory.nn.datasets.translated_digits`), for training and
for testing.  A small CNN (conv -> ReLU -> max pool -> conv -> ReLU -> global
average pool -> linear) and an MLP with at least as many parameters are
trained on n = 10 ... 1,000 digits, over several seeds, and tested on 797
translated digits that neither saw.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ..global_pool import GlobalAvgPool2d
from ..layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from ..loader import DataLoader
from ..optim import Adam
from ..train import evaluate, fit_epochs
from ._budget import _positive_int

__all__ = ["DigitsResult", "digits_cnn", "digits_efficiency", "digits_mlp", "parameter_count"]

N_TRAIN = (10, 20, 50, 100, 200, 500, 1000)


def parameter_count(model) -> int:
    """Number of trainable scalars.

    Examples
    --------
    >>> parameter_count(Linear(3, 2))
    8
    """
    return int(sum(p.data.size for p in model.parameters()))


def digits_cnn(channels=(8, 16), *, seed: int = 0, dtype=np.float32) -> Sequential:
    """conv3x3 -> ReLU -> maxpool 2 -> conv3x3 -> ReLU -> global average pool -> linear (10 classes).

    Both convs use zero padding 1, so the feature maps keep the canvas size
    (then half of it); the global pool makes the logits independent of where
    a feature occurs, up to the borders.

    Examples
    --------
    >>> net = digits_cnn(seed=0)
    >>> net(np.zeros((2, 1, 16, 16), np.float32)).shape, parameter_count(net)
    ((2, 10), 1418)
    """
    c1, c2 = channels
    return Sequential(Conv2d(1, c1, 3, padding=1, seed=seed, dtype=dtype), ReLU(), MaxPool2d(2),
                      Conv2d(c1, c2, 3, padding=1, seed=seed + 1, dtype=dtype), ReLU(),
                      GlobalAvgPool2d(), Linear(c2, 10, seed=seed + 2, dtype=dtype))


def digits_mlp(min_parameters: int, *, canvas: int = 16, min_hidden: int = 64, seed: int = 0,
               dtype=np.float32) -> Sequential:
    """flatten -> linear -> ReLU -> linear, with at least ``min_parameters`` parameters.

    The hidden layer has ``min_hidden`` units, or more if that is needed to
    reach ``min_parameters``.  The narrowest MLP with as many parameters as
    the digits CNN has only 6 hidden units, and tests worse than a 64-unit
    one: the default gives the MLP the stronger of the two.

    Examples
    --------
    >>> mlp = digits_mlp(1418)
    >>> parameter_count(mlp) >= 1418, mlp[1].weight.shape
    (True, (64, 256))
    """
    d = canvas * canvas
    hidden = max(int(min_hidden), math.ceil((min_parameters - 10) / (d + 1 + 10)))
    return Sequential(Flatten(), Linear(d, hidden, seed=seed, dtype=dtype), ReLU(),
                      Linear(hidden, 10, seed=seed + 1, dtype=dtype))


@dataclass(frozen=True)
class DigitsResult:
    """Test accuracy of the CNN and the MLP by training-set size and seed.

    Attributes
    ----------
    n_train : tuple of int
    seeds : tuple of int
    cnn_accuracy, mlp_accuracy : (len(n_train), len(seeds)) ndarray
        Accuracy on the translated test digits.
    cnn_parameters, mlp_parameters : int
    n_test, canvas, steps, batch_size : int
        ``steps`` minibatch updates per run, whatever ``n``.
    first_layer : (C, 3, 3) ndarray
        The CNN's first-layer filters, from the largest ``n`` and first seed.
    seconds : float
    """

    n_train: tuple
    seeds: tuple
    cnn_accuracy: np.ndarray
    mlp_accuracy: np.ndarray
    cnn_parameters: int
    mlp_parameters: int
    n_test: int
    canvas: int
    steps: int
    batch_size: int
    first_layer: np.ndarray
    seconds: float

    def summary(self, model: str) -> tuple:
        """``(mean, std)`` over seeds per ``n``, for ``"cnn"`` or ``"mlp"`` (std with ddof=1)."""
        acc = np.asarray({"cnn": self.cnn_accuracy, "mlp": self.mlp_accuracy}[model], float)
        # A non-finite accuracy makes its mean and spread NaN, so no margin holds on it.
        with np.errstate(invalid="ignore"):
            std = acc.std(axis=1, ddof=1) if acc.shape[1] > 1 else np.zeros(len(acc))
            return acc.mean(axis=1), std

    def margins(self) -> np.ndarray:
        """Mean CNN accuracy minus mean MLP accuracy minus both spreads, per ``n``.

        Positive where the CNN is ahead by more than the spread (the sum of
        the two standard deviations over seeds).
        """
        (mc, sc), (mm, sm) = self.summary("cnn"), self.summary("mlp")
        return mc - mm - (sc + sm)

    def table(self) -> str:
        """A markdown table: mean ± std of the test accuracy per ``n``.

        Examples
        --------
        >>> r = DigitsResult((10,), (0, 1), np.array([[0.5, 0.7]]), np.array([[0.2, 0.2]]),
        ...                  1418, 1612, 797, 16, 300, 32, np.zeros((8, 3, 3)), 1.0)
        >>> print(r.table().splitlines()[2])
        | 10 | 0.600 ± 0.141 | 0.200 ± 0.000 | 0.259 |
        """
        (mc, sc), (mm, sm) = self.summary("cnn"), self.summary("mlp")
        rows = [f"| {n} | {a:.3f} ± {b:.3f} | {c:.3f} ± {d:.3f} | {m:.3f} |"
                for n, a, b, c, d, m in zip(self.n_train, mc, sc, mm, sm, self.margins())]
        return "\n".join([f"| training digits | CNN ({self.cnn_parameters} parameters) | "
                          f"MLP ({self.mlp_parameters} parameters) | margin over spread |",
                          "|---:|---:|---:|---:|"] + rows)


def digits_efficiency(n_train=N_TRAIN, *, seeds=(0, 1, 2, 3, 4), canvas: int = 16,
                      n_test: int = 797, steps: int = 400, batch_size: int = 32,
                      lr: float = 0.01, channels=(8, 16), progress: bool = False) -> DigitsResult:
    """Train the CNN and the MLP on ``n`` translated digits, test on translated digits.

    For each seed, the training digits of every ``n`` are the first ``n`` of
    one seeded draw (so larger ``n`` extend smaller ones) and the test set is
    the same for every ``n``; both models take ``steps`` Adam updates of
    ``batch_size`` digits (every digit when ``n < batch_size``) from the
    seed's initialisation.  Inputs are standardised with the mean and
    standard deviation of the ``n`` training digits.

    Training runs with one BLAS thread: its matrices are small, and on a
    shared machine a second thread made an epoch 30 times slower.

    Examples
    --------
    >>> r = digits_efficiency((50,), seeds=(0,), n_test=100, steps=60)
    >>> r.cnn_accuracy.shape, r.cnn_parameters <= r.mlp_parameters
    ((1, 1), True)
    """
    n_train = tuple(int(n) for n in n_train)
    seeds = tuple(int(s) for s in seeds)
    if not n_train or not seeds:
        raise ValueError(f"n_train and seeds must be non-empty, got n_train={n_train!r}, "
                         f"seeds={seeds!r}")
    _positive_int(steps, "steps")
    if steps > 100_000:
        raise ValueError(f"steps must be at most 100,000, got steps={steps!r}")
    with threadpool_limits(1):
        return _run(n_train, seeds, canvas, n_test, steps, batch_size, lr, channels, progress)


def _run(n_train, seeds, canvas, n_test, steps, batch_size, lr, channels, progress):
    from ..datasets import translated_digits

    cnn_acc = np.zeros((len(n_train), len(seeds)))
    mlp_acc = np.zeros_like(cnn_acc)
    first_layer = None
    start = time.perf_counter()
    for j, seed in enumerate(seeds):
        x, y = translated_digits(max(n_train), canvas=canvas, seed=seed)
        x_test, y_test = translated_digits(n_test, canvas=canvas, split="test", seed=seed)
        for i, n in enumerate(n_train):
            # Both models see inputs standardised by their training digits' statistics:
            # on the raw, mostly blank canvas the CNN often sat at chance for hundreds of steps.
            mean, std = x[:n].mean(), x[:n].std()
            x_n, x_t = (x[:n] - mean) / std, (x_test - mean) / std
            for kind in ("cnn", "mlp"):
                cnn = digits_cnn(channels, seed=seed)
                model = cnn if kind == "cnn" else digits_mlp(parameter_count(cnn), canvas=canvas,
                                                             seed=seed)
                loader = DataLoader(x_n, y[:n], batch_size=min(batch_size, n), shuffle=True,
                                    seed=seed)
                fit_epochs(model, loader, epochs=max(1, -(-steps // len(loader))),
                           optimizer=Adam(model.parameters(), lr=lr), progress=progress)
                _, acc = evaluate(model, x_t, y_test)
                (cnn_acc if kind == "cnn" else mlp_acc)[i, j] = acc
                if kind == "cnn" and j == 0 and n == max(n_train):
                    first_layer = model[0].weight.data[:, 0].astype(np.float64)
    cnn = digits_cnn(channels)
    return DigitsResult(n_train, seeds, cnn_acc, mlp_acc, parameter_count(cnn),
                        parameter_count(digits_mlp(parameter_count(cnn), canvas=canvas)), n_test,
                        canvas, steps, batch_size, first_layer, time.perf_counter() - start)
