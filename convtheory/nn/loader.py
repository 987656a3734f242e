"""Minibatches of a dataset, as ``torch.utils.data.DataLoader`` over a ``TensorDataset``."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``(inputs[idx], targets[idx])`` in minibatches.

    Parameters
    ----------
    inputs, targets : array_like
        Equal first dimension (the samples).
    batch_size : int
        The last batch is smaller when the sample count is not a multiple
        (``drop_last=False``, PyTorch's default).
    shuffle : bool
        A fresh permutation every epoch (every ``iter``), drawn from one
        ``numpy.random.Generator`` seeded with ``seed``: the sequence of
        epochs is reproducible.
    seed : int

    Examples
    --------
    >>> x, y = np.arange(10.0)[:, None], np.arange(10)
    >>> [yb.tolist() for _, yb in DataLoader(x, y, batch_size=4)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    >>> loader = DataLoader(x, y, batch_size=5, shuffle=True, seed=0)
    >>> first, second = [yb for _, yb in loader], [yb for _, yb in loader]
    >>> len(loader), sorted(np.concatenate(first).tolist()) == list(range(10))
    (2, True)
    >>> bool(all((a == b).all() for a, b in zip(first, second)))   # a new order each epoch
    False
    """

    def __init__(self, inputs, targets, *, batch_size: int = 32, shuffle: bool = False,
                 seed: int = 0):
        inputs, targets = np.asarray(inputs), np.asarray(targets)
        if inputs.ndim == 0 or targets.ndim == 0 or len(inputs) != len(targets):
            raise ValueError(f"inputs and targets must have the same first dimension, got "
                             f"inputs.shape={inputs.shape}, targets.shape={targets.shape}")
        if len(inputs) == 0:
            raise ValueError("inputs must hold at least one sample, got 0")
        if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                or batch_size < 1):
            raise ValueError(f"batch_size must be a positive int, got batch_size={batch_size!r}")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be a bool, got shuffle={shuffle!r}")
        self.inputs, self.targets = inputs, targets
        self.batch_size, self.shuffle = int(batch_size), shuffle
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return -(-len(self.inputs) // self.batch_size)

    def __iter__(self):
        n = len(self.inputs)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.inputs[idx], self.targets[idx]

    def __repr__(self):
        return (f"DataLoader({len(self.inputs)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle})")
