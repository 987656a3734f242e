"""Sparsity patterns: the conv matrix beside the dense layer's.

The seed's picture of "a dense layer that is not fully connected, with tied
weights" is a spy plot: the conv matrix has a few diagonals of entries, each
coloured by the weight it holds (one colour per tie class ``B_k``), while the
dense layer of the same shape fills every entry with its own parameter.
"""

from __future__ import annotations

import numpy as np

from ..spec import ConvSpec
from ..taps import conv_taps
from ..weights import conv_arguments
from . import new_figure

__all__ = ["MAX_SPY_CELLS", "spy_conv_vs_dense"]

#: Most matrix entries :func:`spy_conv_vs_dense` draws: one image cell per
#: entry (8 bytes each, twice), and past a few million cells the screen shows
#: a blur anyway.
MAX_SPY_CELLS = 4_000_000


def spy_conv_vs_dense(weight, input_shape, *, figsize=(9.0, 3.6), max_cells=MAX_SPY_CELLS,
                      **conv):
    """Spy plot of the conv matrix, coloured by tie class, beside the dense layer's.

    Parameters
    ----------
    weight : array_like
        As in :func:`~convtheory.conv_matrix` (only its shape is drawn: the
        colour of an entry is the weight index that lands there).
    input_shape : tuple of int, or ConvSpec
    figsize : (float, float)
    max_cells : int
        Refuse (``ValueError``) a matrix of more entries than this, checked
        before anything is built.
    **conv
        ``stride, padding, dilation, groups, padding_mode, flip``.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the conv matrix, each entry coloured by the weight ``k``
        that lands there (blank where none does; where reflect or replicate
        fold several weights onto one entry, the smallest ``k``), and the
        dense layer's full pattern, with the parameter counts of each in the
        titles.

    Examples
    --------
    >>> fig = spy_conv_vs_dense(np.ones((3, 3)), (4, 4))
    >>> [ax.get_title().split(":")[0] for ax in fig.axes[:2]]
    ['conv', 'dense']
    """
    w, spec = conv_arguments(weight, input_shape, **conv)
    n_rows, n_cols = spec.matrix_shape
    if n_rows * n_cols > max_cells:
        raise ValueError(
            f"a {n_rows:,} x {n_cols:,} conv matrix has {n_rows * n_cols:,} entries, over "
            f"max_cells={max_cells:,} for a spy plot; use a smaller input (the pattern repeats "
            f"with the size)")
    taps = conv_taps(spec)
    n_params = spec.n_weights
    # One cell per matrix entry: the weight that lands there (the smallest
    # index where reflect or replicate fold several), NaN where none does.
    ties = np.full((n_rows, n_cols), np.nan)
    order = np.argsort(-taps.kernel, kind="stable")  # smallest k written last wins
    ties[taps.rows[order], taps.cols[order]] = taps.kernel[order]
    nnz = int(np.count_nonzero(~np.isnan(ties)))

    fig, (ax_conv, ax_dense) = new_figure(1, 2, figsize=figsize, sharey=True)
    cmap = "tab10" if n_params <= 10 else "viridis"
    extent = (-0.5, n_cols - 0.5, n_rows - 0.5, -0.5)
    image = ax_conv.imshow(ties, cmap=cmap, vmin=-0.5, vmax=n_params - 0.5, extent=extent,
                           interpolation="nearest", aspect="auto")
    ax_dense.imshow(np.ones((n_rows, n_cols)), cmap="Greys", vmin=0, vmax=1.6, extent=extent,
                    interpolation="nearest", aspect="auto")
    for ax in (ax_conv, ax_dense):
        ax.set_xlabel(f"input unit ({_layout(spec.input_shape)})")
    ax_conv.set_ylabel(f"output unit ({_layout(spec.output_shape)})")
    ax_conv.set_title(f"conv: {nnz} of {n_rows * n_cols} entries, {n_params} parameters")
    ax_dense.set_title(f"dense: {n_rows * n_cols} entries, {n_rows * n_cols} parameters")
    if n_params <= 16:
        bar = fig.colorbar(image, ax=[ax_conv, ax_dense], ticks=range(n_params),
                           location="bottom", shrink=0.6, aspect=50)
        bar.set_label("weight index k of the conv (tie class): one colour per shared parameter")
    fig.suptitle(_describe(spec))
    return fig


def _layout(shape) -> str:
    return "x".join(str(n) for n in shape)


def _describe(spec: ConvSpec) -> str:
    text = f"kernel {_layout(spec.weight_shape)} on input {_layout(spec.input_shape)}"
    if any(s != 1 for s in spec.stride):
        text += f", stride {_layout(spec.stride)}"
    if any(d != 1 for d in spec.dilation):
        text += f", dilation {_layout(spec.dilation)}"
    if any(lo or hi for lo, hi in spec.padding):
        pads = {p for pair in spec.padding for p in pair}
        pad = str(pads.pop()) if len(pads) == 1 else str(spec.padding)
        text += f", padding {pad} ({spec.padding_mode})"
    if spec.groups != 1:
        text += f", groups {spec.groups}"
    return text
