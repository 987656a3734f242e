"""Global average pooling of images: one number per channel, the mean over all positions.

``GlobalAvgPool2d()(x)`` is ``torch.nn.AdaptiveAvgPool2d(1)(x).flatten(1)``:
``(N, C, H, W) -> (N, C)``.  Its backward spreads each channel's gradient
evenly, ``grad_x[n, c, i, j] = grad_out[n, c] / (H * W)``.  It is
:class:`~convtheory.nn.pooling.GlobalAvgPool` held to two spatial axes.
"""

from __future__ import annotations

import numpy as np

from .pooling import GlobalAvgPool

__all__ = ["GlobalAvgPool2d"]


class GlobalAvgPool2d(GlobalAvgPool):
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

    def __init__(self):
        super().__init__(keepdim=False)

    def forward(self, x):
        if np.ndim(x) != 4:
            raise ValueError(f"GlobalAvgPool2d: input must have shape (N, C, H, W), "
                             f"got shape {np.shape(x)}")
        return super().forward(x)

    def backward(self, grad_out):
        if self._x is None:
            raise RuntimeError("GlobalAvgPool2d.backward() needs a forward call first")
        return super().backward(grad_out)

    def __repr__(self):
        return "GlobalAvgPool2d()"
