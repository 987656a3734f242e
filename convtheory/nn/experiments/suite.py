"""All the experiments with their default settings."""

from __future__ import annotations

from .composition import learn_composition
from .efficiency import data_efficiency
from .filters import learn_filter, learn_filter_bank

__all__ = ["run_experiments"]


def run_experiments(*, quick: bool = False, seed: int = 0, progress: bool = False) -> dict:
    """All four experiments with their default settings, by name.

    Parameters
    ----------
    quick : bool
        Smaller composition and data-efficiency runs (a few seconds in all),
        for smoke tests; the numbers are less converged.
    seed : int
    progress : bool
        Progress bars for the long runs (the command line turns them on).

    Returns
    -------
    dict
        ``{"filter": FilterResult, "bank": BankResult, "composition":
        CompositionResult, "data_efficiency": DataEfficiencyResult}``.

    Examples
    --------
    >>> results = run_experiments(quick=True)
    >>> sorted(results), results["filter"].converged
    (['bank', 'composition', 'data_efficiency', 'filter'], True)
    """
    composition = dict(steps=1500) if quick else {}
    efficiency = dict(n_train=(1, 4, 16), size=8, steps=300) if quick else {}
    return {
        "filter": learn_filter("sobel_x", seed=seed, progress=progress),
        "bank": learn_filter_bank(seed=seed, progress=progress),
        "composition": learn_composition("box", "box", seed=seed, progress=progress, **composition),
        "data_efficiency": data_efficiency("sobel_x", seed=seed, progress=progress, **efficiency),
    }
