"""Parameter sharing: the conv matrix is ``M = sum_k w_k B_k`` with few weights.

Each weight ``w_k`` appears at many positions of the matrix; ``B_k =
dM/dw_k`` is the 0/1 "shifted diagonal" pattern of its taps (small integers
where reflect or replicate folds two taps onto one input).  The check reads
the ``B_k`` off the matrix (symbolically: as the coefficients of each entry)
and compares them with the taps of :func:`convtheory.conv_taps`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import sympy

from ..matrices import DEFAULT_MAX_BYTES, conv_matrix
from ..taps import conv_taps, count_taps
from ..validation import as_max_bytes, as_tolerance, check_budget
from ..verdict import Verdict, exceeds, worst_entry
from ..weights import conv_arguments, is_symbolic, kernel_symbols
from ._common import SYMBOLIC_TAP_LIMIT, as_matrix, describe

__all__ = ["check_sharing", "parameter_counts", "seed_sharing_example", "weight_patterns"]

_BYTES_PER_TAP = 100  # tap arrays, their sort keys and the comparison matrices


def weight_patterns(spec) -> sp.csr_array:
    """The ``B_k = dM/dw_k`` of a geometry, as the columns of one sparse matrix.

    Column ``k`` is ``vec(B_k)`` (C-order over the conv matrix), so
    ``vec(M(w)) = B @ w.ravel()``: the linear map from weights to matrices.

    Parameters
    ----------
    spec : ConvSpec

    Returns
    -------
    B : (prod(matrix_shape), n_weights) csr_array
        Entries count the taps of weight ``k`` at each matrix entry.

    Examples
    --------
    >>> spec = ConvSpec((2,), (3,))
    >>> B = weight_patterns(spec)
    >>> B[:, [0]].toarray().reshape(spec.matrix_shape).astype(int)     # B_0: a shifted diagonal
    array([[1, 0, 0],
           [0, 1, 0]])
    >>> w = np.array([3.0, 5.0])
    >>> np.array_equal((B @ w).reshape(spec.matrix_shape), conv_matrix(w, spec).toarray())
    True
    """
    taps = conv_taps(spec)
    cells = taps.rows * spec.matrix_shape[1] + taps.cols
    B = sp.csr_array((np.ones(len(taps)), (cells, taps.kernel)),
                     shape=(int(np.prod(spec.matrix_shape)), spec.n_weights))
    B.sum_duplicates()
    return B


def parameter_counts(spec, *, bias: bool = False) -> dict:
    """Parameters of the conv against the dense layer with the same input and output.

    Parameters
    ----------
    spec : ConvSpec
    bias : bool
        Count one bias per output channel (conv) and per output unit (dense).

    Returns
    -------
    dict
        ``conv`` (``C_out*C_in/groups*prod(k)`` [+ ``C_out``]), ``dense``
        (``(C_out*prod(o)) * (C_in*prod(n))`` [+ ``C_out*prod(o)``]) and
        their ``ratio`` dense/conv.

    Examples
    --------
    The seed's example: a 2-tap kernel maps an H x W image to an H x W image;
    a dense layer doing the same needs H^2 W^2 weights.

    >>> spec = ConvSpec((1, 2), (4, 5), padding=((0, 0), (0, 1)))
    >>> c = parameter_counts(spec)
    >>> c["conv"], c["dense"], c["dense"] == 4**2 * 5**2
    (2, 400, True)
    """
    rows, cols = spec.matrix_shape
    conv = spec.n_weights + (spec.out_channels if bias else 0)
    dense = rows * cols + (rows if bias else 0)
    return {"conv": conv, "dense": dense, "ratio": dense / conv}


def check_sharing(weight, input_shape, *, matrix=None, symbolic=None, bias=False,
                  rtol: float = 1e-12, max_bytes=DEFAULT_MAX_BYTES, **conv) -> Verdict:
    r"""Check that every entry of the conv matrix is a kernel weight (or a sum of them).

    Claim: ``M = sum_k w_k B_k`` where ``B_k``, the taps of weight ``k``, is
    a 0/1 pattern (small integers where reflect/replicate fold taps), so the
    ``prod(shape)`` entries of ``M`` are tied to ``C_out*C_in/groups*prod(k)``
    parameters, and every weight is shared: it sits at two or more positions
    (a conv whose output is one position uses each weight once; it holds
    ``M = sum_k w_k B_k``, reported as ``weights_tied``, but shares nothing).

    Parameters
    ----------
    weight, input_shape, **conv
        As in :func:`convtheory.conv_matrix`, or a ``ConvSpec`` as ``input_shape``.
    matrix : sparse array, ndarray or sympy matrix, optional
        Check this matrix instead of the one the conv builds (e.g. a matrix
        from another library, or a deliberately broken one).  A sympy matrix
        is read in the symbols of ``weight`` when ``weight`` holds distinct
        symbols, else in ``kernel_symbols(weight_shape)``.
    symbolic : bool, optional
        Read ``B_k = dM/dw_k`` off a sympy matrix in fresh symbols (exact, for
        every weight value).  Default: when the conv has at most
        20,000 taps and ``matrix`` is not numeric.  Otherwise the numeric
        matrix is compared with ``sum_k w_k B_k`` for the given weights.
    bias : bool
        Include biases in the parameter counts.
    rtol : float
        Numeric comparison only: an entry matches within ``rtol * max(max|w|,
        1)`` (default 1e-12: folded taps may be summed in another order).
    max_bytes : int
        Refuse, before building the taps, to need more memory than this
        (about 100 bytes per tap; default 2 GiB).

    Returns
    -------
    Verdict
        Evidence: ``positions_per_weight`` (taps of each weight, the sharing
        count), ``min_positions_per_weight``, ``weights_tied`` (``M = sum_k w_k
        B_k`` holds), ``max_B_k_entry`` (1: a weight is read once per output),
        ``max_taps_per_entry`` (2 or more where taps fold), ``one_tap_per_row``
        (each ``B_k`` is a partial shifted diagonal), parameter counts.
        Counterexample: the first entry whose value is not the expected sum
        of weights, or the first weight used at fewer than two positions.

    Notes
    -----
    Symbolically, each entry ``M[r, c]`` is expanded and its coefficients
    read as ``{w_k: B_k[r, c]}``; a constant term, a nonlinear term or a
    coefficient that differs from the tap count breaks sharing.  Numeric
    comparison allows ``rtol * max(max|w|, 1)``.

    Examples
    --------
    >>> v = check_sharing(np.array([1.0, -1.0]), (6,))
    >>> bool(v), v.method, v.evidence["positions_per_weight"]
    (True, 'symbolic', [[[5, 5]]])

    The seed's example: 2 parameters instead of H^2 W^2 (here H=3, W=4):

    >>> v = check_sharing(np.array([[1.0, -1.0]]), (3, 4), padding=((0, 0), (0, 1)))
    >>> v.evidence["parameters"], v.evidence["dense_parameters"]
    (2, 144)

    One tap moved breaks it:

    >>> M = conv_matrix(np.array([1.0, 2.0]), (4,)).toarray()
    >>> M[0, 0], M[0, 2] = 0.0, 1.0
    >>> check_sharing(np.array([1.0, 2.0]), (4,), matrix=M).counterexample["entry"]
    (0, 0)
    """
    w, spec = conv_arguments(weight, input_shape, **conv)
    if matrix is not None:
        matrix = as_matrix(matrix, spec)
    max_bytes = as_max_bytes(max_bytes)
    rtol = as_tolerance(rtol, "rtol")
    n_taps = count_taps(spec)
    check_budget(n_taps * _BYTES_PER_TAP, max_bytes, f"check_sharing of {n_taps:,} taps",
                 "check a smaller input (sharing does not depend on the size, see "
                 "check_adaptivity) or pass a larger max_bytes")
    if symbolic is None:
        numeric_override = matrix is not None and not isinstance(matrix, sympy.MatrixBase)
        symbolic = not numeric_override and n_taps <= SYMBOLIC_TAP_LIMIT
    if symbolic and matrix is not None and not isinstance(matrix, sympy.MatrixBase):
        raise TypeError("symbolic=True needs a sympy matrix (or none); got a numeric matrix")
    if not symbolic and isinstance(matrix, sympy.MatrixBase):
        raise TypeError("a sympy matrix is checked symbolically; pass symbolic=None or True")

    taps = conv_taps(spec)
    positions = taps.shared_positions()
    counts = parameter_counts(spec, bias=bias)
    # Tap counts per (weight, row, col): the B_k, as the taps define them.
    key = (taps.kernel * spec.matrix_shape[0] + taps.rows) * spec.matrix_shape[1] + taps.cols
    ukey, mult = np.unique(key, return_counts=True)
    one_per_row = bool(len(np.unique(taps.kernel * spec.matrix_shape[0] + taps.rows)) == len(taps))
    evidence = {
        "parameters": counts["conv"],
        "dense_parameters": counts["dense"],
        "dense_over_conv": counts["ratio"],
        "positions_per_weight": positions.tolist(),
        "max_B_k_entry": int(mult.max()) if len(mult) else 0,
        "max_taps_per_entry": int(np.unique(taps.rows * spec.matrix_shape[1] + taps.cols,
                                            return_counts=True)[1].max()) if len(taps) else 0,
        "one_tap_per_row": one_per_row,
    }
    if symbolic:
        holds, counterexample, extra = _symbolic(w, spec, matrix, ukey, mult)
        method = "symbolic"
        scope = f"{describe(spec)}; every weight value (B_k = dM/dw_k read exactly)"
    else:
        holds, counterexample, extra = _numeric(w, spec, matrix, taps, rtol)
        method = "numeric"
        scope = f"{describe(spec)}; the given weight values"
    evidence.update(extra)
    evidence["weights_tied"] = holds
    least = int(positions.min()) if positions.size else 0
    evidence["min_positions_per_weight"] = least
    if holds and least < 2:
        holds = False
        index = np.unravel_index(int(np.argmin(positions)), positions.shape)
        counterexample = {"weight_index": tuple(int(i) for i in index), "positions": least,
                          "reason": "this weight sits at fewer than two positions: nothing shared"}
    return Verdict(
        name="sharing",
        statement="M = sum_k w_k B_k: every nonzero of the conv matrix is a kernel weight "
                  "(or a sum of them where taps fold), shared across positions",
        holds=holds, method=method, scope=scope, evidence=evidence,
        counterexample=counterexample,
    )


def _symbolic(w, spec, matrix, ukey, mult):
    if matrix is not None and is_symbolic(w) and all(isinstance(s, sympy.Symbol) for s in w.flat) \
            and len(set(w.flat)) == w.size:
        symbols = w  # the override is written in the caller's own symbols
    else:
        symbols = kernel_symbols(spec.weight_shape)
    M = matrix if matrix is not None else conv_matrix(symbols, spec)
    index = {s: i for i, s in enumerate(symbols.flat)}
    n_rows, n_cols = spec.matrix_shape
    expected = {}
    for kk, m in zip(ukey.tolist(), mult.tolist()):
        k, rc = divmod(kk, n_rows * n_cols)
        expected.setdefault(divmod(rc, n_cols), {})[symbols.flat[k]] = m
    found = {}
    for (r, c), v in M.todok().items():
        v = sympy.expand(v)
        if v != 0:
            found[(int(r), int(c))] = v
    for entry in sorted(set(found) | set(expected)):
        v = found.get(entry, sympy.Integer(0))
        coeffs = v.as_coefficients_dict()
        want = expected.get(entry, {})
        ok = set(coeffs) <= set(index) and all(
            isinstance(coeffs[s], sympy.Integer) and coeffs[s] == want.get(s, 0) for s in coeffs
        ) and all(coeffs.get(s, 0) == m for s, m in want.items())
        if not ok:
            exp = sum((m * s for s, m in want.items()), sympy.Integer(0))
            return False, {"entry": entry, "found": str(v), "expected": str(exp)}, {
                "entries_checked": len(found)}
    return True, None, {"entries_checked": len(found)}


def _numeric(w, spec, matrix, taps, rtol):
    if w.dtype == object:
        raise TypeError("a numeric check needs numeric weights; pass symbolic=True for sympy weights")
    M = matrix if matrix is not None else conv_matrix(w, spec)
    expected = sp.csr_array((w.ravel()[taps.kernel], (taps.rows, taps.cols)), shape=spec.matrix_shape)
    expected.sum_duplicates()
    diff = sp.csr_array(M - expected)
    diff.eliminate_zeros()
    # Weights are finite (conv_arguments refuses others), so the tolerance is; a NaN or an
    # infinity in the matrix makes its entry of diff non-finite, and that entry fails.
    scale = float(np.max(np.abs(w))) if w.size else 0.0
    atol = rtol * max(scale, 1.0)
    coo = diff.tocoo()
    bad = exceeds(coo.data, atol)
    max_error, _ = worst_entry(coo.data)
    if not bad.any():
        return True, None, {"max_abs_error": max_error, "atol": atol}
    order = np.lexsort((coo.col[bad], coo.row[bad]))
    r, c = int(coo.row[bad][order[0]]), int(coo.col[bad][order[0]])
    return False, {"entry": (r, c), "found": M[r, c].item(), "expected": expected[r, c].item()}, {
        "max_abs_error": max_error, "atol": atol, "entries_off": int(bad.sum())}


def seed_sharing_example(height: int = 280, width: int = 320, *,
                         max_bytes=DEFAULT_MAX_BYTES) -> Verdict:
    """The seed's example: a 2-tap horizontal difference kernel on an H x W image.

    The conv maps ``H x W`` to ``H x W`` (one column of zero padding on the
    right) with 2 parameters; the dense layer needs ``H^2 W^2``.  ``max_bytes``
    bounds the memory, as in :func:`check_sharing`.

    Examples
    --------
    >>> v = seed_sharing_example(280, 320)
    >>> bool(v), v.evidence["parameters"], v.evidence["dense_parameters"] == 280**2 * 320**2
    (True, 2, True)
    """
    return check_sharing(np.array([[-1.0, 1.0]]), (height, width), padding=((0, 0), (0, 1)),
                         symbolic=False, max_bytes=max_bytes)
