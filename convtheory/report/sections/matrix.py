"""Section "matrix": convolution is a matrix product, entry for entry.

The references are independent of the taps: a hand-written textbook matrix,
``scipy.signal`` and ``scipy.ndimage`` (one per boundary mode), and the
matrix-free operator's two paths with their dot test.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage
import scipy.signal
import sympy

from ... import checks
from ...checks import dot_test
from ...matrices import conv_matrix
from ...operators import conv_operator
from ...verdict import Verdict
from ...weights import kernel_symbols
from ..claims import Claim, FigureSpec
from ._common import max_abs, tolerance_verdict

__all__ = ["CLAIMS"]

# The textbook picture: a 3x3 kernel on a 4x4 image, valid padding.  Output
# (0,0) reads input pixels 0,1,2 / 4,5,6 / 8,9,10, and so on: written out by
# hand, not computed, so the check compares the taps with an outside source.
_TEXTBOOK_COLUMNS = (
    (0, 1, 2, 4, 5, 6, 8, 9, 10),
    (1, 2, 3, 5, 6, 7, 9, 10, 11),
    (4, 5, 6, 8, 9, 10, 12, 13, 14),
    (5, 6, 7, 9, 10, 11, 13, 14, 15),
)


def textbook(ctx) -> Verdict:
    w = kernel_symbols((3, 3))
    M = conv_matrix(w, (4, 4))
    hand = sympy.zeros(4, 16)
    for row, columns in enumerate(_TEXTBOOK_COLUMNS):
        for col, weight in zip(columns, w.ravel()):
            hand[row, col] = weight
    diff = [(i, j) for i in range(4) for j in range(16) if sympy.expand(M[i, j] - hand[i, j]) != 0]
    return Verdict(
        "textbook_4x16", "conv_matrix(3x3 kernel, 4x4 image) equals the hand-written 4x16 matrix",
        not diff and M.shape == (4, 16), "symbolic", "3x3 kernel, 4x4 input, valid padding",
        {"shape": M.shape, "nonzeros_per_row": [9, 9, 9, 9], "differing_entries": len(diff)},
        None if not diff else {"entry": diff[0], "got": M[diff[0]], "hand": hand[diff[0]]},
    )


def scipy_signal(ctx) -> list[Verdict]:
    rng = ctx.rng("matrix.scipy_signal")
    verdicts = []
    for n_in, k in (((11,), (4,)), ((7, 8), (3, 2)), ((5, 6, 4), (2, 3, 2))):
        x, w = rng.standard_normal(n_in), rng.standard_normal(k)
        errors = {}
        for mode, padding in (("valid", 0), ("full", "full")):
            for flip, reference in ((False, scipy.signal.correlate), (True, scipy.signal.convolve)):
                M = conv_matrix(w, n_in, padding=padding, flip=flip)
                expected = reference(x, w, mode=mode, method="direct")
                errors[f"{reference.__name__} {mode}"] = max_abs(M @ x.ravel(), expected.ravel())
        d = len(n_in)
        verdicts.append(tolerance_verdict(
            f"scipy_signal_{d}d",
            f"M @ x equals scipy.signal.correlate / convolve in {d}-D (valid and full)",
            errors, tol=1e-12, scope=f"input {n_in}, kernel {k}, flip False/True"))
    return verdicts


# PyTorch's boundary modes under scipy.ndimage's names.
_NDIMAGE_MODE = {"zeros": "constant", "circular": "wrap", "reflect": "mirror",
                 "replicate": "nearest"}


def ndimage_modes(ctx) -> Verdict:
    rng = ctx.rng("matrix.ndimage_modes")
    x, w = rng.standard_normal((9, 10)), rng.standard_normal((3, 5))
    errors = {}
    for mode, nd_mode in _NDIMAGE_MODE.items():
        M = conv_matrix(w, x.shape, padding=(1, 2), padding_mode=mode)
        expected = scipy.ndimage.correlate(x, w, mode=nd_mode)
        errors[mode] = max_abs(M @ x.ravel(), expected.ravel())
    return tolerance_verdict(
        "ndimage_boundary_modes",
        "each padding mode equals scipy.ndimage.correlate (zeros=constant, circular=wrap, "
        "reflect=mirror, replicate=nearest)",
        errors, tol=1e-12, scope="3x5 kernel on 9x10, 'same' size, 4 modes")


_OPERATOR_CASES = (
    dict(weight=(4, 3, 3, 3), input_shape=(3, 9, 8), padding=1),
    dict(weight=(4, 2, 3, 2), input_shape=(4, 10, 9), stride=2, dilation=(2, 1), groups=2),
    dict(weight=(3, 2, 5), input_shape=(2, 17), padding=2, padding_mode="reflect"),
    dict(weight=(2, 3, 3, 3), input_shape=(3, 8, 8), padding=1, padding_mode="circular"),
)


def _operator_cases(ctx):
    rng = ctx.rng("matrix.operator")
    for case in _OPERATOR_CASES:
        conv = {k: v for k, v in case.items() if k not in ("weight", "input_shape")}
        yield rng.standard_normal(case["weight"]), case["input_shape"], conv


def operator_matches_matrix(ctx) -> Verdict:
    rng = ctx.rng("matrix.operator.x")
    errors = {}
    for w, shape, conv in _operator_cases(ctx):
        M = conv_matrix(w, shape, **conv)
        methods = ("direct", "fft") if conv.get("padding_mode") == "circular" else ("direct",)
        for method in methods:
            A = conv_operator(w, shape, method=method, **conv)
            X = rng.standard_normal((A.shape[1], 3))
            Y = rng.standard_normal((A.shape[0], 3))
            label = f"{method} {w.shape} on {shape} {conv}"
            errors[label] = max(max_abs(A @ X, M @ X), max_abs(A.H @ Y, M.T @ Y))
    return tolerance_verdict(
        "operator_matches_matrix",
        "the matrix-free operator (direct and FFT paths) and its adjoint equal M and M^T",
        errors, tol=1e-11, scope=f"{len(errors)} configurations: stride, dilation, groups, "
                                 "reflect and circular padding")


def adjoint_dot_test(ctx) -> list[Verdict]:
    verdicts = []
    for w, shape, conv in _operator_cases(ctx):
        v = dot_test(conv_operator(w, shape, **conv), seed=ctx.seed)
        verdicts.append(Verdict(f"dot_test {w.shape} on {shape}", v.statement, v.holds, v.method,
                                f"{v.scope}; {conv}", v.evidence, v.counterexample))
    return verdicts


def linearity(ctx):
    w = ctx.rng("matrix.linearity").standard_normal((4, 3, 3, 3))
    return checks.check_linearity(w, (3, 9, 8), padding=1, seed=ctx.seed)


def flip_identity(ctx):
    w = ctx.rng("matrix.flip").standard_normal((2, 3, 3, 2))
    return [checks.check_flip_identity(w, (3, 6, 7)),
            checks.check_flip_identity(w, (3, 6, 7), padding=(1, 2), padding_mode="reflect")]


def structure(ctx):
    from ...structure import is_circulant, is_toeplitz

    rng = ctx.rng("matrix.structure")
    n1, n2 = (5, 6) if ctx.quick else (8, 9)
    w = rng.standard_normal((3, 3))
    zeros = conv_matrix(w, (n1, n2), padding=1)
    circular = conv_matrix(w, (n1, n2), padding=1, padding_mode="circular")
    valid = conv_matrix(w, (n1, n2))
    return [is_toeplitz(zeros, ((n1, n1), (n2, n2))),
            is_toeplitz(valid, ((n1 - 2, n1), (n2 - 2, n2))),
            is_circulant(circular, (n1, n2))]


def _textbook_figure(ctx):
    from ...figures.matrices import spy_conv_vs_dense

    return spy_conv_vs_dense(np.ones((3, 3)), (4, 4))


CLAIMS = [
    Claim("matrix.textbook", "matrix",
          "A 3x3 kernel on a 4x4 image is the textbook 4x16 matrix, 9 weights per row.",
          True, textbook,
          figures=[FigureSpec("spy", "The 4x16 conv matrix of a 3x3 kernel on a 4x4 image "
                                     "(colour: which weight) beside the dense layer's 4x16 "
                                     "parameters.", _textbook_figure)]),
    Claim("matrix.scipy_signal", "matrix",
          "M @ x.ravel() equals scipy.signal's correlation (and, with flip, convolution) "
          "in 1-D, 2-D and 3-D.", True, scipy_signal),
    Claim("matrix.ndimage_modes", "matrix",
          "The four boundary modes equal scipy.ndimage.correlate's constant, wrap, mirror and "
          "nearest.", True, ndimage_modes),
    Claim("matrix.operator", "matrix",
          "The matrix-free operator equals the explicit matrix, forward and adjoint.",
          True, operator_matches_matrix),
    Claim("matrix.dot_test", "matrix",
          "The operator's adjoint passes the dot test <Ax, y> = <x, A^T y>.",
          True, adjoint_dot_test),
    Claim("matrix.structure", "matrix",
          "A 2-D conv matrix is block Toeplitz with Toeplitz blocks (BTTB); with circular "
          "padding, block circulant with circulant blocks (BCCB).", True, structure,
          requires=("convtheory.structure:is_toeplitz", "convtheory.structure:is_circulant")),
    Claim("matrix.linearity", "matrix",
          "The conv is linear: conv(a x + b y) = a conv(x) + b conv(y).", True, linearity,
          requires=("convtheory.checks:check_linearity",)),
    Claim("matrix.flip", "matrix",
          "Convolution is correlation with the flipped kernel.", True, flip_identity,
          requires=("convtheory.checks:check_flip_identity",)),
]
