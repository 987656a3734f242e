"""Training inputs of the filter experiments: synthetic images or crops of photographs."""

from __future__ import annotations

from .. import data

IMAGE_SOURCES = ("synthetic", "photos")


def training_images(images: str, n: int, size: int, seed: int, *, color: bool = False,
                    kinds=("smooth", "shapes", "texture", "noise")):
    """``(n, C, size, size)`` inputs: ``C = 3`` when ``color``, else 1.

    Synthetic colour inputs are three independent images per sample; photo
    crops come from :func:`convtheory.nn.datasets.photo_crops`.
    """
    if images == "synthetic":
        if color:
            return data.synthetic_images(3 * n, size, seed=seed, kinds=kinds).reshape(n, 3, size, size)
        return data.synthetic_images(n, size, seed=seed, kinds=kinds)[:, None]
    if images == "photos":
        from ..datasets import photo_crops

        crops = photo_crops(n, size, seed=seed, color=color)
        return crops if color else crops[:, None]
    raise ValueError(f"images must be one of {IMAGE_SOURCES}, got images={images!r}")
