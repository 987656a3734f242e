"""The verification report: every claim of the seed note, run, and written as md/html/json.

* :mod:`.claims`: :class:`Claim` (statement, expected outcome, check, figures)
  and :func:`run_claim`;
* :mod:`.registry`: the sections and the one place claims are wired in;
* :mod:`.sections`: one module of claims per section;
* :mod:`.run`: :func:`run_report`; :mod:`.render`: the three formats;
  :mod:`.output`: atomic writing.

Examples
--------
>>> from convtheory.report import run_report
>>> report = run_report(sections=["channels"], figures=False, progress=False)
>>> report.confirmed
True
"""

from .claims import Claim, ClaimResult, Context, FigureSpec, Section, run_claim
from .output import FORMATS, OutputError, atomic_write, prepare_output, write_report
from .registry import SECTIONS, all_claims
from .render import to_html, to_json, to_markdown
from .run import SCHEMA_VERSION, Report, run_report

__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "SECTIONS",
    "Claim",
    "ClaimResult",
    "Context",
    "FigureSpec",
    "OutputError",
    "Report",
    "Section",
    "all_claims",
    "atomic_write",
    "prepare_output",
    "run_claim",
    "run_report",
    "to_html",
    "to_json",
    "to_markdown",
    "write_report",
]
