"""convtheory: every claim about convolutional layers, made concrete.

A convolution is a sparse matrix with tied weights.  This package builds that
matrix (numeric, symbolic, matrix-free), checks what is claimed about it, and
reports the results.  Nothing is defined here; see the modules.
"""

from .checks import Certificate, Verdict
from .geometry import PADDING_MODES, ConvSpec, axis_taps, output_shape, resolve_padding
from .im2col import col2im, im2col
from .matrices import DEFAULT_MAX_BYTES, conv_matrix, estimate_matrix_bytes
from .operators import ConvOperator, conv_operator, dot_test, gather_matrix
from .taps import Taps, conv_taps, spatial_taps
from .weights import conv_arguments, kernel_symbols

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_BYTES",
    "PADDING_MODES",
    "Certificate",
    "ConvOperator",
    "ConvSpec",
    "Taps",
    "Verdict",
    "axis_taps",
    "col2im",
    "conv_arguments",
    "conv_matrix",
    "conv_operator",
    "conv_taps",
    "dot_test",
    "estimate_matrix_bytes",
    "gather_matrix",
    "im2col",
    "kernel_symbols",
    "output_shape",
    "resolve_padding",
    "spatial_taps",
]
