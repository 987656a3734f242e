"""One filter learned from crops of real photographs: conditioning, and three solvers.

For each image source (the synthetic control, each bundled photograph, and
all of them together) :func:`compare_solvers` trains the same 3x3 conv
layer from the same initialisation with Adam (:func:`~convtheory.nn.train.fit`)
and with L-BFGS on the same loss, and solves the same least squares with
LSQR through the im2col matrix, each until the learned kernel is within
``tol`` of the true one.  It reports the condition number of the patches'
second-moment matrix beside the steps and seconds of each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ...matrices import DEFAULT_MAX_BYTES
from .. import functional as F
from ..layers import Conv2d
from ..train import fit
from ._budget import _IMAGE_ARRAYS, _check_budget, _positive_int
from ._inputs import training_images
from .filters import _kernel
from .solvers import SolverRun, lbfgs_fit, lsqr_filter, patch_conditioning

__all__ = ["SolverComparison", "SourceRuns", "compare_bank_solvers", "compare_solvers"]


@dataclass(frozen=True)
class SourceRuns:
    """The three solvers on one image source.

    Attributes
    ----------
    images : str
        ``"synthetic"``, ``"photos"`` (all photographs), or one photograph's name.
    condition_number : float
        Of the ``k x k`` patches' second-moment matrix.
    runs : tuple of SolverRun
        Adam, L-BFGS, LSQR, in that order.
    """

    images: str
    condition_number: float
    runs: tuple

    def run(self, solver: str) -> SolverRun:
        """The run of ``solver`` (``"adam"``, ``"lbfgs"`` or ``"lsqr"``)."""
        for r in self.runs:
            if r.solver == solver:
                return r
        raise ValueError(f"solver must be one of {[r.solver for r in self.runs]}, got {solver!r}")


@dataclass(frozen=True)
class SolverComparison:
    """What :func:`compare_solvers` measured.

    Attributes
    ----------
    kernel_name : str
    tol : float
    n_images, size : int
        Crops per source, and their side.
    adam_steps : int
        Adam's step cap.
    sources : tuple of SourceRuns
    """

    kernel_name: str
    tol: float
    n_images: int
    size: int
    adam_steps: int
    sources: tuple

    @property
    def max_error(self) -> float:
        """The worst final error over every source and solver."""
        return max(r.max_error for s in self.sources for r in s.runs)

    def table(self, *, seconds: bool = True) -> str:
        """A markdown table: one row per source (``seconds=False``: steps and errors only).

        Examples
        --------
        >>> r = SolverComparison("sobel_x", 1e-6, 4, 32, 100, (SourceRuns("moon", 133.0, (
        ...     SolverRun("adam", 508, 0.27, 9.9e-7), SolverRun("lbfgs", 20, 0.01, 1e-9),
        ...     SolverRun("lsqr", 9, 0.001, 1e-13))),))
        >>> print(r.table().splitlines()[2])
        | moon | 133 | 508 / 0.27 s / 9.9e-07 | 20 / 0.01 s / 1e-09 | 9 / 0.001 s / 1e-13 |
        >>> print(r.table(seconds=False).splitlines()[2])
        | moon | 133 | 508 / 9.9e-07 | 20 / 1e-09 | 9 / 1e-13 |
        """
        time = " / time" if seconds else ""
        head = [f"| images | condition number | Adam: steps{time} / max error | "
                f"L-BFGS: iterations{time} / max error | LSQR: iterations{time} / max error |",
                "|---|---:|---:|---:|---:|"]

        def cell(r):
            return (f"{r.steps} / {r.seconds:.2g} s / {r.max_error:.2g}" if seconds
                    else f"{r.steps} / {r.max_error:.2g}")

        rows = [f"| {s.images} | {s.condition_number:.3g} | " + " | ".join(map(cell, s.runs))
                + " |" for s in self.sources]
        return "\n".join(head + rows)


def _inputs(source, n_images, size, seed):
    if source in ("synthetic", "photos"):
        return training_images(source, n_images, size, seed)
    from ..datasets import PHOTOS, photo_crops

    if source not in PHOTOS:
        raise ValueError(f"sources must be 'synthetic', 'photos' or names from {PHOTOS}, "
                         f"got {source!r}")
    return photo_crops(n_images, size, seed=seed, photos=source)[:, None]


def compare_solvers(kernel="sobel_x", *, sources=None, n_images: int = 4, size: int = 32,
                    steps: int = 20_000, lr: float = 0.05, tol: float = 1e-6, seed: int = 0
                    ) -> SolverComparison:
    """Adam, L-BFGS and LSQR learn one filter from each image source.

    Parameters
    ----------
    kernel : str or (k, k) array
        As in :func:`~convtheory.nn.experiments.learn_filter`.
    sources : sequence of str, optional
        Default: ``"synthetic"``, each of :data:`~convtheory.nn.datasets.PHOTOS`,
        and ``"photos"`` (crops of all of them).
    n_images, size : int
        ``n_images`` crops of ``size x size`` per source.
    steps : int
        Adam's step cap (it stops earlier once within ``tol``).
    lr : float
        Adam's learning rate.
    tol : float
    seed : int
        Crops and the layer's initialisation (the same for all solvers).

    Examples
    --------
    >>> r = compare_solvers(sources=("synthetic", "moon"), size=16, seed=0)
    >>> [s.images for s in r.sources], r.max_error <= 1e-6
    (['synthetic', 'moon'], True)
    >>> moon = r.sources[1]
    >>> moon.condition_number > r.sources[0].condition_number
    True
    """
    from ..datasets import PHOTOS

    name, k = _kernel(kernel)
    sources = ("synthetic",) + PHOTOS + ("photos",) if sources is None else tuple(sources)
    sizes = {"n_images": _positive_int(n_images, "n_images"), "size": _positive_int(size, "size"),
             "steps": _positive_int(steps, "steps")}
    pixels = n_images * size * size
    _check_budget(sizes, needed_bytes=8 * pixels * (_IMAGE_ARRAYS + 2 * k.size),
                  work=3 * len(sources) * steps * pixels * k.size, max_bytes=DEFAULT_MAX_BYTES)
    results = []
    for source in sources:
        x = _inputs(source, n_images, size, seed)
        y = F.conv2d(x, k[None, None])
        conv = Conv2d(1, 1, k.shape, bias=False, seed=seed)
        error = lambda conv=conv: float(np.abs(conv.weight.data[0, 0] - k).max())
        start = time.perf_counter()
        curve = fit(conv, x, y, steps=steps, lr=lr, stop=lambda error=error: error() <= tol)
        adam = SolverRun("adam", len(curve), time.perf_counter() - start, error())
        conv = Conv2d(1, 1, k.shape, bias=False, seed=seed)
        lbfgs = lbfgs_fit(conv, x, y, lambda conv=conv: float(np.abs(conv.weight.data[0, 0] - k).max()),
                          tol=tol)
        _, lsqr = lsqr_filter(x, y, k, tol=tol)
        results.append(SourceRuns(source, patch_conditioning(x, k.shape), (adam, lbfgs, lsqr)))
    return SolverComparison(name, tol, n_images, size, steps, tuple(results))


def compare_bank_solvers(*, images: str = "photos", n_images: int = 4, size: int = 24,
                         steps: int = 10_000, lr: float = 0.05, tol: float = 1e-6,
                         seed: int = 0) -> SourceRuns:
    """Adam, L-BFGS and LSQR learn the 3->4 channel bank of :func:`~convtheory.nn.experiments.filter_bank_weight`.

    On colour crops of photographs the three channels are strongly
    correlated, so the ``3 x 3 x 3`` patches are much worse conditioned than
    one channel's.  LSQR solves one least squares per output channel; its
    ``steps`` are their total iterations.

    Examples
    --------
    >>> r = compare_bank_solvers(images="synthetic", size=12, seed=0)
    >>> [run.solver for run in r.runs], max(run.max_error for run in r.runs) <= 1e-6
    (['adam', 'lbfgs', 'lsqr'], True)
    """
    from .filters import filter_bank_weight, learn_filter_bank

    adam = learn_filter_bank(images=images, n_images=n_images, size=size, steps=steps, lr=lr,
                             tol=tol, seed=seed)
    _, w = filter_bank_weight()
    x = training_images(images, n_images, size, seed, color=True)
    y = F.conv2d(x, w)
    conv = Conv2d(3, 4, 3, bias=False, seed=seed)
    lbfgs = lbfgs_fit(conv, x, y, lambda: float(np.abs(conv.weight.data - w).max()), tol=tol)
    channels = [lsqr_filter(x, y[:, o:o + 1], w[o], tol=tol)[1] for o in range(len(w))]
    lsqr = SolverRun("lsqr", sum(r.steps for r in channels), sum(r.seconds for r in channels),
                     max(r.max_error for r in channels))
    return SourceRuns(f"{images} (3 -> 4 channel bank)", adam.condition_number,
                      (SolverRun("adam", adam.steps, adam.seconds, adam.max_error), lbfgs, lsqr))
