"""Global average pooling: one number per channel, the mean over all positions.

``GlobalAvgPool2d()(x)`` is ``torch.nn.AdaptiveAvgPool2d(1)(x).flatten(1)``:
``(N, C, H, W) -> (N, C)``.  Its backward spreads each channel's gradient
evenly, ``grad_x[n, c, i, j] = grad_out[n, c] / (H * W)``.
"""

from __future__ import annotations

import numpy as np

from .module import Module

__all__ = ["GlobalAvgPool2d"]


class GlobalAvgPool2d(Module):
    """Mean over the two spatial axes, as ``AdaptiveAvgPool2d(1)`` followed by ``Flatten()``.

    Input ``(N, C, H, W)``, output ``(N, C)``.  The result does not depend on
    where in the image a feature occurs, which is what makes a conv net
    followed by it translation invariant (up to its borders).

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)
    >>> pool = GlobalAvgPool2d()
    >>> pool(x)
    array([[1.5, 5.5]])
    >>> pool.backward(np.array([[4.0, 8.0]]))[0, 1]
    array([[2., 2.],
           [2., 2.]])
    """

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"GlobalAvgPool2d: input must have shape (N, C, H, W), "
                             f"got shape {x.shape}")
        if x.shape[2] * x.shape[3] == 0:  # the mean over no positions is 0/0
            raise ValueError(f"GlobalAvgPool2d: input must have at least one position, "
                             f"got shape {x.shape}")
        self._shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, grad_out):
        if not hasattr(self, "_shape"):
            raise RuntimeError("GlobalAvgPool2d.backward() needs a forward call first")
        n, c, h, w = self._shape
        grad_out = np.asarray(grad_out)
        if grad_out.shape != (n, c):
            raise ValueError(f"GlobalAvgPool2d: grad_out must have shape {(n, c)}, "
                             f"got shape {grad_out.shape}")
        scale = np.asarray(1.0 / (h * w), dtype=grad_out.dtype)
        return np.broadcast_to((grad_out * scale)[:, :, None, None], self._shape).copy()

    def __repr__(self):
        return "GlobalAvgPool2d()"
