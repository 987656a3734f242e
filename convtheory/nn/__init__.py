"""Trainable convolution layers in NumPy/SciPy, exact against PyTorch autograd.

The API follows PyTorch: :class:`Parameter` (``.data``, ``.grad``),
:class:`Module` (``parameters()``, ``zero_grad()``, ``__call__``,
``backward(grad_out)``), layers with PyTorch's constructors, losses,
optimisers, and :func:`gradcheck`.  Conv layers run on im2col + BLAS, or
(``backend="matrix"``) on the explicit sparse conv matrix.
"""

from . import functional
from .global_pool import GlobalAvgPool2d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .gradcheck import gradcheck
from .layers import Conv1d, Conv2d, Conv3d, Flatten, Linear, ReLU, Sequential
from .loader import DataLoader
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
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "CrossEntropyLoss",
    "DataLoader",
    "Flatten",
    "GlobalAvgPool2d",
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
