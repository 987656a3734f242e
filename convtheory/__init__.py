"""convtheory: every claim about convolutional layers, made concrete.

A convolution is a sparse matrix with tied weights.  This package builds that
matrix (numeric, symbolic, matrix-free), checks what is claimed about it, and
reports the results.  Nothing is defined here; see the modules.
"""

from .checks import (
    Certificate,
    Verdict,
    check_adaptivity,
    check_flip_identity,
    check_linearity,
    check_nnz_formula,
    check_pooling_equivariance,
    check_rotation_equivariance,
    check_scale_equivariance,
    check_sharing,
    check_sparsity,
    check_spectral_norm_closed_forms,
    check_translation_equivariance,
    commutator,
    conv_singular_values,
    conv_spectral_norm,
    pooling_aliasing_example,
    rotation_kernel_constraint,
)
from .geometry import PADDING_MODES, ConvSpec, axis_taps, output_shape, resolve_padding
from .graph import GraphMetrics, conv_graph, dense_graph, graph_metrics
from .im2col import col2im, im2col
from .matrices import DEFAULT_MAX_BYTES, conv_matrix, estimate_matrix_bytes
from .operators import ConvOperator, conv_operator, dot_test, estimate_operator_bytes
from .receptive_field import ReceptiveField, ReceptiveFieldMap, receptive_field
from .spectral_bounds import (
    SpectralNormBounds,
    conv_spectral_norm_bounds,
    linear_spectral_norm,
    reshaped_spectral_norm,
)
from .structure import KernelRecovery, StructureBreach, is_circulant, is_toeplitz, recover_kernel
from .taps import Taps, conv_taps, spatial_taps
from .weights import conv_arguments, kernel_symbols

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_BYTES",
    "PADDING_MODES",
    "Certificate",
    "ConvOperator",
    "ConvSpec",
    "GraphMetrics",
    "KernelRecovery",
    "ReceptiveField",
    "ReceptiveFieldMap",
    "SpectralNormBounds",
    "StructureBreach",
    "Taps",
    "Verdict",
    "axis_taps",
    "check_adaptivity",
    "check_flip_identity",
    "check_linearity",
    "check_nnz_formula",
    "check_pooling_equivariance",
    "check_rotation_equivariance",
    "check_scale_equivariance",
    "check_sharing",
    "check_sparsity",
    "check_spectral_norm_closed_forms",
    "check_translation_equivariance",
    "col2im",
    "commutator",
    "conv_arguments",
    "conv_graph",
    "conv_matrix",
    "conv_operator",
    "conv_singular_values",
    "conv_spectral_norm",
    "conv_spectral_norm_bounds",
    "conv_taps",
    "dense_graph",
    "dot_test",
    "estimate_matrix_bytes",
    "estimate_operator_bytes",
    "graph_metrics",
    "im2col",
    "is_circulant",
    "is_toeplitz",
    "kernel_symbols",
    "linear_spectral_norm",
    "output_shape",
    "pooling_aliasing_example",
    "receptive_field",
    "recover_kernel",
    "reshaped_spectral_norm",
    "resolve_padding",
    "rotation_kernel_constraint",
    "spatial_taps",
]
