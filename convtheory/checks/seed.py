"""Every claim of the seed note as a check, at small default sizes.

:func:`seed_checks` runs them in the note's order and says, for each, what
outcome the theory predicts: some claims are *failures* (zero padding is not
translation equivariant, a Sobel kernel is not rotation equivariant), and
the check confirming them is a verdict that fails.
"""

from __future__ import annotations

import time

import numpy as np

from .adaptivity import check_adaptivity
from .linearity import check_flip_identity, check_linearity
from .pooling import check_pooling_equivariance, pooling_aliasing_example
from .rotation import LAPLACIAN, SOBEL_X, check_rotation_equivariance, rotation_kernel_constraint
from .scale import check_scale_equivariance
from .sharing import check_sharing, seed_sharing_example
from .sparsity import check_nnz_formula, check_sparsity
from .spectra import check_spectral_norm_closed_forms
from .translation import check_translation_equivariance

__all__ = ["seed_checks"]


def _maxpool2(x):
    return x.reshape(-1, 2).max(axis=1)


def seed_checks(seed: int = 20230711, *, only=None) -> list:
    """Run every check of the seed's claims at the default sizes.

    Parameters
    ----------
    seed : int
        Seed of the random kernels.
    only : iterable of str, optional
        Run just these claims (names as in the returned list); default all.

    Returns
    -------
    list of (claim, expected, verdict, seconds)
        ``expected`` is the outcome the theory predicts; a run is in order
        when ``bool(verdict) == expected`` for every entry.

    Examples
    --------
    >>> results = seed_checks(only=["linearity", "no rotation equivariance (Sobel)"])
    >>> [(claim, expected, bool(v)) for claim, expected, v, _ in results]
    [('no rotation equivariance (Sobel)', False, False), ('linearity', True, True)]
    """
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((4, 3, 3, 3))
    img = (3, 8, 8)
    plan = [
        ("parameter sharing", True, lambda: check_sharing(w, img, padding=1)),
        ("seed example: 2 parameters vs H^2 W^2", True, lambda: seed_sharing_example(28, 28)),
        ("sparsity", True, lambda: check_sparsity(w, img, padding=1, stride=2)),
        ("closed-form nnz", True, check_nnz_formula),
        ("adaptivity to input size", True, lambda: check_adaptivity(w, img, padding=1)),
        ("translation equivariance, circular (all kernels)", True,
         lambda: check_translation_equivariance(w, img, (1, 3), padding=1, padding_mode="circular",
                                                symbolic=True)),
        ("translation equivariance fails at the border with zero padding", False,
         lambda: check_translation_equivariance(w, img, (1, 3), padding=1)),
        ("strided conv: shifts by multiples of the stride", True,
         lambda: check_translation_equivariance(w, img, (2, 4), stride=2, padding=1,
                                                padding_mode="circular")),
        ("strided conv: a one-sample shift", False,
         lambda: check_translation_equivariance(w, img, (1, 0), stride=2, padding=1,
                                                padding_mode="circular")),
        ("max pooling: shift by the stride", True,
         lambda: check_pooling_equivariance(_maxpool2, (16,), 2, stride=2)),
        ("max pooling: one-sample shift", False,
         lambda: check_pooling_equivariance(_maxpool2, (16,), 1, stride=2)),
        ("pooling aliasing example", True, pooling_aliasing_example),
        ("no rotation equivariance (Sobel)", False,
         lambda: check_rotation_equivariance(SOBEL_X, (8, 8), padding=1)),
        ("rotation equivariance of the Laplacian", True,
         lambda: check_rotation_equivariance(LAPLACIAN, (8, 8), padding=1)),
        ("rotation constraint on 3x3 kernels", True, rotation_kernel_constraint),
        ("no scale equivariance", False,
         lambda: check_scale_equivariance(w, (3, 8, 8), padding=1, padding_mode="circular")),
        ("scale: a kernel dilated by the factor commutes", True,
         lambda: check_scale_equivariance(w, (3, 8, 8), padding=1, padding_mode="circular",
                                          fine=dict(dilation=2, padding=2))),
        ("linearity", True, lambda: check_linearity(w, img, padding=1)),
        ("convolution = correlation with the flipped kernel", True,
         lambda: check_flip_identity(w, img, padding=1)),
        ("spectral norms: closed forms", True, check_spectral_norm_closed_forms),
    ]
    if only is not None:
        if isinstance(only, str) or not hasattr(only, "__iter__"):
            raise TypeError(f"only must be an iterable of claim names, got only={only!r}")
        only = set(only)
        unknown = sorted(only - {claim for claim, _, _ in plan})
        if unknown:
            raise ValueError(f"only names unknown claims {unknown}; the claims are "
                             f"{[claim for claim, _, _ in plan]}")
        plan = [step for step in plan if step[0] in only]
    results = []
    for claim, expected, run in plan:
        start = time.perf_counter()
        verdict = run()
        results.append((claim, expected, verdict, time.perf_counter() - start))
    return results
