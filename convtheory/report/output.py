"""Writing the report: check the directory first, then write every file atomically.

Each file is written to a temporary file in its own directory and renamed
over the target (``os.replace``), so an interrupted run leaves either the old
file or the new one, never half of one.  An output directory that cannot be
created or written is refused before any check runs, and nothing is left
behind.
"""

from __future__ import annotations

import os
import re
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


def write_report(report: Report, out, formats=("md", "html", "json")) -> list[str]:
    """Write the figures and the report files into ``out``; return the paths written.

    Figures of earlier runs that this run did not draw, and report files of
    the formats this run did not write, are removed, so the directory always
    holds one run's report.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"formats must be among {sorted(FORMATS)}, got {unknown}")
    prepare_output(out)
    out = os.fspath(out)
    figure_dir = os.path.join(out, FIGURE_DIR)
    written = []
    drawn = set()
    for result in report.results:
        for figure in result.figures:
            path = os.path.join(figure_dir, figure.filename)
            atomic_write(path, figure.png)
            drawn.add(figure.filename)
            written.append(path)
    ours = re.compile(r"^(%s)\..+\.png$" % "|".join(re.escape(s.id) for s in SECTIONS))
    for name in sorted(os.listdir(figure_dir)):
        if ours.match(name) and name not in drawn:
            os.unlink(os.path.join(figure_dir, name))
    for fmt in formats:
        path = os.path.join(out, FORMATS[fmt])
        atomic_write(path, _RENDER[fmt](report))
        written.append(path)
    for fmt in set(FORMATS) - set(formats):
        stale = os.path.join(out, FORMATS[fmt])
        if os.path.isfile(stale):
            os.unlink(stale)
    return written

