"""Dumoulin & Visin's transposed-convolution arithmetic, as a check that can fail.

The claim (Dumoulin & Visin, "A guide to convolution arithmetic", section 4):
a transposed conv with stride ``s``, padding ``p``, dilation ``d`` and
``output_padding`` equals a *direct* conv, stride 1, dilation ``d``, over its
input with ``s - 1`` zeros inserted between samples, padded by ``d*(k-1) - p``
(plus ``output_padding`` on the high side), with the kernel flipped and its
two channel axes swapped.  The check builds both sides independently: the
transposed conv's matrix from the adjoint conv's taps, the direct side from a
plain stride-1 conv matrix times the 0/1 zero-insertion matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import sympy

from ..transposed_spec import ConvTransposeSpec
from ..matrices import conv_matrix
from ..transposed import conv_transpose_arguments, conv_transpose_matrix
from ._common import symbolic_entries
from ..verdict import Verdict

__all__ = ["check_transposed_arithmetic", "zero_insertion_matrix"]

STATEMENT = ("conv_transpose(x) = conv(zero-inserted, padded x, flipped channel-swapped kernel, "
             "stride 1, same dilation)")


def zero_insertion_matrix(spec: ConvTransposeSpec) -> sp.csr_array:
    """The 0/1 matrix ``Z`` with ``Z @ x.ravel() == spec.zero_insert(x).ravel()``.

    Shape ``(C_in * prod(stretched + lo + hi), C_in * prod(n))``.

    Examples
    --------
    >>> Z = zero_insertion_matrix(ConvTransposeSpec((2,), (2,), stride=2))
    >>> Z.toarray().astype(int).tolist()
    [[0, 0], [1, 0], [0, 0], [0, 1], [0, 0]]
    """
    positions = np.arange(1, int(np.prod(spec.input_shape)) + 1).reshape(spec.input_shape)
    source = spec.zero_insert(positions).ravel()  # 0 where a zero was inserted or padded
    rows = np.flatnonzero(source)
    return sp.csr_array((np.ones(len(rows)), (rows, source[rows] - 1)),
                        shape=(len(source), positions.size))


def _direct_matrix(w, spec: ConvTransposeSpec):
    """The right-hand side: a stride-1 conv of the zero-inserted input, times ``Z``."""
    stretched = spec.zero_insert(np.zeros(spec.input_shape, dtype=np.int8)).shape
    D = conv_matrix(spec.direct_weight(w), stretched, dilation=spec.dilation, groups=spec.groups)
    Z = zero_insertion_matrix(spec)
    if isinstance(D, sympy.MatrixBase):
        return sympy.SparseMatrix(D) * sympy.SparseMatrix(Z.shape[0], Z.shape[1], {
            (int(r), int(c)): 1 for r, c in zip(*Z.nonzero())}), D.shape
    return (D @ Z).tocsr(), D.shape


def check_transposed_arithmetic(weight, input_shape, *, stride=1, padding=0, output_padding=0,
                                dilation=1, groups=1, matrix=None, x=None,
                                atol: float = 1e-10) -> Verdict:
    """Check that the transposed conv is the direct conv of the zero-inserted input.

    Parameters
    ----------
    weight : (C_in, C_out/groups, k...) array_like, or sympy weights
        Sympy weights make the check exact (``expand(a - b) == 0`` per entry).
    input_shape, stride, padding, output_padding, dilation, groups
        As in :func:`convtheory.conv_transpose_matrix`.
    matrix : sparse array, ndarray or sympy matrix, optional
        The transposed conv's matrix to check (default: built by
        :func:`~convtheory.conv_transpose_matrix`); a wrong one fails.
    x : array_like of shape input_shape, optional
        Also compare ``matrix @ x`` with the direct conv of
        ``spec.zero_insert(x)``.  A NaN or infinite entry fails, with that
        entry as the counterexample.
    atol : float
        Allowed entry-wise difference for numeric weights.

    Returns
    -------
    Verdict
        ``method="exhaustive"`` (every entry of both matrices, i.e. every
        basis vector) or ``"symbolic"``; evidence holds the maximum error,
        the zero-insertion table ``(stretched, lo, hi)`` per axis and the
        output shapes predicted by both sides.

    Examples
    --------
    >>> w = np.random.default_rng(0).standard_normal((2, 3, 3, 3))
    >>> v = check_transposed_arithmetic(w, (2, 4, 4), stride=2, padding=1, output_padding=1)
    >>> bool(v), v.evidence["zero_insertion"]
    (True, [[7, 1, 2], [7, 1, 2]])

    A matrix built with the kernel not flipped fails:

    >>> wrong = conv_transpose_matrix(w[..., ::-1, ::-1], (2, 4, 4), stride=2, padding=1,
    ...                               output_padding=1)
    >>> bool(check_transposed_arithmetic(w, (2, 4, 4), stride=2, padding=1, output_padding=1,
    ...                                  matrix=wrong))
    False
    """
    w, spec = conv_transpose_arguments(weight, input_shape, stride=stride, padding=padding,
                                       output_padding=output_padding, dilation=dilation,
                                       groups=groups)
    if not isinstance(atol, (int, float)) or isinstance(atol, bool) or not atol >= 0 \
            or not np.isfinite(atol):
        raise ValueError(f"atol must be a finite number >= 0, got atol={atol!r}")
    symbolic = w.dtype == object
    M = conv_transpose_matrix(w, spec) if matrix is None else matrix
    if not (sp.issparse(M) or isinstance(M, (np.ndarray, sympy.MatrixBase))):
        raise TypeError(f"matrix must be a scipy sparse array, an ndarray or a sympy matrix, "
                        f"got {type(M).__name__}")
    if tuple(M.shape) != spec.matrix_shape:
        raise ValueError(f"matrix.shape={tuple(M.shape)} does not match the transposed conv's "
                         f"matrix shape {spec.matrix_shape}")
    R, direct_shape = _direct_matrix(w, spec)
    evidence = {"zero_insertion": [list(t) for t in spec.zero_insertion()],
                "output_shape": list(spec.output_shape),
                "direct_output_rows": int(direct_shape[0])}
    scope = (f"weight {spec.weight_shape}, input {spec.input_shape}, stride {spec.stride}, "
             f"padding {spec.padding}, output_padding {spec.output_padding}, dilation "
             f"{spec.dilation}, groups {spec.groups}")
    counterexample = None
    if symbolic or isinstance(M, sympy.MatrixBase):
        left = symbolic_entries(sympy.SparseMatrix(M))
        right = symbolic_entries(sympy.SparseMatrix(R))
        bad = [ij for ij in set(left) | set(right)
               if sympy.expand(left.get(ij, 0) - right.get(ij, 0)) != 0]
        holds = not bad
        evidence["differing_entries"] = len(bad)
        if bad:
            ij = min(bad)
            counterexample = {"entry": ij, "matrix": left.get(ij, 0), "direct": right.get(ij, 0)}
        method = "symbolic"
    else:
        Mc = sp.csr_array(M)
        diff = abs(Mc - R)
        # NaN and inf in the matrix must fail: max() of an inf - inf entry is NaN.
        err = float(diff.max()) if diff.nnz else 0.0
        finite = bool(np.all(np.isfinite(Mc.data)))
        holds = finite and err <= atol
        evidence["max_error"] = err if finite else float("nan")
        if not holds:
            bad = np.argwhere(~np.isfinite(Mc.toarray()) | (abs(Mc - R).toarray() > atol))[0]
            counterexample = {"entry": tuple(int(i) for i in bad),
                              "matrix": float(np.real(Mc[bad[0], bad[1]])),
                              "direct": float(R[bad[0], bad[1]])}
        method = "exhaustive"
        if x is not None:
            if np.asarray(x).dtype.kind == "c":  # casting would discard the imaginary part
                raise TypeError(f"x must be real, got dtype {np.asarray(x).dtype}")
            xs = np.asarray(x, dtype=float)
            if xs.shape != spec.input_shape:
                raise ValueError(f"x must have shape {spec.input_shape}, got x.shape={xs.shape}")
            if not np.all(np.isfinite(xs)):
                i = tuple(int(v) for v in np.argwhere(~np.isfinite(xs))[0])
                holds, counterexample = False, {"x_index": i, "x": float(xs[i])}
            else:
                direct = conv_matrix(spec.direct_weight(w), spec.zero_insert(xs).shape,
                                     dilation=spec.dilation, groups=spec.groups) \
                    @ spec.zero_insert(xs).ravel()
                x_err = float(np.max(np.abs(Mc @ xs.ravel() - direct), initial=0.0))
                evidence["max_error_on_x"] = x_err
                if not x_err <= atol * max(1.0, float(np.abs(xs).max(initial=0.0))):
                    holds = False
                    counterexample = counterexample or {"x_error": x_err}
    return Verdict("transposed_arithmetic", STATEMENT, holds, method, scope, evidence,
                   None if holds else counterexample)
