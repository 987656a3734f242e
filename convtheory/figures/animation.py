"""Animated figures: one C_in×K×K filter sliding over a 3-channel input, beside its conv matrix.

The seed teaches multi-channel convolution with an animation; this module
draws the same picture from the taps, so the animation cannot disagree with
the matrix: in each frame the window on every input channel is the set of
positions that output reads (from :func:`~convtheory.geometry.axis_taps` on
the padded grid), the output cell is the one being computed, and the
highlighted row of the conv matrix is the row that computes it.  Frames are
written with matplotlib's pillow writer as a GIF whose bytes depend only on
the seed.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ..geometry import axis_taps
from ..matrices import conv_matrix
from ..weights import conv_arguments
from . import STYLE

__all__ = ["MAX_GIF_BYTES", "sliding_filter_frames", "sliding_filter_gif"]

#: The report keeps each animation below this size.
MAX_GIF_BYTES = 1_000_000


def sliding_filter_frames(weight, x, *, stride=1, padding=0):
    """What each frame of the animation shows, read from the taps and the matrix.

    Parameters
    ----------
    weight : (C_in, K, K) array
        One filter (a single output channel).
    x : (C_in, n, n) array
    stride, padding : int
        As in :func:`~convtheory.conv_matrix` (zero padding).

    Returns
    -------
    M : (n_out, C_in*n*n) ndarray
        The conv matrix.
    frames : list of dict
        Per output position, in row order: ``row`` (of M), ``output`` (the
        2-D output index), ``window_rows`` and ``window_cols`` (positions on
        the *padded* grid the filter covers), ``value`` (``M[row] @ x``).

    Examples
    --------
    >>> w, x = np.ones((3, 2, 2)), np.arange(27.0).reshape(3, 3, 3)
    >>> M, frames = sliding_filter_frames(w, x)
    >>> M.shape, len(frames), frames[0]["window_rows"].tolist()
    ((4, 27), 4, [0, 1])
    >>> bool(frames[0]["value"] == x[:, :2, :2].sum())
    True
    """
    w = np.asarray(weight, dtype=float)[None]
    x = np.asarray(x, dtype=float)
    _, spec = conv_arguments(w, x.shape, stride=stride, padding=padding)
    M = conv_matrix(w, spec).toarray()
    (lo0, hi0), (lo1, hi1) = spec.padding
    # Windows on the padded grid: the same taps with the padding made part of the input.
    rows = axis_taps(x.shape[1] + lo0 + hi0, w.shape[-2], stride=spec.stride[0])
    cols = axis_taps(x.shape[2] + lo1 + hi1, w.shape[-1], stride=spec.stride[1])
    out_shape = spec.output_shape[1:]
    frames = []
    for row in range(M.shape[0]):
        r, c = np.unravel_index(row, out_shape)
        frames.append({"row": row, "output": (int(r), int(c)), "window_rows": rows[r],
                       "window_cols": cols[c], "value": float(M[row] @ x.ravel())})
    return M, frames


def sliding_filter_gif(seed: int = 0, *, n: int = 5, k: int = 3, channels: int = 3,
                       stride: int = 1, padding: int = 0, dpi: int = 72) -> bytes:
    """A GIF of one ``channels``×k×k filter sliding over a ``channels``×n×n input.

    Each frame shows the padded input channels with the filter's window, the
    output map filled so far (the current cell outlined) and the conv matrix
    with the row that computes the current output highlighted.  Inputs and
    filter are small integers drawn from ``seed``, so the same seed gives
    the same bytes.

    Returns
    -------
    bytes
        The GIF (starts with ``b"GIF8"``), a few hundred kB at most.

    Examples
    --------
    >>> gif = sliding_filter_gif(0, n=3, k=2)
    >>> gif[:4], gif == sliding_filter_gif(0, n=3, k=2)
    (b'GIF8', True)
    """
    from matplotlib import animation, rc_context
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(channels, n, n)).astype(float)
    w = rng.integers(-1, 2, size=(channels, k, k)).astype(float)
    M, frames = sliding_filter_frames(w, x, stride=stride, padding=padding)
    out_shape = (max(f["output"][0] for f in frames) + 1, max(f["output"][1] for f in frames) + 1)
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)), constant_values=np.nan)

    with rc_context(STYLE):
        fig = Figure(figsize=(12.0, 3.4), dpi=dpi)
        grid = fig.add_gridspec(1, channels + 2, width_ratios=[1] * (channels + 1) + [3.2],
                                left=0.02, right=0.99, bottom=0.08, top=0.8, wspace=0.25)
        lim = float(np.abs(x).max()) or 1.0
        windows = []
        for c in range(channels):
            ax = fig.add_subplot(grid[0, c])
            ax.set_facecolor("0.85")  # padding cells (NaN) are grey
            ax.imshow(padded[c], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_title(f"input channel {c}")
            ax.set_xticks([])
            ax.set_yticks([])
            windows.append(ax.add_patch(Rectangle((0, 0), k, k, fill=False, edgecolor="black",
                                                  linewidth=2.5)))
        ax_out = fig.add_subplot(grid[0, channels])
        out_values = np.full(out_shape, np.nan)
        out_lim = float(np.abs(M @ x.ravel()).max()) or 1.0
        out_image = ax_out.imshow(out_values, cmap="PuOr_r", vmin=-out_lim, vmax=out_lim,
                                  interpolation="nearest")
        ax_out.set_xticks([])
        ax_out.set_yticks([])
        cell = ax_out.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="black",
                                          linewidth=2.5))
        ax_m = fig.add_subplot(grid[0, channels + 1])
        m_lim = float(np.abs(M).max()) or 1.0
        stored = np.where(M != 0, M, np.nan)
        ax_m.set_facecolor("white")
        ax_m.imshow(stored, cmap="RdBu_r", vmin=-m_lim, vmax=m_lim, aspect="auto",
                    interpolation="nearest")
        ax_m.set_xlabel(f"input unit (channel-major, {channels}×{n}×{n} = {M.shape[1]})")
        ax_m.set_ylabel("output unit")
        ax_m.set_yticks(range(M.shape[0]))
        band = ax_m.add_patch(Rectangle((-0.5, -0.5), M.shape[1], 1, facecolor="gold",
                                        alpha=0.45, edgecolor="black", linewidth=1.5))
        for c in range(1, channels):  # channel blocks of the columns
            ax_m.axvline(c * n * n - 0.5, color="0.5", linewidth=0.8)
        where = f"stride {stride}, zero padding {padding} in grey" if padding else \
            f"stride {stride}, no padding"
        fig.suptitle(f"one {channels}×{k}×{k} filter on a {channels}×{n}×{n} input ({where}): "
                     f"each output is one row of the conv matrix")

        def draw(i):
            frame = frames[i]
            for patch in windows:
                patch.set_xy((frame["window_cols"][0] - 0.5, frame["window_rows"][0] - 0.5))
            r, c = frame["output"]
            out_values[r, c] = frame["value"]
            out_image.set_data(out_values)
            cell.set_xy((c - 0.5, r - 0.5))
            ax_out.set_title(f"output ({r}, {c}) = {frame['value']:g}")
            band.set_y(frame["row"] - 0.5)
            ax_m.set_title(f"conv matrix {M.shape[0]}×{M.shape[1]}: row {frame['row']} "
                           f"computes output ({r}, {c})")
            return []

        movie = animation.FuncAnimation(fig, draw, frames=len(frames), blit=False, repeat=False)
        fd, path = tempfile.mkstemp(suffix=".gif")
        os.close(fd)
        try:
            movie.save(path, writer=animation.PillowWriter(fps=1.5), dpi=dpi)
            with open(path, "rb") as f:
                return f.read()
        finally:
            os.unlink(path)
