"""Figures: plotting functions that return a ``matplotlib.figure.Figure``.

One module per topic (:mod:`~convtheory.figures.matrices`, ...).  This module
holds what they share: the house style, a figure factory that needs no
pyplot (so nothing here selects a backend or opens a window), and a
deterministic :func:`savefig`, so that the same figure gives the same PNG or
SVG bytes on every run and a regenerated report only changes where a result
did.  matplotlib is imported inside the functions: ``import convtheory``
stays light.
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager

from ..atomic import atomic_write

__all__ = ["STYLE", "figure_bytes", "new_figure", "savefig", "style"]

#: rcParams of every convtheory figure.  ``svg.hashsalt`` fixes the ids that
#: the SVG writer would otherwise draw at random.
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "svg.hashsalt": "convtheory",
    "svg.fonttype": "path",
    "path.simplify": True,
}

# Dates and software versions would make every run's bytes differ.
_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


@contextmanager
def style():
    """Context in which :data:`STYLE` applies (for drawing and saving).

    Examples
    --------
    >>> import matplotlib
    >>> with style():
    ...     matplotlib.rcParams["svg.hashsalt"]
    'convtheory'
    """
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=(6.0, 4.0), **subplots):
    """A styled ``Figure`` and its axes, made without pyplot.

    The figure is not registered with pyplot, so it is never shown, never
    leaks into pyplot's figure list, and works under any backend; saving it
    uses Agg.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : Axes or ndarray of Axes
        As ``Figure.subplots`` returns them.

    Examples
    --------
    >>> fig, ax = new_figure()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> type(fig).__name__
    'Figure'
    """
    from matplotlib.figure import Figure

    with style():
        fig = Figure(figsize=figsize, layout="constrained")
        axes = fig.subplots(nrows, ncols, **subplots)
    return fig, axes


def figure_bytes(fig, fmt: str = "png") -> bytes:
    """The figure encoded as ``fmt`` (png, svg or pdf), with deterministic metadata.

    Examples
    --------
    >>> fig, ax = new_figure(figsize=(2, 2))
    >>> _ = ax.plot([0, 1])
    >>> figure_bytes(fig) == figure_bytes(fig)
    True
    >>> figure_bytes(fig)[:4]
    b'\\x89PNG'
    """
    if fmt not in _METADATA:
        raise ValueError(f"fmt must be one of {tuple(_METADATA)}, got fmt={fmt!r}")
    buffer = io.BytesIO()
    with style():
        # A layout engine moves axes a little on every draw until it settles;
        # lay out once and freeze it, so every save of this figure is the same.
        if fig.get_layout_engine() is not None:
            fig.draw_without_rendering()
            fig.set_layout_engine("none")
        fig.savefig(buffer, format=fmt, metadata=_METADATA[fmt])
    return buffer.getvalue()


def savefig(fig, path, fmt: str | None = None) -> str:
    """Write a figure atomically (temporary file, then rename) with deterministic bytes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or os.PathLike
    fmt : {"png", "svg", "pdf"}, optional
        Defaults to the file's extension.

    Returns
    -------
    str
        The path written.

    Examples
    --------
    >>> import os, tempfile
    >>> fig, ax = new_figure(figsize=(2, 2))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = savefig(fig, os.path.join(d, "a.svg"))
    ...     sorted(os.listdir(d))
    ['a.svg']
    """
    path = os.fspath(path)
    fmt = fmt or os.path.splitext(path)[1].lstrip(".").lower()
    data = figure_bytes(fig, fmt)
    return atomic_write(path, data)

