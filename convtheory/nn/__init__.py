"""Trainable convolution layers in NumPy/SciPy, exact against PyTorch autograd.

The API follows PyTorch: :class:`Parameter` (``.data``, ``.grad``),
:class:`Module` (``parameters()``, ``zero_grad()``, ``__call__``,
``backward(grad_out)``), layers with PyTorch's constructors, losses,
optimisers, and :func:`gradcheck`.  Conv layers run on im2col + BLAS, or
(``backend="matrix"``) on the explicit sparse conv matrix.
"""

from . import functional
from .gradcheck import gradcheck
from .layers import Conv1d, Conv2d, Conv3d, Flatten, Linear, ReLU, Sequential
from .losses import CrossEntropyLoss, MSELoss
from .module import Module, Parameter
from .optim import SGD, Adam
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d,
                      AdaptiveMaxPool2d, AdaptiveMaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d,
                      BlurPool1d, BlurPool2d, GlobalAvgPool, MaxPool1d, MaxPool2d, MaxPool3d)

__all__ = [
    "SGD",
    "Adam",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "BlurPool1d",
    "BlurPool2d",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "CrossEntropyLoss",
    "Flatten",
    "GlobalAvgPool",
    "Linear",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "functional",
    "gradcheck",
]
