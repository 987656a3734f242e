"""Section "equivariance": translations commute with the conv; rotations and scalings do not.

Every check here is a matrix identity ``M @ T_in == T_out @ M`` between the
conv matrix and the 0/1 matrix of the transform (:func:`transform_matrix`),
so a pass covers every input x, not a sample: the method is exhaustive.

Interim: these checks use only ``conv_matrix`` and ``convtheory.transforms``.
When ``convtheory.checks`` provides ``check_translation_equivariance`` and
``check_rotation_equivariance``, their verdicts replace the bodies below (the
claims, expectations and figures stay).
"""

from __future__ import annotations

import numpy as np

from ...checks.verdict import Verdict
from ...matrices import conv_matrix
from ...transforms import cyclic_shift, downsample, rot90, transform_matrix
from ..claims import Claim, FigureSpec

__all__ = ["CLAIMS"]

SOBEL_X = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _commutator(M, T_in, T_out) -> np.ndarray:
    """``|M T_in - T_out M|`` as a dense array (small sizes only)."""
    return np.abs((M @ T_in - T_out @ M).toarray())


def _size(ctx) -> int:
    return 8 if ctx.quick else 12


def _shift_matrix(shape, shift):
    return transform_matrix(lambda x: cyclic_shift(x, shift), shape)


def _translation(ctx, padding_mode: str):
    n = _size(ctx)
    w = ctx.rng("equivariance.kernel").standard_normal((3, 3))
    shift = (1, 2)
    M = conv_matrix(w, (n, n), padding=1, padding_mode=padding_mode)
    S = _shift_matrix((n, n), shift)
    E = _commutator(M, S, S)
    # Output o is "interior" for this shift when both o and o - shift read
    # only real pixels: the full receptive field (all 9 taps) stays inside.
    full = (np.diff(conv_matrix(np.ones((3, 3)), (n, n), padding=1).indptr) == 9).reshape(n, n)
    interior = full & cyclic_shift(full, shift)
    row_error = E.max(axis=1).reshape(n, n)
    return w, n, shift, row_error, interior


def translation_circular(ctx) -> Verdict:
    w, n, shift, row_error, _ = _translation(ctx, "circular")
    worst = float(row_error.max())
    return Verdict(
        "translation_circular", "M S = S M for the cyclic shift S: conv(shift x) = shift conv(x)",
        worst <= 1e-12, "exhaustive", f"random 3x3 kernel on {n}x{n}, circular padding 1, "
                                       f"shift {shift}; matrix identity, so every x",
        {"max_error": worst})


def translation_zero_padding(ctx) -> Verdict:
    w, n, shift, row_error, interior = _translation(ctx, "zeros")
    failing = row_error > 1e-12
    worst = np.unravel_index(int(np.argmax(row_error)), row_error.shape)
    return Verdict(
        "translation_zero_padding", "M S = S M with zero padding (cyclic shift S)",
        not failing.any(), "exhaustive", f"random 3x3 kernel on {n}x{n}, zero padding 1, shift {shift}",
        {"max_error": float(row_error.max()), "failing_outputs": int(failing.sum()),
         "outputs": n * n, "failing_outputs_on_border": int((failing & ~interior).sum())},
        None if not failing.any() else {"output": worst, "error": float(row_error[worst])})


def translation_interior(ctx) -> Verdict:
    w, n, shift, row_error, interior = _translation(ctx, "zeros")
    worst = float(row_error[interior].max())
    return Verdict(
        "translation_interior",
        "with zero padding, conv(shift x) = shift conv(x) on every output whose receptive field "
        "(before and after the shift) stays inside the image",
        worst <= 1e-12, "exhaustive", f"{int(interior.sum())} interior outputs of {n}x{n}, shift {shift}",
        {"max_error_interior": worst, "interior_outputs": int(interior.sum()),
         "max_error_border": float(row_error[~interior].max())})


def _strided(ctx, shift):
    n = _size(ctx)
    w = ctx.rng("equivariance.kernel").standard_normal((3, 3))
    M = conv_matrix(w, (n, n), stride=2, padding=1, padding_mode="circular")
    m = n // 2
    S = _shift_matrix((n, n), shift)
    # The best any output shift can do: if none commutes, equivariance fails.
    errors = {}
    for t in np.ndindex(m, m):
        errors[t] = float(_commutator(M, S, _shift_matrix((m, m), t)).max())
    best = min(errors, key=errors.get)
    return n, best, errors[best]


def stride_on_grid(ctx) -> Verdict:
    n, best, error = _strided(ctx, (2, 4))
    return Verdict(
        "stride_multiple_shift", "stride 2: shifting the input by (2, 4) shifts the output by (1, 2)",
        error <= 1e-12 and best == (1, 2), "exhaustive",
        f"random 3x3 kernel, stride 2, circular padding, {n}x{n}", {"output_shift": best, "max_error": error})


def stride_off_grid(ctx) -> Verdict:
    n, best, error = _strided(ctx, (1, 0))
    return Verdict(
        "stride_off_grid_shift", "stride 2: some output shift matches an input shift of (1, 0)",
        error <= 1e-12, "exhaustive",
        f"random 3x3 kernel, stride 2, circular padding, {n}x{n}, every output shift tried",
        {"best_output_shift": best, "smallest_max_error": error},
        None if error <= 1e-12 else {"input_shift": (1, 0), "best_output_shift": best})


def _rotation(ctx, kernel, name) -> Verdict:
    n = _size(ctx)
    M = conv_matrix(kernel, (n, n), padding=1, padding_mode="circular")
    R = transform_matrix(rot90, (n, n))
    E = _commutator(M, R, R)
    worst = float(E.max())
    row = int(np.argmax(E.max(axis=1)))
    return Verdict(
        f"rot90_{name}", f"the {name} conv commutes with a 90-degree rotation: conv(rot x) = rot conv(x)",
        worst <= 1e-12, "exhaustive", f"{name} 3x3 kernel on {n}x{n}, circular padding",
        {"max_error": worst},
        None if worst <= 1e-12 else {"output": np.unravel_index(row, (n, n)), "error": worst})


def rotation_sobel(ctx) -> Verdict:
    return _rotation(ctx, SOBEL_X, "sobel_x")


def rotation_laplacian(ctx) -> Verdict:
    return _rotation(ctx, LAPLACIAN, "laplacian")


def scale(ctx) -> Verdict:
    n = _size(ctx)
    w = ctx.rng("equivariance.kernel").standard_normal((3, 3))
    D = transform_matrix(lambda x: downsample(x, 2), (n, n))
    M_big = conv_matrix(w, (n, n), padding=1, padding_mode="circular")
    M_small = conv_matrix(w, (n // 2, n // 2), padding=1, padding_mode="circular")
    worst = float(np.abs((M_small @ D - D @ M_big).toarray()).max())
    return Verdict(
        "downsample_by_2", "conv(downsample x) = downsample conv(x) for the same kernel",
        worst <= 1e-12, "exhaustive", f"random 3x3 kernel, {n}x{n} -> {n // 2}x{n // 2}, circular",
        {"max_error": worst})


def _border_map(ctx):
    from ...figures import new_figure

    w, n, shift, row_error, interior = _translation(ctx, "zeros")
    fig, (ax_err, ax_int) = new_figure(1, 2, figsize=(7.0, 3.2))
    im = ax_err.imshow(row_error, cmap="magma")
    fig.colorbar(im, ax=ax_err, shrink=0.8, label="max |M S - S M| in row")
    ax_err.set_title(f"zero padding: error per output, shift {shift}")
    ax_int.imshow(interior, cmap="Greys_r", vmin=0, vmax=1)
    ax_int.set_title("interior outputs (white): error 0")
    return fig


def _rotation_figure(ctx):
    from ...figures import new_figure

    n = _size(ctx)
    x = np.zeros((n, n))
    x[2:n - 3, 3:5] = 1.0  # an off-centre vertical bar
    fig, axes = new_figure(2, 3, figsize=(7.5, 5.0))
    for row, (name, k) in enumerate((("Sobel x", SOBEL_X), ("Laplacian", LAPLACIAN))):
        M = conv_matrix(k, (n, n), padding=1, padding_mode="circular")
        a = (M @ rot90(x).ravel()).reshape(n, n)
        b = rot90((M @ x.ravel()).reshape(n, n))
        for ax, img, title in zip(axes[row], (a, b, a - b),
                                  ("conv(rot x)", "rot conv(x)", "difference")):
            ax.imshow(img, cmap="RdBu_r", vmin=-4, vmax=4)
            ax.set_title(f"{name}: {title}")
            ax.set_xticks([])
            ax.set_yticks([])
    return fig


CLAIMS = [
    Claim("equivariance.circular", "equivariance",
          "With circular padding a conv commutes with every cyclic shift.", True,
          translation_circular),
    Claim("equivariance.zero_padding_border", "equivariance",
          "Zero padding breaks translation equivariance at the border.", False,
          translation_zero_padding,
          figures=[FigureSpec("border", "Where zero padding breaks equivariance: the error of "
                                        "each output (left) lives only off the interior (right).",
                              _border_map)]),
    Claim("equivariance.zero_padding_interior", "equivariance",
          "Away from the border, a zero-padded conv is still translation equivariant.", True,
          translation_interior),
    Claim("equivariance.stride_multiple", "equivariance",
          "A stride-2 conv is equivariant to shifts by multiples of the stride (output shift "
          "= shift / stride).", True, stride_on_grid),
    Claim("equivariance.stride_off_grid", "equivariance",
          "A stride-2 conv is not equivariant to a one-pixel shift: no output shift matches.",
          False, stride_off_grid),
    Claim("equivariance.rotation_sobel", "equivariance",
          "A generic kernel (Sobel x) is not rotation equivariant.", False, rotation_sobel,
          figures=[FigureSpec("rotation", "The rotation counterexample: for Sobel x, conv(rot x) "
                                          "and rot conv(x) differ; for the Laplacian they agree.",
                              _rotation_figure)]),
    Claim("equivariance.rotation_laplacian", "equivariance",
          "A kernel invariant under 90-degree rotation (the Laplacian) is rotation equivariant.",
          True, rotation_laplacian),
    Claim("equivariance.scale", "equivariance",
          "Convolution does not commute with downsampling by 2 (no scale equivariance).",
          False, scale),
]
