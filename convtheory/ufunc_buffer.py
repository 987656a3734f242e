"""numpy's ufunc buffer, made small around array loops over short strided rows.

numpy 2 runs a ufunc whose operands are strided views with rows shorter than
its buffer (``numpy.getbufsize()``, 8192 elements by default) through that
buffer, copying the rows in and out.  Measured here (numpy 2.4, one core of
an AMD EPYC), an add of two ``(16, 1086)`` float32 views took 7.7 us with the
default buffer and 3.1 us with a 2048-element one, while ``(16, 2172)`` took
4.2 us either way; adding a bias while cropping a depthwise conv's output
(rows of 64) took 0.39 ms against 0.21.  Inside :func:`short_rows` the rows
are passed to the loop as they are.

``numpy.setbufsize`` is per context (thread), so other threads keep theirs.

Examples
--------
>>> import numpy as np
>>> before = np.getbufsize()
>>> with short_rows():
...     np.getbufsize()
2048
>>> np.getbufsize() == before
True
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .validation import as_int

__all__ = ["ROW_BUFFER", "short_rows"]

#: Elements of numpy's ufunc buffer inside :func:`short_rows` (numpy's default is 8192).
ROW_BUFFER = 2048


@contextmanager
def short_rows(size: int | None = None):
    """numpy's ufunc buffer set to ``size`` (default :data:`ROW_BUFFER`) elements inside.

    Parameters
    ----------
    size : int, optional
        A positive multiple of 16, as ``numpy.setbufsize`` requires.

    Raises
    ------
    TypeError
        ``size`` not an integer (nor None).
    ValueError
        ``size`` not a positive multiple of 16, or over numpy's largest buffer.

    Examples
    --------
    >>> with short_rows(64):
    ...     np.getbufsize()
    64
    >>> with short_rows(100):
    ...     pass
    Traceback (most recent call last):
    ...
    ValueError: size must be a positive multiple of 16 (numpy.setbufsize), got size=100
    """
    size = ROW_BUFFER if size is None else as_int(size, "size")
    if size < 16 or size % 16:
        raise ValueError(f"size must be a positive multiple of 16 (numpy.setbufsize), "
                         f"got size={size}")
    try:
        old = np.setbufsize(size)
    except ValueError as error:  # numpy's own upper limit
        raise ValueError(f"size={size:,} is over numpy's largest ufunc buffer: {error}") from None
    try:
        yield
    finally:
        np.setbufsize(old)
