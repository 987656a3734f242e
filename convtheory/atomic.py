"""Atomic file writes: a report or figure is either the old file or the new one, never half."""

from __future__ import annotations

import os
import tempfile

__all__ = ["atomic_write"]


def atomic_write(path, data) -> str:
    """Write ``data`` (str or bytes) to ``path`` through a temporary file and a rename.

    The temporary file lives in the destination's directory, so the final
    ``os.replace`` is atomic; an interruption leaves the old file (or none)
    and removes the temporary one.

    Returns
    -------
    str
        The path written.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = atomic_write(os.path.join(d, "a.txt"), "hello")
    ...     sorted(os.listdir(d))
    ['a.txt']
    """
    path = os.fspath(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=os.path.dirname(os.path.abspath(path)))
    try:
        os.chmod(tmp, _file_mode())  # mkstemp's 0600 would hide the report from others
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
