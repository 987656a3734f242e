"""Checks of the seed's claims; each returns a :class:`Verdict`."""

from ..verdict import METHODS, Certificate, Verdict, jsonable
from .adaptivity import check_adaptivity
from .adjoint import dot_test
from .commutator import commutator
from .pooling import check_pooling_equivariance, pooling_aliasing_example
from .rotation import LAPLACIAN, SOBEL_X, check_rotation_equivariance, rotation_kernel_constraint
from .scale import check_scale_equivariance
from .linearity import check_flip_identity, check_linearity
from .avg_pool import check_avg_pool_is_conv
from .aliasing import check_shift_consistency, shift_consistency
from .sharing import check_sharing, parameter_counts, seed_sharing_example, weight_patterns
from .sparsity import (
    axis_nnz,
    check_nnz_formula,
    check_sparsity,
    nnz_closed_form,
    nnz_formula,
    receptive_field_counts,
)
from .spectra import (
    CLOSED_FORM_CASES,
    check_spectral_norm_closed_forms,
    closed_form_spectral_norm,
    conv_singular_values,
    conv_spectral_norm,
    frequency_matrices,
)
from .translation import MAX_OUTPUT_SHIFTS, check_translation_equivariance
from .transposed import check_transposed_arithmetic, zero_insertion_matrix

__all__ = [
    "CLOSED_FORM_CASES",
    "LAPLACIAN",
    "MAX_OUTPUT_SHIFTS",
    "METHODS",
    "SOBEL_X",
    "Certificate",
    "Verdict",
    "axis_nnz",
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
    "closed_form_spectral_norm",
    "conv_singular_values",
    "conv_spectral_norm",
    "commutator",
    "dot_test",
    "frequency_matrices",
    "jsonable",
    "nnz_closed_form",
    "nnz_formula",
    "parameter_counts",
    "pooling_aliasing_example",
    "receptive_field_counts",
    "rotation_kernel_constraint",
    "seed_sharing_example",
    "shift_consistency",
    "weight_patterns",
    "zero_insertion_matrix",
]
