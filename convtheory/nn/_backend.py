"""What every nn.functional module shares: the backends, the plan caches, the input check.

Kept apart from :mod:`convtheory.nn.functional` so that the modules it
re-exports (transposed convolution, pooling) can use them without an import
cycle.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

__all__ = ["BACKENDS"]

#: The ways an nn conv can be computed: gathered (im2col + BLAS) or the explicit CSR matrix.
BACKENDS = ("im2col", "matrix")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _cached(cache: OrderedDict, key, make, size: int = 32):
    value = cache.get(key)
    if value is None:
        value = make()
        cache[key] = value
        if len(cache) > size:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return value


def _frozen(value):
    """Lists to tuples, so that conv options can key a cache.

    Scalars carry their type: ``True == 1`` and ``2.0 == 2`` hash alike, and
    a plan cached for ``stride=1`` must not let ``stride=True`` through
    unvalidated.
    """
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return (type(value), value)


def _float_array(value, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype not in _FLOATS:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    return arr
