"""Experiment 4: conv against dense on translated test images, by training-set size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...matrices import DEFAULT_MAX_BYTES
from ...transforms import cyclic_shift
from .. import functional as F
from ..data import synthetic_images
from ..layers import Conv2d, Linear
from ..train import fit
from ._budget import _IMAGE_ARRAYS, _check_budget, _positive_int
from .filters import _kernel

__all__ = ["DataEfficiencyResult", "data_efficiency"]


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
