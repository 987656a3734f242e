"""Sparsity patterns: the conv matrix beside the dense layer's.

The seed's picture of "a dense layer that is not fully connected, with tied
weights" is a spy plot: the conv matrix has a few diagonals of entries, each
coloured by the weight it holds (one colour per tie class ``B_k``), while the
dense layer of the same shape fills every entry with its own parameter.
"""

from __future__ import annotations

import numpy as np

from ..geometry import ConvSpec
from ..taps import conv_taps
from ..weights import conv_arguments
from . import new_figure

__all__ = ["spy_conv_vs_dense"]


def spy_conv_vs_dense(weight, input_shape, *, figsize=(9.0, 3.6), **conv):
    """Spy plot of the conv matrix, coloured by tie class, beside the dense layer's.

    Parameters
    ----------
    weight : array_like
        As in :func:`~convtheory.conv_matrix` (only its shape is drawn: the
        colour of an entry is the weight index that lands there).
    input_shape : tuple of int, or ConvSpec
    figsize : (float, float)
    **conv
        ``stride, padding, dilation, groups, padding_mode, flip``.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the conv matrix's taps (one marker per tap, coloured by
        the weight ``k`` it reads; where reflect or replicate fold two taps
        onto one entry both are drawn) and the dense layer's full pattern,
        with the parameter counts of each in the titles.

    Examples
    --------
    >>> fig = spy_conv_vs_dense(np.ones((3, 3)), (4, 4))
    >>> [ax.get_title().split(":")[0] for ax in fig.axes[:2]]
    ['conv', 'dense']
    """
    w, spec = conv_arguments(weight, input_shape, **conv)
    taps = conv_taps(spec)
    n_rows, n_cols = spec.matrix_shape
    n_params = spec.n_weights
    nnz = len(set(zip(taps.rows.tolist(), taps.cols.tolist())))

    fig, (ax_conv, ax_dense) = new_figure(1, 2, figsize=figsize)
    cmap = "tab10" if n_params <= 10 else "viridis"
    marker = max(2.0, min(60.0, 2400.0 / max(n_rows, n_cols)))
    points = ax_conv.scatter(taps.cols, taps.rows, c=taps.kernel, cmap=cmap, marker="s",
                             s=marker, vmin=-0.5, vmax=n_params - 0.5, linewidths=0)
    ax_dense.imshow(np.ones((n_rows, n_cols)), cmap="Greys", vmin=0, vmax=1.6,
                    aspect="auto", interpolation="nearest",
                    extent=(-0.5, n_cols - 0.5, n_rows - 0.5, -0.5))
    for ax in (ax_conv, ax_dense):
        ax.set_xlim(-0.5, n_cols - 0.5)
        ax.set_ylim(n_rows - 0.5, -0.5)
        ax.set_aspect("equal" if max(n_rows, n_cols) <= 4 * min(n_rows, n_cols) else "auto")
        ax.set_xlabel(f"input unit ({_layout(spec.input_shape)})")
        ax.set_ylabel(f"output unit ({_layout(spec.output_shape)})")
    ax_conv.set_title(f"conv: {nnz} of {n_rows * n_cols} entries, {n_params} parameters")
    ax_dense.set_title(f"dense: {n_rows * n_cols} entries, {n_rows * n_cols} parameters")
    if n_params <= 16:
        bar = fig.colorbar(points, ax=ax_conv, ticks=range(n_params), shrink=0.8)
        bar.set_label("weight index k (tie class)")
    fig.suptitle(_describe(spec))
    return fig


def _layout(shape) -> str:
    return "x".join(str(n) for n in shape)


def _describe(spec: ConvSpec) -> str:
    pad = spec.padding if any(lo or hi for lo, hi in spec.padding) else "none"
    return (f"kernel {_layout(spec.weight_shape)} on input {_layout(spec.input_shape)}, "
            f"stride {spec.stride}, padding {pad} ({spec.padding_mode})")
