"""The adjoint of a conv is the transposed conv.

``M^T`` equals: insert ``s - 1`` zeros between the output samples (the stride
becomes a dilation of the input), then cross-correlate with the flipped
kernel (``flip=True``), same dilation, padding ``d(k-1) - p_lo`` on the low
side and whatever makes the result ``n`` long on the high side.  With
channels, the weight's two channel axes swap.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy

from convtheory import (Certificate, ConvSpec, ConvTransposeSpec, check_transposed_arithmetic,
                        conv_matrix, conv_operator, conv_transpose_matrix, dot_test,
                        kernel_symbols)
from convtheory.transforms import downsample, transform_matrix

from ._util import differing, stopwatch, to_sympy

__all__ = ["output_padding_case", "prove", "transposed_conv_matrix"]

STATEMENT = ("For a conv with stride s, dilation d, zero padding (lo, hi) <= d(k-1) and kernel w, "
             "M^T = T Z^T: Z^T inserts s-1 zeros between output samples (stride -> input "
             "dilation) and T cross-correlates with the flipped kernel (a true convolution with w), "
             "dilation d, padding (d(k-1) - lo, n - L + lo) with L = (O-1)s + 1; with channels, "
             "w[c_out, c_in] becomes w[c_in, c_out].  With output_padding op < max(s, d), "
             "conv_transpose_matrix (n inputs) is the transpose of the first n rows of the conv "
             "of the transposed output size (n-1)s - 2p + d(k-1) + op + 1, and equals the direct "
             "conv of the zero-inserted input padded by (d(k-1) - p, d(k-1) - p + op).")

ARGUMENT = (
    "All sizes: <M x, y> = sum_o sum_a w[a] x[o s + a d - lo] y[o].  Substituting "
    "i = o s + a d - lo, (M^T y)[i] = sum_a w[a] ytilde[i - a d + lo] where ytilde[l] = y[l / s] "
    "if s divides l and 0 otherwise (zero insertion).  With a' = k - 1 - a this is "
    "sum_a' w[k-1-a'] ytilde[i + a' d - (d(k-1) - lo)]: a cross-correlation of ytilde with the "
    "flipped kernel, dilation d, low padding d(k-1) - lo; the high padding n - L + lo makes the "
    "output n long (nonnegative because lo, hi <= d(k-1)).  Channels: "
    "(M^T y)[c_in] = sum_c_out (M[c_out, c_in])^T y[c_out].  Checked by sympy for every listed "
    "1-D geometry with a symbolic kernel (entry-for-entry equality of M^T and T Z^T); 2-D "
    "multi-channel, grouped, strided cases with integer weights (exact in floating point); and "
    "the dot test of the matrix-free operator's rmatvec.  output_padding: a conv over "
    "m = (n-1)s - 2p + d(k-1) + op + 1 inputs has floor(((n-1)s + op)/s) + 1 >= n outputs "
    "(exactly n when op < s), and its row o reads i = o s + a d - p whatever m is, so the "
    "transposed conv of n inputs is the transpose of its first n rows; positions i the rows "
    "never reach (i > (n-1)s + d(k-1) - p) are zero rows.  Checked by sympy, entry for entry, "
    "for every op < max(s, d) and every p in [0, d(k-1)] of the 1-D grid, against both the "
    "conv's rows and the zero-insertion form (check_transposed_arithmetic)."
)


def transposed_conv_matrix(weight, spec: ConvSpec, *, flip: bool = True):
    """``T Z^T``: the transposed conv of ``spec`` as a matrix (zero padding, lo, hi <= d(k-1)).

    Built from :func:`convtheory.conv_matrix` (the flipped-kernel correlation
    on the zero-inserted signal) and the 0/1 matrix of
    :func:`convtheory.transforms.downsample` (whose transpose inserts zeros).
    ``flip=False`` correlates with the unflipped kernel instead: wrong for
    any asymmetric kernel (tests use it to see the identity fail).

    Examples
    --------
    >>> spec = ConvSpec((3,), (7,), stride=2, padding=1)
    >>> w = np.array([1.0, 2.0, 3.0])
    >>> M = conv_matrix(w, spec)
    >>> np.array_equal(transposed_conv_matrix(w, spec).toarray(), M.T.toarray())
    True
    """
    w = np.asarray(weight)
    if w.ndim == spec.ndim:
        w = w.reshape(spec.weight_shape)
    g = spec.groups
    c_out_g, c_in_g = spec.out_channels_per_group, spec.in_channels_per_group
    # Swap the channel axes within each group: (C_in, C_out/groups, k...).
    wt = w.reshape((g, c_out_g, c_in_g) + spec.kernel_size).swapaxes(1, 2).reshape(
        (spec.in_channels, c_out_g) + spec.kernel_size)
    stretched = tuple((o - 1) * s + 1 for o, s in zip(spec.output_spatial, spec.stride))
    pads = tuple((d * (k - 1) - lo, n - L + lo)
                 for (lo, _), d, k, n, L in zip(spec.padding, spec.dilation, spec.kernel_size,
                                                spec.input_spatial, stretched))
    T = conv_matrix(wt, (spec.out_channels,) + stretched, padding=pads, dilation=spec.dilation,
                    groups=g, flip=flip)
    Z = transform_matrix(lambda y: downsample(y, spec.stride), (spec.out_channels,) + stretched)
    if isinstance(T, sympy.MatrixBase):
        return sympy.Matrix(T) * to_sympy(Z).T
    return (T @ Z.T).tocsr()


def _symbolic_case(n, k, s, d, lo, hi) -> bool:
    spec = ConvSpec((k,), (n,), stride=s, dilation=d, padding=((lo, hi),))
    w = kernel_symbols((k,))
    M = sympy.Matrix(conv_matrix(w, spec))
    return not differing(M.T, transposed_conv_matrix(w, spec))


def output_padding_case(n, k, s, d, p, op) -> bool:
    """``conv_transpose_matrix`` with ``output_padding`` against the conv's rows and the zero-insertion form.

    Examples
    --------
    >>> output_padding_case(3, 3, 2, 1, 1, 1)
    True
    """
    w = kernel_symbols((k,))
    t = ConvTransposeSpec((k,), (n,), stride=s, padding=p, output_padding=op, dilation=d)
    M = sympy.Matrix(conv_transpose_matrix(w, t))
    C = sympy.Matrix(conv_matrix(w, t.output_shape[1:], stride=s, padding=p, dilation=d))
    rows_match = not differing(M, C[:n, :].T)
    return rows_match and bool(check_transposed_arithmetic(w, (n,), stride=s, padding=p,
                                                           output_padding=op, dilation=d))


def _numeric_cases() -> dict:
    rng = np.random.default_rng(7)
    out = {}
    for name, (wshape, ishape, kw) in {
        "2-D, 3->2 channels, stride (2, 1), padding 1": ((2, 3, 3, 3), (3, 7, 6),
                                                         dict(stride=(2, 1), padding=1)),
        "2-D, groups 2, stride 2, dilation 2, padding (2, 1)": ((4, 1, 2, 3), (2, 9, 8),
                                                                dict(stride=2, dilation=2, groups=2,
                                                                     padding=((2, 1), (1, 0)))),
    }.items():
        w = rng.integers(-4, 5, size=wshape).astype(float)
        spec = ConvSpec(wshape, ishape, **kw)
        M = conv_matrix(w, spec)
        exact = bool(abs(M.T - transposed_conv_matrix(w, spec)).max() == 0)
        out[name] = exact and bool(dot_test(conv_operator(w, spec)))
    return out


def prove(sizes=(4, 5, 7), kernels=(1, 2, 3), strides=(1, 2, 3), dilations=(1, 2)) -> Certificate:
    """Certify ``M^T = T Z^T`` over a grid of 1-D geometries (symbolic) and 2-D cases (numeric).

    Examples
    --------
    >>> c = prove(sizes=(5,), kernels=(2,), strides=(2,), dilations=(1,))
    >>> bool(c), c.details["cases"]
    (True, 4)
    """
    failures, cases, op_cases = [], 0, 0
    with stopwatch() as elapsed:
        for n, k, s, d in itertools.product(sizes, kernels, strides, dilations):
            for lo, hi in itertools.product(range(d * (k - 1) + 1), repeat=2):
                if n + lo + hi < d * (k - 1) + 1:
                    continue
                cases += 1
                if not _symbolic_case(n, k, s, d, lo, hi):
                    failures.append(dict(n=n, k=k, s=s, d=d, padding=(lo, hi)))
            for p in range(d * (k - 1) + 1):
                for op in range(max(s, d)):
                    try:
                        ConvTransposeSpec((k,), (n,), stride=s, padding=p, output_padding=op,
                                          dilation=d)
                    except ValueError:  # no output, or every tap in the padding
                        continue
                    op_cases += 1
                    if not output_padding_case(n, k, s, d, p, op):
                        failures.append(dict(n=n, k=k, s=s, d=d, padding=p, output_padding=op))
        numeric = _numeric_cases()
    return Certificate(
        theorem="adjoint_is_transposed_conv",
        statement=STATEMENT,
        assumptions=("zero padding with lo, hi <= d(k-1)", "real weights (adjoint = transpose)"),
        sizes=f"1-D symbolic: n in {list(sizes)}, k in {list(kernels)}, s in {list(strides)}, "
              f"d in {list(dilations)}, every (lo, hi) in [0, d(k-1)]^2 and, transposed, every "
              f"p in [0, d(k-1)] with every output_padding < max(s, d); 2-D numeric: {len(numeric)} cases",
        method="symbolic", holds=not failures and all(numeric.values()),
        details={"cases": cases, "output_padding_cases": op_cases, "failures": failures[:5], "numeric_2d": numeric},
        argument=ARGUMENT, seconds=elapsed(),
    )
