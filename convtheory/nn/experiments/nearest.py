"""Which handcrafted filter a learned filter is nearest to, by normalised correlation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import gaussian, gaussian_derivative, laplacian, sobel_x, sobel_y

__all__ = ["HANDCRAFTED", "NearestFilter", "nearest_handcrafted"]


def _handcrafted() -> dict:
    return {"sobel_x": sobel_x(), "sobel_y": sobel_y(), "laplacian": laplacian(),
            "gaussian": gaussian(1.0, size=3), "gaussian_dx": gaussian_derivative("x"),
            "gaussian_dy": gaussian_derivative("y")}


#: The 3x3 filters a learned filter is compared with.
HANDCRAFTED = tuple(_handcrafted())


@dataclass(frozen=True)
class NearestFilter:
    """A learned filter's nearest handcrafted filter.

    Attributes
    ----------
    name : str
        From :data:`HANDCRAFTED`.
    correlation : float
        ``<f, h> / (|f| |h|)`` over the 9 entries (no mean removed), in
        [-1, 1]; the nearest filter has the largest ``|correlation|`` (a
        filter and its negative detect the same feature, with ReLU keeping
        the other sign).
    correlations : dict
        The correlation with every handcrafted filter.
    """

    name: str
    correlation: float
    correlations: dict


def nearest_handcrafted(filters) -> tuple:
    """For each ``3 x 3`` filter, the handcrafted filter of largest absolute normalised correlation.

    Parameters
    ----------
    filters : (C, 3, 3) array_like
        Finite.

    Returns
    -------
    tuple of NearestFilter

    Examples
    --------
    >>> [(r.name, round(r.correlation, 6)) for r in nearest_handcrafted([sobel_y(), -laplacian()])]
    [('sobel_y', 1.0), ('laplacian', -1.0)]
    """
    f = np.asarray(filters, dtype=np.float64)
    if f.ndim != 3 or f.shape[1:] != (3, 3):
        raise ValueError(f"filters must have shape (C, 3, 3), got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError("filters must be finite, got NaN or infinite entries")
    bank = _handcrafted()
    out = []
    for filt in f:
        norm = np.linalg.norm(filt)
        corr = {name: float(np.vdot(filt, h) / (norm * np.linalg.norm(h))) if norm > 0 else 0.0
                for name, h in bank.items()}
        best = max(corr, key=lambda k: abs(corr[k]))
        out.append(NearestFilter(best, corr[best], corr))
    return tuple(out)
