"""The transposed conv drawn two ways: the zero-inserted input beside the matrix M^T.

Dumoulin & Visin's picture of a transposed conv is a direct, stride-1 conv
sliding over its input with ``s - 1`` zeros inserted between samples and
``d(k - 1) - p`` of padding around them.  The matrix picture is ``M^T``, the
transpose of the strided conv's matrix.  The figure puts the two side by side
for one 1-D example, with every entry coloured by the weight it holds, so the
reader sees the flipped kernel of the direct conv land on exactly the entries
of ``M^T``.
"""

from __future__ import annotations

import numpy as np

from ..transposed_spec import ConvTransposeSpec
from ..matrices import conv_matrix
from ..transposed import conv_transpose_matrix
from . import new_figure

__all__ = ["zero_insertion_figure"]


def zero_insertion_figure(n: int = 4, k: int = 3, *, stride: int = 2, padding: int = 1,
                          output_padding: int = 1, figsize=(10.0, 4.6)):
    """The zero-inserted, padded input and the direct conv, beside ``M^T``.

    Parameters
    ----------
    n, k : int
        Input and kernel length of a 1-D, single-channel transposed conv.
    stride, padding, output_padding : int
        As in ``torch.nn.ConvTranspose1d``.
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: the zero-inserted input (``x_i`` where a sample lands, 0
        where a zero is inserted, ``pad`` in the padding), drawn above the
        columns of the direct conv's matrix that read it, entries coloured by
        weight index (the kernel appears flipped); and ``M^T =
        conv_transpose_matrix(...)``, coloured the same way.

    Examples
    --------
    >>> fig = zero_insertion_figure()
    >>> [ax.get_title().split(":")[0] for ax in fig.axes[:3]]
    ['zero-inserted input', 'direct conv', 'M^T']
    """
    for name, value in (("n", n), ("k", k), ("stride", stride)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {name}={value!r}")
    if n * stride + k > 64:
        raise ValueError(f"the figure draws one cell per entry: keep n*stride + k <= 64, "
                         f"got n={n}, stride={stride}, k={k}")
    spec = ConvTransposeSpec((k,), (n,), stride=stride, padding=padding,
                             output_padding=output_padding)
    labels = np.arange(1, k + 1, dtype=float)  # weight j has value j + 1: colours are indices
    M = conv_transpose_matrix(labels, spec).toarray()
    # The zero-inserted input, as labels: i + 1 for x_i, 0 for an inserted zero, -1 for padding.
    z_index = spec.zero_insert(np.arange(1, n + 1))
    table = spec.zero_insertion()[0]
    stretched_pad = np.pad(np.ones(table[0]), (max(table[1], 0), max(table[2], 0)))
    crop = slice(max(-table[1], 0), len(stretched_pad) - max(-table[2], 0))
    is_pad = stretched_pad[crop] == 0
    D = conv_matrix(spec.direct_weight(labels[None, None]), (1, len(z_index))).toarray()

    fig, axes = new_figure(2, 2, figsize=figsize, gridspec_kw={
        "height_ratios": [1, M.shape[0]], "width_ratios": [len(z_index), n]})
    ax_z, ax_m = axes[0, 0], axes[1, 1]
    ax_d = axes[1, 0]
    fig.delaxes(axes[0, 1])
    cmap = "tab10"
    # The input strip sits above the direct conv's columns: column j reads z[j].
    shade = np.where(z_index > 0, 1.0, np.where(is_pad, 0.15, 0.45))[None, :]
    ax_z.imshow(shade, cmap="Greys", vmin=0, vmax=3.0, aspect="auto", interpolation="nearest")
    for col, (v, pad) in enumerate(zip(z_index, is_pad)):
        ax_z.text(col, 0, f"x{v - 1}" if v > 0 else ("pad" if pad else "0"), ha="center",
                  va="center", fontsize=8)
    ax_z.set_yticks([])
    ax_z.set_xticks([])
    ax_z.set_title("zero-inserted input")
    for ax, mat in ((ax_d, D), (ax_m, M)):
        ties = np.where(mat != 0, mat - 1, np.nan)
        ax.imshow(ties, cmap=cmap, vmin=-0.5, vmax=9.5, aspect="auto", interpolation="nearest")
        for (r, c), v in np.ndenumerate(mat):
            if v:
                ax.text(c, r, f"w{int(v) - 1}", ha="center", va="center", fontsize=7)
        ax.set_xlabel("column")
    ax_d.set_title(f"direct conv: stride 1, kernel flipped, pad ({table[1]}, {table[2]})")
    ax_m.set_title(f"M^T: stride {stride}, padding {padding}, output_padding {output_padding}")
    ax_d.set_ylabel("output position")
    fig.suptitle(f"A transposed conv of {n} inputs, kernel {k}: (direct conv) x (zero "
                 f"insertion) = M^T, {M.shape[0]} x {M.shape[1]}")
    return fig
