"""Losses: a scalar from a prediction and a target, and its gradient.

``loss(pred, target)`` returns a float and remembers what ``backward()``
needs; ``backward()`` returns ``d loss / d pred`` (the start of a backward
pass through a model).  Reductions are PyTorch's ``reduction="mean"``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CrossEntropyLoss", "MSELoss"]


class MSELoss:
    """Mean squared error, ``mean((pred - target)**2)``, as ``torch.nn.MSELoss``.

    Examples
    --------
    >>> loss = MSELoss()
    >>> loss(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    5.0
    >>> loss.backward()
    array([1., 3.])
    """

    def __call__(self, pred, target) -> float:
        pred, target = np.asarray(pred), np.asarray(target)
        if pred.shape != target.shape:
            raise ValueError(f"MSELoss: pred and target must have the same shape, got "
                             f"pred.shape={pred.shape} and target.shape={target.shape}")
        if pred.size == 0:  # the mean over no entries is 0/0
            raise ValueError(f"MSELoss: pred must not be empty, got pred.shape={pred.shape}")
        self._diff = pred - target
        return float(np.mean(self._diff * self._diff))

    def backward(self) -> np.ndarray:
        """``2 (pred - target) / size``."""
        if not hasattr(self, "_diff"):
            raise RuntimeError("MSELoss.backward() needs a call loss(pred, target) first")
        return (2.0 / self._diff.size) * self._diff

    def __repr__(self):
        return "MSELoss()"


class CrossEntropyLoss:
    """Softmax cross-entropy of logits against class indices, as ``torch.nn.CrossEntropyLoss``.

    Parameters of a call: ``logits`` of shape ``(N, C)`` and integer
    ``target`` of shape ``(N,)`` with values in ``[0, C)``.

    Examples
    --------
    >>> loss = CrossEntropyLoss()
    >>> round(loss(np.zeros((2, 4)), np.array([0, 3])), 6)   # uniform over 4 classes
    1.386294
    >>> loss.backward()
    array([[-0.375,  0.125,  0.125,  0.125],
           [ 0.125,  0.125,  0.125, -0.375]])
    """

    def __call__(self, logits, target) -> float:
        logits, target = np.asarray(logits), np.asarray(target)
        if logits.ndim != 2:
            raise ValueError(f"CrossEntropyLoss: logits must have shape (N, C), "
                             f"got logits.shape={logits.shape}")
        if not np.issubdtype(target.dtype, np.integer):
            raise TypeError(f"CrossEntropyLoss: target must hold integer class indices, "
                            f"got dtype {target.dtype}")
        n, c = logits.shape
        if n == 0 or c == 0:  # the mean over no samples is 0/0
            raise ValueError(f"CrossEntropyLoss: logits must hold at least one sample and one "
                             f"class, got logits.shape={logits.shape}")
        if target.shape != (n,) or target.size and (target.min() < 0 or target.max() >= c):
            raise ValueError(f"CrossEntropyLoss: target must have shape ({n},) with values in "
                             f"[0, {c}), got target.shape={target.shape}")
        # Shifting by the row max keeps exp() finite; the softmax is unchanged.
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_p = shifted - log_z
        self._p = np.exp(log_p)
        self._target = target
        return float(-log_p[np.arange(n), target].mean())

    def backward(self) -> np.ndarray:
        """``(softmax(logits) - onehot(target)) / N``."""
        if not hasattr(self, "_p"):
            raise RuntimeError("CrossEntropyLoss.backward() needs a call loss(logits, target) first")
        g = self._p.copy()
        n = len(g)
        g[np.arange(n), self._target] -= 1.0
        return g / n

    def __repr__(self):
        return "CrossEntropyLoss()"
