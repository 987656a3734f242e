"""Test the equivariance and the convolution-ness of your own code.

In the spirit of :mod:`numpy.testing`: assertions that raise an
:class:`AssertionError` with a message a reader can act on, for any
callable ``f: ndarray -> ndarray`` (a NumPy function, a SciPy filter, a
PyTorch or JAX module wrapped to take and return arrays).

* :func:`assert_translation_equivariant`, :func:`assert_rotation_equivariant`,
  :func:`assert_invariant`, and the error map behind them,
  :func:`equivariance_error`;
* :func:`probe_matrix` (the matrix of a linear black box) and
  :func:`assert_is_convolution` (its kernel, or the first entry that breaks
  the tied, shifted structure);
* Hypothesis strategies in :mod:`convtheory.testing.strategies` (needs the
  ``hypothesis`` test extra; this package imports without it);
* a pytest plugin, :mod:`convtheory.testing.plugin` (entry point
  ``pytest11``), adding the failures' error maps to the report and an
  ``equivariance_seed`` fixture.

Test your own layer
-------------------
>>> import numpy as np
>>> from scipy.ndimage import correlate
>>> from convtheory.testing import (assert_is_convolution, assert_rotation_equivariant,
...                                 assert_translation_equivariant)
>>> w = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])      # a Laplacian
>>> layer = lambda x: correlate(x, w, mode="wrap")             # your layer: ndarray -> ndarray
>>> assert_translation_equivariant(layer, (8, 8), seed=0)      # circular padding: exact
>>> assert_rotation_equivariant(layer, (8, 8), seed=0)         # symmetric kernel: exact
>>> kernel = assert_is_convolution(layer, (8, 8), padding="same", padding_mode="circular")
>>> np.array_equal(kernel, w)
True
>>> try:                                                       # zero padding: not at the border
...     assert_translation_equivariant(lambda x: correlate(x, w, mode="constant"), (8, 8), seed=0)
... except AssertionError as failure:
...     print(failure.transform, "fails at output", failure.position)
shift (1, 0) -> output shift (1, 0) fails at output (0, 5)
"""

from ..receptive_field_map import ReceptiveFieldMap
from .equivariance import (
    assert_invariant,
    assert_rotation_equivariant,
    assert_translation_equivariant,
)
from .error_map import equivariance_error
from .failures import (
    ConvolutionAssertionError,
    ConvtheoryAssertionError,
    EquivarianceAssertionError,
)
from .probing import DEFAULT_MAX_PROBES, NotLinearError, assert_is_convolution, probe_matrix
from .receptive_fields import receptive_field_map

__all__ = [
    "DEFAULT_MAX_PROBES",
    "ConvolutionAssertionError",
    "ConvtheoryAssertionError",
    "EquivarianceAssertionError",
    "NotLinearError",
    "ReceptiveFieldMap",
    "assert_invariant",
    "assert_is_convolution",
    "assert_rotation_equivariant",
    "assert_translation_equivariant",
    "equivariance_error",
    "probe_matrix",
    "receptive_field_map",
]
