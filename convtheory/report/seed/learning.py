"""Section "learning": conv layers learn handcrafted filters, and their compositions, from data.

Runs once ``convtheory.nn`` provides the training experiments; ``--quick``
shortens them.
"""

from __future__ import annotations

from ..claims import Claim

__all__ = ["CLAIMS"]

_REQUIRES = ("convtheory.nn",)


def _pending(ctx):
    raise NotImplementedError("learning experiments are not wired yet")


CLAIMS = [
    Claim("learning.sobel_x", "learning",
          "A conv layer learns the Sobel x filter from (image, filtered image) pairs.",
          True, _pending, requires=_REQUIRES + ("convtheory.nn:learn_filter",)),
    Claim("learning.composition", "learning",
          "Two stacked 3x3 conv layers learn a 5x5 composition of two filters.",
          True, _pending, requires=_REQUIRES + ("convtheory.nn:learn_composition",)),
    Claim("learning.data_efficiency", "learning",
          "A conv layer generalises from fewer training images than a dense layer.",
          True, _pending, requires=_REQUIRES + ("convtheory.nn:data_efficiency",)),
]
