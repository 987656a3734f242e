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

__all__ = ["MAX_DISTINCT_COLOURS", "MAX_SPY_CELLS", "spy_conv_vs_dense"]

#: Most matrix entries :func:`spy_conv_vs_dense` draws: one image cell per
#: entry (8 bytes each, twice), and past a few million cells the screen shows
#: a blur anyway.
MAX_SPY_CELLS = 4_000_000


#: Most weights the tie-class spy plot gives one distinct colour each; beyond
#: it a continuous colour map spreads the weight indices (neighbouring
#: weights then get similar colours, and the colour bar shows a scale).
MAX_DISTINCT_COLOURS = 20


def spy_conv_vs_dense(weight, input_shape, *, values: bool = False, figsize=(9.0, 3.6),
                      max_cells=MAX_SPY_CELLS, **conv):
    """Spy plot of the conv matrix, coloured by tie class (or by value), beside the dense layer's.

    Parameters
    ----------
    weight : array_like
        As in :func:`~convtheory.conv_matrix`.  With ``values=False`` only
        its shape is drawn: the colour of an entry is the weight index that
        lands there.
    input_shape : tuple of int, or ConvSpec
    values : bool
        Colour each stored entry by its value in the matrix instead, on a
        diverging colour map centred on 0 (a Sobel kernel then shows its
        signs; an entry that holds a zero weight is drawn white, and blank
        cells, with no connection, are grey).
    figsize : (float, float)
    max_cells : int
        Refuse (``ValueError``) a matrix of more entries than this, checked
        before anything is built.
    **conv
        ``stride, padding, dilation, groups, padding_mode, flip``.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels and a colour bar: the conv matrix, each entry coloured by
        the weight ``k`` that lands there (blank where none does; where
        reflect or replicate fold several weights onto one entry, the
        smallest ``k``), and the dense layer's full pattern, with the
        parameter counts of each in the titles.  Up to
        :data:`MAX_DISTINCT_COLOURS` weights each get one colour, centred on
        its own tick of the colour bar; more weights share a continuous map.

    Examples
    --------
    >>> fig = spy_conv_vs_dense(np.ones((3, 3)), (4, 4))
    >>> [ax.get_title().split(":")[0] for ax in fig.axes[:2]]
    ['conv', 'dense']
    >>> len(fig.axes[2].get_xticks())          # the colour bar: one tick per weight
    9
    """
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap, TwoSlopeNorm

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
    stored = int(np.count_nonzero(~np.isnan(ties)))

    fig, (ax_conv, ax_dense) = new_figure(1, 2, figsize=figsize, sharey=True)
    extent = (-0.5, n_cols - 0.5, n_rows - 0.5, -0.5)
    shown = dict(extent=extent, interpolation="nearest", aspect="auto")
    title = f"conv: {stored} of {n_rows * n_cols} entries stored, {n_params} parameters"
    if values:
        cells = np.full((n_rows, n_cols), np.nan)
        dense_values = np.zeros((n_rows, n_cols))
        # Folded taps add up, as in the matrix itself.
        np.add.at(dense_values, (taps.rows, taps.cols),
                  np.asarray(w, dtype=float).ravel()[taps.kernel])
        mask = ~np.isnan(ties)
        cells[mask] = dense_values[mask]
        largest = float(np.max(np.abs(cells[mask]))) if stored else 0.0
        largest = largest if largest > 0 else 1.0
        ax_conv.set_facecolor("0.85")
        image = ax_conv.imshow(cells, cmap="RdBu_r",
                               norm=TwoSlopeNorm(0.0, -largest, largest), **shown)
        zeros = int(np.count_nonzero(cells[mask] == 0))
        if zeros:
            title += f" ({zeros} hold 0)"
        bar = fig.colorbar(image, ax=[ax_conv, ax_dense], location="bottom", shrink=0.6,
                           aspect=50)
        bar.set_label("value of the matrix entry (grey: no connection)")
    else:
        if n_params <= MAX_DISTINCT_COLOURS:
            palette = colormaps["tab10" if n_params <= 10 else "tab20"]
            cmap = ListedColormap([palette(i) for i in range(n_params)])
            # One colour per integer k, its band centred on the tick k.
            norm = BoundaryNorm(np.arange(n_params + 1) - 0.5, n_params)
            ticks = range(n_params)
        else:
            cmap, norm = colormaps["viridis"], None
            ticks = None
        image = ax_conv.imshow(ties, cmap=cmap, norm=norm,
                               **({} if norm else dict(vmin=-0.5, vmax=n_params - 0.5)), **shown)
        bar = fig.colorbar(image, ax=[ax_conv, ax_dense], ticks=ticks, location="bottom",
                           shrink=0.6, aspect=50)
        if ticks is None:
            from matplotlib.ticker import MaxNLocator

            bar.locator = MaxNLocator(nbins=10, integer=True)
            bar.update_ticks()
            bar.set_label(f"weight index k of the conv (tie class), 0..{n_params - 1}: a "
                          f"continuous scale for {n_params} shared parameters")
        else:
            bar.set_label("weight index k of the conv (tie class): one colour per shared "
                          "parameter")
    ax_dense.imshow(np.ones((n_rows, n_cols)), cmap="Greys", vmin=0, vmax=1.6, **shown)
    for ax in (ax_conv, ax_dense):
        ax.set_xlabel(f"input unit ({_layout(spec.input_shape)})")
    ax_conv.set_ylabel(f"output unit ({_layout(spec.output_shape)})")
    ax_conv.set_title(title)
    ax_dense.set_title(f"dense: {n_rows * n_cols} entries, {n_rows * n_cols} parameters")
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
