"""Writing the report: check the directory first, then write the whole set and swap it in.

The report is a set of files (``verification.md``/``.html``/``.json`` and
``figures/``) that refer to each other, so it is written as a set: every file
goes into a staging directory inside ``out``, and only then is the old set
moved aside and the new one moved in, by renames within one file system.  A
run killed while writing leaves the old report untouched (and a staging
directory that the next run removes); a run killed during the few renames of
the swap leaves files of one run only, some missing, never files of two runs
side by side.  An output directory that cannot be created or written is
refused before any check runs, and nothing is left behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from ..atomic import atomic_write
from .registry import SECTIONS
from .render import FIGURE_DIR, to_html, to_json, to_markdown
from .run import Report

__all__ = ["FORMATS", "OutputError", "atomic_write", "prepare_output", "write_report"]

#: Report formats and the file each one writes.
FORMATS = {"md": "verification.md", "html": "verification.html", "json": "verification.json"}

_RENDER = {"md": to_markdown, "html": to_html, "json": to_json}


class OutputError(OSError):
    """The report cannot be written where asked (a user error: exit code 2)."""


def prepare_output(out) -> None:
    """Create ``out`` and ``out/figures`` and prove they are writable, or undo and raise.

    Raises
    ------
    OutputError
        Naming the directory and the reason; any directory this call created
        is removed again.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     prepare_output(os.path.join(d, "r"))
    ...     sorted(os.listdir(os.path.join(d, "r")))
    ['figures']
    """
    out = os.path.abspath(os.fspath(out))
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"cannot write the report to --out {out!r}: it is a file, not a "
                          f"directory")
    created = []
    try:
        for directory in (out, os.path.join(out, FIGURE_DIR)):
            missing = []
            probe = directory
            while not os.path.exists(probe):
                missing.append(probe)
                probe = os.path.dirname(probe)
            os.makedirs(directory, exist_ok=True)
            created.extend(reversed(missing))
            fd, tmp = tempfile.mkstemp(prefix=".probe-", dir=directory)
            os.close(fd)
            os.unlink(tmp)
    except OSError as exc:
        for directory in reversed(created):
            try:
                os.rmdir(directory)
            except OSError:
                pass
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot write the report to --out {out!r}: {reason}") from None


#: Name prefixes of the directories a write uses inside ``out``; leftovers of a killed run.
STAGING_PREFIX, RETIRED_PREFIX = ".verification-staging-", ".verification-retired-"

# Every rename of the swap goes through here (a test kills a run between two of them).
_rename = os.replace


def write_report(report: Report, out, formats=("md", "html", "json")) -> list[str]:
    """Write the figures and the report files into ``out`` as one set; return the paths written.

    The set is staged in a directory inside ``out`` and swapped in at the
    end (see the module notes), so a reader never sees two runs mixed.
    Figures of earlier runs that this run did not draw, and report files of
    the formats this run did not write, leave with the old set; other files
    in ``out`` and ``out/figures`` are kept.

    Examples
    --------
    >>> import os, tempfile
    >>> from convtheory.report import run_report
    >>> report = run_report(sections=["channels"], figures=False, progress=False)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_report(report, d, ("md",))
    ...     sorted(os.listdir(d))
    ['figures', 'verification.md']
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"formats must be among {sorted(FORMATS)}, got {unknown}")
    prepare_output(out)
    out = os.path.abspath(os.fspath(out))
    _remove_leftovers(out)
    staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out)
    try:
        names = _stage(report, out, staging, formats)
        _swap(out, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [os.path.join(out, name) for name in names]


def _stage(report, out, staging, formats) -> list[str]:
    """Write the new set into ``staging``; return its report paths relative to ``out``."""
    figure_dir = os.path.join(staging, FIGURE_DIR)
    os.mkdir(figure_dir)
    names = []
    for result in report.results:
        for figure in result.figures:
            _write(os.path.join(figure_dir, figure.filename), figure.png)
            names.append(f"{FIGURE_DIR}/{figure.filename}")
    # A user's own files in figures/ move with the set; figures of earlier runs do not.
    ours = re.compile(r"^(%s)\..+\.(png|gif)$" % "|".join(re.escape(s.id) for s in SECTIONS))
    old_figures = os.path.join(out, FIGURE_DIR)
    for name in sorted(os.listdir(old_figures)):
        source = os.path.join(old_figures, name)
        if not ours.match(name) and not name.startswith((".tmp-", ".probe-")) and os.path.isfile(source):
            shutil.copy2(source, os.path.join(figure_dir, name))
    for fmt in formats:
        _write(os.path.join(staging, FORMATS[fmt]), _RENDER[fmt](report))
        names.append(FORMATS[fmt])
    return names


def _swap(out, staging) -> None:
    """Move the old set out of ``out``, then the staged set in."""
    retired = tempfile.mkdtemp(prefix=RETIRED_PREFIX, dir=out)
    members = (*FORMATS.values(), FIGURE_DIR)
    # First the whole old set leaves, then the new one comes: killed in between, a reader
    # finds files missing, never an old file beside a new one.
    for name in members:
        if os.path.lexists(os.path.join(out, name)):
            _rename(os.path.join(out, name), os.path.join(retired, name))
    # Figures before the pages that show them.
    for name in (FIGURE_DIR, *FORMATS.values()):
        if os.path.lexists(os.path.join(staging, name)):
            _rename(os.path.join(staging, name), os.path.join(out, name))
    shutil.rmtree(retired, ignore_errors=True)


def _remove_leftovers(out) -> None:
    """Remove the staging and retired directories of runs that were killed."""
    for name in os.listdir(out):
        if name.startswith((STAGING_PREFIX, RETIRED_PREFIX)):
            shutil.rmtree(os.path.join(out, name), ignore_errors=True)


def _write(path, data) -> None:
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with open(path, "wb") as f:
        f.write(payload)
