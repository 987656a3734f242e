"""Section "transposed": the transposed conv is M^T, and a direct conv over a zero-inserted input.

The transposed conv (decoders, U-Nets, GAN generators) is the adjoint of a
strided conv.  Two claims: its matrix is exactly the conv's transpose, entry
for entry (exact with sympy weights), and Dumoulin & Visin's arithmetic holds:
it equals a stride-1 conv, kernel flipped and channels swapped, over the input
with ``s - 1`` zeros inserted and ``d(k - 1) - p`` of padding
(plus ``output_padding`` on the high side).
"""

from __future__ import annotations

import sympy

from ... import checks
from ...verdict import Verdict
from ...transposed_spec import ConvTransposeSpec
from ...matrices import conv_matrix
from ...transposed import conv_transpose_matrix
from ...weights import kernel_symbols
from ..claims import Claim, FigureSpec

__all__ = ["CLAIMS"]

# (weight shape (C_in, C_out/g, k...), input shape, options): the decoder layers people use.
CASES = {
    "DCGAN 4x4, stride 2, padding 1": ((3, 2, 4, 4), (3, 4, 4), dict(stride=2, padding=1)),
    "U-Net 3x3, stride 2, output_padding 1": ((2, 2, 3, 3), (2, 4, 5),
                                              dict(stride=2, padding=1, output_padding=1)),
    "U-Net 2x2, stride 2": ((2, 3, 2, 2), (2, 4, 4), dict(stride=2)),
    "grouped, dilation 2, stride (3, 1)": ((4, 1, 3, 2), (4, 3, 4),
                                           dict(stride=(3, 1), dilation=2, groups=2,
                                                output_padding=(2, 1), padding=(2, 0))),
}


def is_transpose(ctx):
    """conv_transpose_matrix == conv_matrix(...).T, symbolic in 1-D and numeric in 2-D."""
    bad, checked = [], 0
    for n, k, s, p, op in ((3, 3, 2, 1, 1), (4, 2, 2, 0, 1), (3, 4, 3, 2, 2), (5, 3, 1, 1, 0)):
        w = kernel_symbols((k,))
        t = ConvTransposeSpec((k,), (n,), stride=s, padding=p, output_padding=op)
        M = sympy.Matrix(conv_transpose_matrix(w, t))
        C = sympy.Matrix(conv_matrix(w, t.output_shape[1:], stride=s, padding=p))
        checked += 1
        if M.shape != C.T.shape or any(sympy.expand(a - b) != 0 for a, b in zip(M, C.T)):
            bad.append(dict(n=n, k=k, stride=s, padding=p, output_padding=op))
    rng = ctx.rng("transposed.is_transpose")
    errors = {}
    for name, (wshape, ishape, options) in CASES.items():
        if options.get("output_padding", 0) and "dilation" in options:
            continue  # output_padding >= stride: covered by the arithmetic claim
        w = rng.standard_normal(wshape)
        t = ConvTransposeSpec(wshape, ishape, **options)
        conv = {k: v for k, v in options.items() if k != "output_padding"}
        C = conv_matrix(w, t.output_shape, **conv)
        M = conv_transpose_matrix(w, t)
        errors[name] = float(abs(M - C.T.tocsr()).max())
    holds = not bad and all(e == 0 for e in errors.values())
    return Verdict("transpose_of_conv_matrix",
                   "conv_transpose_matrix is conv_matrix(...).T entry for entry",
                   holds, "symbolic",
                   f"{checked} 1-D geometries with symbolic kernels (expand(a - b) == 0), "
                   f"{len(errors)} 2-D multi-channel cases with random float64 weights (exact 0)",
                   {"symbolic_failures": bad, "max_error_2d": errors},
                   None if holds else {"symbolic": bad, "numeric": errors})


def arithmetic(ctx):
    rng = ctx.rng("transposed.arithmetic")
    verdicts = []
    for name, (wshape, ishape, options) in CASES.items():
        w = rng.standard_normal(wshape)
        verdicts.append(checks.check_transposed_arithmetic(
            w, ishape, x=rng.standard_normal(ishape), **options))
    verdicts.append(checks.check_transposed_arithmetic(kernel_symbols((2, 1, 3)), (2, 4),
                                                       stride=3, padding=1, output_padding=2,
                                                       groups=2))
    return verdicts


def _figure(ctx):
    from ...figures.transposed import zero_insertion_figure

    return zero_insertion_figure()


CLAIMS = [
    Claim("transposed.is_transpose", "transposed",
          "The transposed conv's matrix is exactly the transpose of the strided conv's matrix "
          "whose input has the transposed output size.", True, is_transpose,
          requires=("convtheory.transposed:conv_transpose_matrix",)),
    Claim("transposed.arithmetic", "transposed",
          "A transposed conv equals a stride-1 conv, kernel flipped and channels swapped, over "
          "its input with s - 1 zeros inserted and d(k-1) - p of padding (plus output_padding "
          "on the high side) (Dumoulin & Visin).", True, arithmetic,
          figures=[FigureSpec("zero_insertion", "The zero-inserted input and the direct conv "
                                                "over it, beside M^T: same weights, same places.",
                              _figure)],
          requires=("convtheory.checks:check_transposed_arithmetic",
                    "convtheory.figures.transposed:zero_insertion_figure")),
]
