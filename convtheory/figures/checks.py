"""Figures of the checks: where equivariance breaks, and how padding shapes the spectrum.

Each function returns a ``matplotlib.figure.Figure`` built without pyplot
(no backend is selected, no window opens); matplotlib is imported inside the
functions so that ``import convtheory`` stays light.
"""

from __future__ import annotations

import numpy as np

from ..checks.rotation import SOBEL_X
from ..checks.spectra import conv_singular_values
from ..checks.translation import check_translation_equivariance
from ..matrices import conv_matrix
from ..transforms import rot90

__all__ = ["border_error_figure", "rotation_counterexample_figure", "singular_value_figure",
           "worst_basis_input"]


def _figure(width, height):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout="constrained")


def _default_kernel():
    return np.random.default_rng(20230711).standard_normal((3, 3))


def border_error_figure(weight=None, input_shape=(12, 12), shift=(1, 2), **conv):
    """Equivariance error per output: zero padding (border only) against circular (zero).

    Panels show ``max |conv(shift x) - shift(conv x)|`` over all inputs, per
    output position (:func:`check_translation_equivariance`), for zero and
    circular padding of the same kernel; outlined cells are the predicted
    border outputs.

    Parameters
    ----------
    weight : 2-D kernel, optional
        Default: a seeded random 3x3 kernel.
    input_shape, shift
    **conv
        Options besides ``padding_mode`` (default ``padding=1``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = border_error_figure(input_shape=(6, 6))
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['zero padding: error on the border', 'circular padding: no error']
    """
    w = _default_kernel() if weight is None else np.asarray(weight, dtype=float)
    conv = {"padding": 1, **conv}
    conv.pop("padding_mode", None)
    zeros = check_translation_equivariance(w, input_shape, shift, **conv)
    circular = check_translation_equivariance(w, input_shape, shift, padding_mode="circular", **conv)
    fig = _figure(8, 3.6)
    axes = fig.subplots(1, 2)
    vmax = max(float(np.max(zeros.evidence["error_map"])), 1e-12)
    for ax, verdict, title in ((axes[0], zeros, "zero padding: error on the border"),
                               (axes[1], circular, "circular padding: no error")):
        emap = np.asarray(verdict.evidence["error_map"], dtype=float)
        im = ax.imshow(emap, cmap="magma", vmin=0, vmax=vmax)
        for r, c in verdict.evidence["border_outputs"]:
            ax.add_patch(_rectangle(c, r))
        ax.set_title(title)
        ax.set_xlabel("output column")
        ax.set_ylabel("output row")
    fig.colorbar(im, ax=axes, label="max |conv(shift x) - shift(conv x)|")
    fig.suptitle(f"translation by {tuple(shift)}: interior max error "
                 f"{zeros.evidence['interior_max_error']:g}")
    return fig


def _rectangle(col, row):
    from matplotlib.patches import Rectangle
    return Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="cyan", linewidth=0.8)


def worst_basis_input(weight, input_shape, **conv) -> np.ndarray:
    """The one-pixel input ``e_c`` on which ``conv(rot90 x) - rot90(conv x)`` is largest.

    :func:`~convtheory.check_rotation_equivariance` checks every input at
    once through the commutator ``M R_in - R_out M``; its ``max_error`` is
    the largest entry, which column ``c`` holds, so this input shows exactly
    that error.

    Examples
    --------
    >>> x = worst_basis_input(SOBEL_X, (5, 5), padding=1)
    >>> x.shape, float(x.sum())
    ((5, 5), 1.0)
    """
    w = np.asarray(weight, dtype=float)
    M = conv_matrix(w, input_shape, **conv).toarray()
    n_in = M.shape[1]
    out_shape = _square(M.shape[0])
    basis = np.eye(n_in).reshape((n_in,) + tuple(input_shape))
    rotated = np.stack([rot90(b) for b in basis]).reshape(n_in, -1)
    lhs = M @ rotated.T                                         # conv(rot90 e_c), column c
    rhs = np.stack([rot90(y.reshape(out_shape)).ravel() for y in M.T]).T  # rot90(conv e_c)
    errors = np.max(np.abs(lhs - rhs), axis=0)
    # Of the inputs with the largest error, the pixel nearest the centre: away from the
    # border, the picture shows the kernel's own asymmetry rather than the padding.
    candidates = np.flatnonzero(errors == errors.max())
    grid = np.stack(np.unravel_index(candidates, input_shape), axis=1)
    centre = (np.asarray(input_shape) - 1) / 2
    worst = int(candidates[np.argmin(np.sum((grid - centre) ** 2, axis=1))])
    return basis[worst]


def _square(n_outputs):
    side = int(round(np.sqrt(n_outputs)))
    return (side, side)


def rotation_counterexample_figure(weight=SOBEL_X, image=None, *, input_shape=(12, 12), **conv):
    """``conv(rot90 x)`` against ``rot90(conv x)`` for a kernel that is not rotation invariant.

    Parameters
    ----------
    weight : 2-D kernel
        Default: Sobel x, whose rotation is Sobel y.
    image : 2-D square array, optional
        Default: the one-pixel input of ``input_shape`` with the largest error
        (:func:`worst_basis_input`), so the difference panel shows the same
        maximum error as :func:`~convtheory.check_rotation_equivariance`.
    input_shape : (int, int)
        Size of the default input.
    **conv
        Default ``padding=1``.

    Returns
    -------
    matplotlib.figure.Figure
        Five panels and a colour bar for each value scale.

    Examples
    --------
    >>> from convtheory import check_rotation_equivariance
    >>> fig = rotation_counterexample_figure(input_shape=(6, 6))
    >>> v = check_rotation_equivariance(SOBEL_X, (6, 6), padding=1)
    >>> fig.axes[4].get_title() == f"difference (max {v.evidence['max_error']:.3g})"
    True
    """
    conv = {"padding": 1, **conv}
    w = np.asarray(weight, dtype=float)
    x = worst_basis_input(w, input_shape, **conv) if image is None else \
        np.asarray(image, dtype=float)
    M = conv_matrix(w, x.shape, **conv)
    out_shape = _square(M.shape[0])

    def apply(img):
        return (M @ img.ravel()).reshape(out_shape)

    lhs, rhs = apply(rot90(x)), rot90(apply(x))
    panels = [(x, "x"), (rot90(x), "rot90(x)"), (lhs, "conv(rot90 x)"), (rhs, "rot90(conv x)"),
              (lhs - rhs, f"difference (max {np.max(np.abs(lhs - rhs)):.3g})")]
    fig = _figure(13, 3.4)
    axes = fig.subplots(1, len(panels))
    # One value scale per kind of panel: inputs, outputs, and their difference.
    scales = [max(float(np.max(np.abs(img))), 1e-12) for img, _ in panels]
    groups = ((0, 1), (2, 3), (4,))
    for group in groups:
        lim = max(scales[i] for i in group)
        for i in group:
            img, title = panels[i]
            im = axes[i].imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
            axes[i].set_title(title)
            axes[i].set_xticks([])
            axes[i].set_yticks([])
        fig.colorbar(im, ax=[axes[i] for i in group], location="bottom", shrink=0.8,
                     label=("input value", "output value", "conv(rot90 x) - rot90(conv x)")[
                         groups.index(group)])
    what = "one-pixel input with the largest error" if image is None else "given input"
    fig.suptitle(f"a conv commutes with rot90 only if its kernel is rotation invariant ({what})")
    return fig


def singular_value_figure(weight=None, n: int = 12, **conv):
    """All singular values of one kernel with circular and with zero padding.

    Circular: :func:`conv_singular_values` (FFT, exact); zero padding: the
    dense SVD of :func:`conv_matrix` (small ``n``).  Both are bounded by the
    supremum of the kernel's frequency response; zero padding pushes the
    smallest singular values towards 0.

    Parameters
    ----------
    weight : (C_out, C_in, k, k) or (k, k), optional
        Default: a seeded random 3x3 kernel.
    n : int
        Image side.
    **conv
        Default ``padding=1`` (same size for 3x3).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = singular_value_figure(n=6)
    >>> fig.axes[0].get_xlabel()
    'index (descending)'
    """
    w = _default_kernel() if weight is None else np.asarray(weight, dtype=float)
    if w.ndim == 2:
        w = w[None, None]
    conv = {"padding": 1, **conv}
    conv.pop("padding_mode", None)
    shape = (w.shape[1] * conv.get("groups", 1), n, n)
    circular = conv_singular_values(w, shape, padding_mode="circular", **conv)
    zeros = np.linalg.svd(conv_matrix(w, shape, **conv).toarray(), compute_uv=False)
    fig = _figure(6, 3.6)
    ax = fig.subplots()
    ax.plot(circular, label=f"circular (FFT), norm {circular[0]:.4f}")
    ax.plot(zeros, label=f"zero padding (dense SVD), norm {zeros[0]:.4f}")
    ax.set_xlabel("index (descending)")
    ax.set_ylabel("singular value")
    # Say how many values are drawn: with channels there are C_out*n*n of them, not n*n.
    count = len(circular)
    channels = "" if w.shape[:2] == (1, 1) else f"{w.shape[1]}->{w.shape[0]} channel "
    ax.set_title(f"all {count} singular values of a {channels}{w.shape[2]}x{w.shape[3]} conv "
                 f"on {shape[0]}x{n}x{n}" if shape[0] > 1 else
                 f"all {count} singular values of a {channels}{w.shape[2]}x{w.shape[3]} conv "
                 f"on {n}x{n}")
    ax.legend()
    return fig
