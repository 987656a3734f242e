"""convtheory: every claim about convolutional layers, made concrete.

A convolution is a sparse matrix with tied weights.  This package builds that
matrix (numeric, symbolic, matrix-free), checks what is claimed about it, and
reports the results.  Nothing is defined here; see the modules.
"""

from ._checkout import install_proofs_finder
from .checks import (
    check_adaptivity,
    check_avg_pool_is_conv,
    check_flip_identity,
    check_linearity,
    check_nnz_formula,
    check_pooling_equivariance,
    check_rotation_equivariance,
    check_scale_equivariance,
    check_shift_consistency,
    check_sharing,
    check_sparsity,
    check_spectral_norm_closed_forms,
    check_translation_equivariance,
    check_transposed_arithmetic,
    commutator,
    conv_singular_values,
    conv_spectral_norm,
    dot_test,
    pooling_aliasing_example,
    rotation_kernel_constraint,
)
from .geometry import PADDING_MODES, axis_taps, output_shape, resolve_padding
from .spec import ConvGeometry, ConvSpec
from .transposed_spec import ConvTransposeSpec, conv_transpose_output_shape
from .graph import GraphMetrics, conv_graph, dense_graph, graph_metrics
from .im2col import col2im, im2col
from .matrices import DEFAULT_MAX_BYTES, conv_matrix, estimate_matrix_bytes
from .validation import BudgetError
from .network.analysis import LayerAnalysis, NetworkAnalysis, analyze_network
from .operators import ConvOperator, conv_operator, estimate_operator_bytes
from .pooling import (avg_pool_matrix, avg_pool_operator, binomial_filter, blur_pool_matrix,
                      blur_pool_operator, max_pool_jacobian)
from .receptive_field import ReceptiveField, receptive_field
from .receptive_field_map import ReceptiveFieldMap
from .spectral_bounds import (
    SpectralNormBounds,
    conv_spectral_norm_bounds,
    linear_spectral_norm,
    reshaped_spectral_norm,
)
from .structure import KernelRecovery, StructureBreach, is_circulant, is_toeplitz, recover_kernel
from .taps import Taps, conv_taps, spatial_taps
from .verdict import Certificate, Verdict
from .transposed import (ConvTransposeOperator, conv_transpose_matrix,
                         conv_transpose_operator)
from .weights import conv_arguments, kernel_symbols

from ._version import __version__

# The theorems (``convtheory.proofs``) import convtheory, so they are not imported here;
# from a source checkout, this makes the name resolve to the repository's proofs/ folder.
install_proofs_finder()

__all__ = [
    "BudgetError",
    "DEFAULT_MAX_BYTES",
    "PADDING_MODES",
    "Certificate",
    "ConvGeometry",
    "ConvOperator",
    "ConvSpec",
    "ConvTransposeOperator",
    "ConvTransposeSpec",
    "GraphMetrics",
    "KernelRecovery",
    "LayerAnalysis",
    "NetworkAnalysis",
    "ReceptiveField",
    "ReceptiveFieldMap",
    "SpectralNormBounds",
    "StructureBreach",
    "Taps",
    "Verdict",
    "avg_pool_matrix",
    "avg_pool_operator",
    "analyze_network",
    "axis_taps",
    "binomial_filter",
    "blur_pool_matrix",
    "blur_pool_operator",
    "check_adaptivity",
    "check_avg_pool_is_conv",
    "check_flip_identity",
    "check_linearity",
    "check_nnz_formula",
    "check_pooling_equivariance",
    "check_rotation_equivariance",
    "check_scale_equivariance",
    "check_shift_consistency",
    "check_sharing",
    "check_sparsity",
    "check_spectral_norm_closed_forms",
    "check_translation_equivariance",
    "check_transposed_arithmetic",
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
    "conv_transpose_matrix",
    "conv_transpose_operator",
    "conv_transpose_output_shape",
    "dense_graph",
    "dot_test",
    "estimate_matrix_bytes",
    "estimate_operator_bytes",
    "graph_metrics",
    "im2col",
    "is_circulant",
    "is_toeplitz",
    "kernel_symbols",
    "max_pool_jacobian",
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
