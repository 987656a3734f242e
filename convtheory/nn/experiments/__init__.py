"""Conv layers learn handcrafted filters from data: four experiments with their numbers.

1. :func:`learn_filter`: one 3x3 conv learns Sobel x (or any kernel) from
   (image, filtered image) pairs, to 1e-6.
2. :func:`learn_filter_bank`: a 3->4-channel layer learns a bank at once.
3. :func:`learn_composition`: two stacked 3x3 layers learn a 5x5 filter that
   is the composition of two 3x3 filters; the stack's effective kernel
   matches, while each factor is determined only up to scale (and order).
4. :func:`data_efficiency`: conv against dense on translated test images,
   as a function of the number of training images.

On real data (bundled with scikit-image and scikit-learn, no download):

* the experiments above take ``images="photos"`` (crops of the sample
  photographs); :func:`compare_solvers` sets Adam beside L-BFGS and LSQR and
  reports each source's conditioning (:func:`patch_conditioning`);
* :func:`digits_efficiency`: a small CNN against an MLP on translated
  handwritten digits, and :func:`nearest_handcrafted` for its first-layer
  filters.

Each returns a frozen dataclass of its numbers.  Training is
:func:`convtheory.nn.train.fit`; a run whose arrays or work would be absurd
is refused before any image is made.
"""

from ._budget import MAX_TRAINING_WORK
from .composition import CompositionResult, effective_kernel, learn_composition
from .efficiency import DataEfficiencyResult, data_efficiency
from .digits import DigitsResult, digits_cnn, digits_efficiency, digits_mlp, parameter_count
from .filters import BankResult, FilterResult, filter_bank_weight, learn_filter, learn_filter_bank
from .nearest import HANDCRAFTED, NearestFilter, nearest_handcrafted
from .photos import SolverComparison, SourceRuns, compare_bank_solvers, compare_solvers
from .solvers import SolverRun, lbfgs_fit, lsqr_filter, patch_conditioning, patch_matrix
from .suite import run_experiments

__all__ = [
    "BankResult",
    "CompositionResult",
    "DataEfficiencyResult",
    "DigitsResult",
    "FilterResult",
    "HANDCRAFTED",
    "MAX_TRAINING_WORK",
    "NearestFilter",
    "SolverComparison",
    "SolverRun",
    "SourceRuns",
    "compare_bank_solvers",
    "compare_solvers",
    "data_efficiency",
    "digits_cnn",
    "digits_efficiency",
    "digits_mlp",
    "effective_kernel",
    "filter_bank_weight",
    "learn_composition",
    "learn_filter",
    "learn_filter_bank",
    "lbfgs_fit",
    "lsqr_filter",
    "nearest_handcrafted",
    "parameter_count",
    "patch_conditioning",
    "patch_matrix",
    "run_experiments",
]
