"""Shifts for the translation and pooling checks: shift matrices and the output-shift search."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import scipy.sparse as sp

from ..validation import per_axis as _per_axis
from ..transforms import cyclic_shift, transform_matrix
from ..verdict import badness, within

__all__ = []

#: Default number of output shifts tried when a shift is not a multiple of the stride.
MAX_OUTPUT_SHIFTS = 512


def _shift_matrix(shape, shift) -> sp.csr_array:
    return transform_matrix(lambda x: cyclic_shift(x, shift), shape)


def _shift(value, ndim, name):
    return _per_axis(value, ndim, name, minimum=-sys.maxsize)


def _output_shift_candidates(shift, stride, output_spatial):
    """Every output shift, nearest to ``shift / stride`` (cyclically) first; and their number."""
    orders = []
    for t, s, o in zip(shift, stride, output_spatial):
        target = (t / s) % o
        orders.append(sorted(range(o), key=lambda u: (min(abs(u - target), o - abs(u - target)), u)))
    total = int(np.prod(output_spatial, dtype=np.int64)) if output_spatial else 1
    return itertools.product(*orders), total


def _search_output_shifts(error_of, shift, stride, output_spatial, limit, atol=0.0):
    """Try output shifts, nearest first, until one has error <= atol or ``limit`` are tried."""
    candidates, total = _output_shift_candidates(shift, stride, output_spatial)
    best, best_shift, tried = np.inf, None, 0
    for u in itertools.islice(candidates, limit):
        tried += 1
        err = error_of(u)
        if best_shift is None or badness(err) < badness(best):   # NaN ranks worst
            best, best_shift = err, u
        if within(err, atol):
            break
    return {"output_shift": best_shift, "min_error_over_output_shifts": float(best),
            "some_output_shift_works": within(best, atol),
            "output_shifts_tried": tried, "output_shifts_total": total}


def _search_scope(search) -> str:
    tried, total = search["output_shifts_tried"], search["output_shifts_total"]
    if search["some_output_shift_works"]:
        return f"output shifts tried until one worked: {tried} of {total}"
    if tried == total:
        return f"all {total} output shifts"
    return (f"TRUNCATED: only {tried} of {total} output shifts tried (nearest to shift/stride "
            f"first; raise max_output_shifts to try more)")
