"""Claims: the unit of the verification report.

A :class:`Claim` is one statement from the seed note with its *expected*
outcome, a check that returns :class:`~convtheory.Verdict` (or
:class:`~convtheory.Certificate`) objects, and the figures that show it.  A
claim such as "zero padding breaks translation equivariance at the border" is
expected to *fail*: it is confirmed when its check fails there.

:func:`run_claim` turns a claim into a :class:`ClaimResult`.  A claim whose
code raises, or whose modules cannot be imported, is never confirmed: the
report shows it as an error or as "not available", so nothing passes by
being absent.
"""

from __future__ import annotations

import importlib
import time
import traceback
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..verdict import Certificate, Verdict

__all__ = ["Claim", "ClaimResult", "Context", "FigureSpec", "RenderedFigure", "Section",
           "run_claim"]


@dataclass(frozen=True)
class Section:
    """One claim of the seed note: a heading of the report.

    Attributes
    ----------
    id : str
    title : str
    quote : str
        The seed's own words.
    """

    id: str
    title: str
    quote: str


@dataclass(frozen=True)
class FigureSpec:
    """A figure of a claim: ``make(ctx)`` returns a ``matplotlib.figure.Figure``, or GIF bytes.

    An animation (bytes starting with ``b"GIF8"``) is embedded in the HTML
    page and linked from the Markdown.
    """

    name: str
    caption: str
    make: Callable[["Context"], Any]


@dataclass(frozen=True)
class Claim:
    """One checkable statement of the report.

    Attributes
    ----------
    id : str
        Stable identifier, ``"<section>.<name>"``; figure files are named after it.
    section : str
        Id of the :class:`Section` it belongs to.
    statement : str
        The claim, in words, as the report prints it.
    expected : bool
        ``True`` when the claim is that the check holds; ``False`` for a
        claim that a property *breaks* (confirmed when the check fails).
    check : callable
        ``check(ctx)`` returns a Verdict, a Certificate, or a sequence of them.
    figures : tuple of FigureSpec
        The first is the claim's key figure in the summary table.
    requires : tuple of str
        ``"module"`` or ``"module:attribute"`` names the check needs; where
        one is missing the claim is reported as not available.
    """

    id: str
    section: str
    statement: str
    expected: bool
    check: Callable[["Context"], Any]
    figures: tuple = ()
    requires: tuple = ()

    def __post_init__(self):
        if not isinstance(self.expected, bool):
            raise TypeError(f"expected must be a bool, got expected={self.expected!r} in {self.id}")
        object.__setattr__(self, "figures", tuple(self.figures))
        object.__setattr__(self, "requires", tuple(self.requires))

    def missing(self) -> tuple[str, ...]:
        """The entries of :attr:`requires` that cannot be imported."""
        return tuple(name for name in self.requires if not _importable(name))


def _importable(name: str) -> bool:
    module, _, attribute = name.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False
    return not attribute or hasattr(mod, attribute)


@dataclass
class Context:
    """What every check and figure of one run shares.

    Attributes
    ----------
    seed : int
        The run's seed; :meth:`rng` derives an independent generator per name.
    quick : bool
        Smaller sizes and shorter training (``convtheory verify --quick``).
    memo : dict
        Results a check computes once and its figures reuse (e.g. a training run).

    Examples
    --------
    >>> ctx = Context(seed=0)
    >>> int(ctx.rng("a").integers(100)) == int(Context(seed=0).rng("a").integers(100))
    True
    """

    seed: int = 0
    quick: bool = False
    memo: dict = field(default_factory=dict)

    def rng(self, name: str) -> np.random.Generator:
        """A generator that depends on the seed and ``name`` only, not on the run order."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per run; later calls with ``key`` return the same object."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


@dataclass(frozen=True)
class RenderedFigure:
    """A figure drawn for the report: its image bytes (PNG, or GIF for an animation) and file."""

    name: str
    caption: str
    filename: str
    png: bytes

    @property
    def animated(self) -> bool:
        """True for a GIF animation."""
        return self.filename.endswith(".gif")

    @property
    def mime(self) -> str:
        return "image/gif" if self.animated else "image/png"


@dataclass(frozen=True)
class ClaimResult:
    """What running one claim found.

    ``status`` is ``"confirmed"``, ``"refuted"`` (the checks ran and did not
    come out as expected), ``"error"`` (the check raised) or
    ``"unavailable"`` (a required module is missing).  Only ``"confirmed"``
    counts as confirmed.
    """

    claim: Claim
    status: str
    verdicts: tuple = ()
    certificates: tuple = ()
    figures: tuple = ()
    message: str = ""
    seconds: float = 0.0

    @property
    def confirmed(self) -> bool:
        return self.status == "confirmed"


def _as_verdict(item) -> Verdict:
    if isinstance(item, Verdict):
        return item
    if isinstance(item, Certificate):
        return Verdict(item.theorem, item.statement, item.holds, item.method, item.sizes,
                       dict(item.details))
    raise TypeError(
        f"a check must return Verdict or Certificate objects, got {type(item).__name__}")


def run_claim(claim: Claim, ctx: Context, *, figures: bool = True) -> ClaimResult:
    """Run one claim's check (and draw its figures); never raises for a failing check.

    Examples
    --------
    >>> ok = Claim("demo.ok", "demo", "1 + 1 = 2", True,
    ...            lambda ctx: Verdict("add", "1 + 1 = 2", 1 + 1 == 2, "exhaustive", "one case"))
    >>> run_claim(ok, Context()).status
    'confirmed'
    >>> wrong = Verdict("add", "1 + 1 = 3", 1 + 1 == 3, "exhaustive", "one case")
    >>> breaks = Claim("demo.breaks", "demo", "1 + 1 = 3 is false", False, lambda ctx: wrong)
    >>> run_claim(breaks, Context()).confirmed
    True
    >>> run_claim(Claim("demo.absent", "demo", "s", True, None, requires=("no_such_module",)),
    ...           Context()).status
    'unavailable'
    """
    missing = claim.missing()
    if missing:
        return ClaimResult(claim, "unavailable",
                           message=f"not available: needs {', '.join(missing)}")
    start = time.perf_counter()
    try:
        outcome = claim.check(ctx)
        items = list(outcome) if isinstance(outcome, (list, tuple)) else [outcome]
        verdicts = tuple(_as_verdict(item) for item in items)
        certificates = tuple(item for item in items if isinstance(item, Certificate))
        drawn = tuple(_draw(claim, spec, ctx) for spec in claim.figures) if figures else ()
    except Exception as exc:  # a broken check is reported, never passed
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
        return ClaimResult(claim, "error", message=f"{type(exc).__name__}: {exc} ({where})",
                           seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if not verdicts:
        return ClaimResult(claim, "error", message="the check returned no verdict", seconds=seconds)
    as_expected = all(v.holds == claim.expected for v in verdicts)
    return ClaimResult(claim, "confirmed" if as_expected else "refuted", verdicts, certificates,
                       drawn, seconds=seconds)


def _draw(claim: Claim, spec: FigureSpec, ctx: Context) -> RenderedFigure:
    from ..figures import figure_bytes

    fig = spec.make(ctx)
    if isinstance(fig, bytes):
        if not fig.startswith(b"GIF8"):
            raise TypeError(f"figure {spec.name} of {claim.id} returned bytes that are not a GIF")
        return RenderedFigure(spec.name, spec.caption, f"{claim.id}.{spec.name}.gif", fig)
    try:
        png = figure_bytes(fig, "png")
    finally:
        _close(fig)
    return RenderedFigure(spec.name, spec.caption, f"{claim.id}.{spec.name}.png", png)


def _close(fig) -> None:
    """Release a figure that a plotting function may have made through pyplot."""
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
