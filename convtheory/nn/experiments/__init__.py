"""Conv layers learn handcrafted filters from data: four experiments with their numbers.

1. :func:`learn_filter`: one 3x3 conv learns Sobel x (or any kernel) from
   (image, filtered image) pairs, to 1e-6.
2. :func:`learn_filter_bank`: a 3->4-channel layer learns a bank at once.
3. :func:`learn_composition`: two stacked 3x3 layers learn a 5x5 filter that
   is the composition of two 3x3 filters; the stack's effective kernel
   matches, while each factor is determined only up to scale (and order).
4. :func:`data_efficiency`: conv against dense on translated test images,
   as a function of the number of training images.

Each returns a frozen dataclass of its numbers.  Training is
:func:`convtheory.nn.train.fit`; a run whose arrays or work would be absurd
is refused before any image is made.
"""

from ._budget import MAX_TRAINING_WORK
from .composition import CompositionResult, effective_kernel, learn_composition
from .efficiency import DataEfficiencyResult, data_efficiency
from .filters import BankResult, FilterResult, filter_bank_weight, learn_filter, learn_filter_bank
from .suite import run_experiments

__all__ = [
    "BankResult",
    "CompositionResult",
    "DataEfficiencyResult",
    "FilterResult",
    "MAX_TRAINING_WORK",
    "data_efficiency",
    "effective_kernel",
    "filter_bank_weight",
    "learn_composition",
    "learn_filter",
    "learn_filter_bank",
    "run_experiments",
]
