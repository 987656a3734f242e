"""Run the registered claims: the engine behind ``convtheory verify``."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

from .claims import ClaimResult, Context, run_claim
from .registry import SECTIONS, all_claims

__all__ = ["SCHEMA_VERSION", "Report", "run_report"]

#: Version of the layout of ``verification.json``; bump it when a field changes meaning.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Report:
    """The results of one run, ready for the writers in :mod:`convtheory.report.render`.

    Attributes
    ----------
    seed : int
    quick : bool
    results : tuple of ClaimResult
        In registry order.
    sections : tuple of Section
    seconds : float
        Wall time of the run (kept out of the Markdown so that it stays byte-identical).
    """

    seed: int
    quick: bool
    results: tuple
    sections: tuple = SECTIONS
    seconds: float = 0.0

    @property
    def confirmed(self) -> bool:
        """True when every claim is confirmed (the exit code 0 of ``convtheory verify``)."""
        return bool(self.results) and all(r.confirmed for r in self.results)

    def counts(self) -> dict:
        """Number of claims by status, plus the total."""
        counts = {"claims": len(self.results)}
        for status in ("confirmed", "refuted", "error", "unavailable"):
            counts[status] = sum(r.status == status for r in self.results)
        return counts


def run_report(*, seed: int = 0, quick: bool = False, sections=None, figures: bool = True,
               progress: bool | None = None) -> Report:
    """Run every claim (or those of ``sections``) and collect the results.

    Parameters
    ----------
    seed : int
        Seeds every random input; the same seed gives the same report.
    quick : bool
        Smaller sizes and shorter training.
    sections : iterable of str, optional
        Section ids to run (default: all).
    figures : bool
        Draw the claims' figures.
    progress : bool, optional
        Show a tqdm bar on stderr, and a line for each claim as it finishes;
        default: only when stderr is a terminal, so piped or logged output
        stays clean.

    Examples
    --------
    >>> report = run_report(sections=["channels"], figures=False, progress=False)
    >>> [(r.claim.id, r.status) for r in report.results]
    [('channels.blocks', 'confirmed'), ('channels.groups', 'confirmed')]
    """
    from tqdm import tqdm

    claims = all_claims(sections)
    ctx = Context(seed=seed, quick=quick)
    if progress is None:
        progress = sys.stderr.isatty()
    results: list[ClaimResult] = []
    start = time.perf_counter()
    with tqdm(claims, desc="verify", unit="claim", file=sys.stderr, disable=not progress,
              leave=False, **_bar_width()) as bar:
        for claim in bar:
            bar.set_postfix_str(claim.id)
            result = run_claim(claim, ctx, figures=figures)
            results.append(result)
            # One line per finished claim above the bar: a long run shows what it has done.
            if progress:
                mark = "ok" if result.confirmed else "NOT CONFIRMED"
                bar.write(f"{mark} {claim.id} ({result.seconds:.1f} s)", file=sys.stderr)
    return Report(seed, quick, tuple(results), SECTIONS, time.perf_counter() - start)


def _bar_width() -> dict:
    """tqdm's width: the terminal's, or 80 columns where it reports none (a bare pty says 0)."""
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 0
    return {"dynamic_ncols": True} if columns > 0 else {"ncols": 80}
