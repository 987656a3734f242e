"""Budgets the training experiments share: refuse a run before making any image."""

from __future__ import annotations

from ...validation import as_int, check_budget

#: The experiments refuse to start a training run estimated at more
#: multiply-adds than this (a few minutes on one core).
MAX_TRAINING_WORK = 2 * 10**10

# Arrays of the size of the images that one conv layer's training holds at
# once, besides its im2col gathers: input, target, output, output gradient,
# input gradient, and slack for the optimiser's temporaries.
_IMAGE_ARRAYS = 6


def _positive_int(value, name: str) -> int:
    return as_int(value, name, minimum=1)


def _check_budget(sizes: dict, *, needed_bytes: int, work: int, max_bytes: int) -> None:
    """Refuse a run, before any image exists, that would not fit in memory or not end."""
    given = ", ".join(f"{k}={v!r}" for k, v in sizes.items())
    check_budget(needed_bytes, max_bytes, given, "use fewer or smaller images")
    if work > MAX_TRAINING_WORK:
        raise ValueError(f"{given} would take ~{work:.2g} multiply-adds, over "
                         f"MAX_TRAINING_WORK={MAX_TRAINING_WORK:.2g} (minutes); use fewer steps, "
                         f"fewer or smaller images")
