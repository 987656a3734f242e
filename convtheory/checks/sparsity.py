"""Sparsity: a conv matrix has one receptive field of nonzeros per row.

Each output reads ``C_in/groups * prod(k)`` inputs (its receptive field),
fewer at the borders where zero padding clips it, out of ``C_in * prod(n)``.
The number of nonzeros has a closed form in ``n, k, s, p, d`` and the
channels (:func:`nnz_formula`), checked against counts over a grid of sizes
(:func:`check_nnz_formula`).
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import sympy

from ..spec import ConvSpec
from ..matrices import conv_matrix
from ..verdict import Verdict
from ..weights import conv_arguments
from ._common import as_matrix, describe, positive_int, tap_pattern

__all__ = [
    "axis_nnz",
    "check_nnz_formula",
    "check_sparsity",
    "nnz_closed_form",
    "nnz_formula",
    "receptive_field_counts",
]

#: Symbols of the formulas: input length, kernel length, stride, dilation,
#: padding low/high, and the channel pair count ``C_out * C_in/groups``.
n, k, s, d, p_lo, p_hi, a = sympy.symbols("n k s d p_lo p_hi a", integer=True)
p = sympy.Symbol("p", integer=True, nonnegative=True)
C = sympy.Symbol("C", integer=True, positive=True)


def _outputs():
    return sympy.floor((n + p_lo + p_hi - d * (k - 1) - 1) / s) + 1


def _summand():
    # Output o reads input o*s + a*d - p_lo through kernel position a; it is a
    # real input (not zero padding) iff ceil((p_lo - a d)/s) <= o < ceil((n + p_lo - a d)/s).
    first = sympy.Max(0, sympy.ceiling((p_lo - a * d) / s))
    stop = sympy.Min(_outputs(), sympy.ceiling((n + p_lo - a * d) / s))
    return sympy.Max(0, stop - first)


def nnz_formula():
    """Exact nnz of a zero-padded conv matrix, as a sympy expression.

    Per spatial axis, kernel position ``a`` contributes one nonzero for each
    output ``o`` in ``[0, O)`` whose tap ``o*s + a*d - p_lo`` lands in
    ``[0, n)``, that is ``ceil((p_lo - a d)/s) <= o < ceil((n + p_lo - a d)/s)``::

        T(n, k, s, d, p_lo, p_hi) = sum_{a=0}^{k-1} max(0, min(O, ceil((n+p_lo-a d)/s))
                                                        - max(0, ceil((p_lo - a d)/s)))
        O = floor((n + p_lo + p_hi - d(k-1) - 1)/s) + 1

    and ``nnz = C * prod over axes of T`` with ``C = C_out * C_in/groups``.
    It holds for every stride, dilation and (asymmetric) zero padding; for
    the other boundary modes it counts taps, an upper bound on nnz (equal
    for circular padding when the dilated kernel fits, ``d(k-1) < n``).

    Returns
    -------
    sympy.Expr
        ``T`` for one axis, in the module symbols ``n, k, s, d, p_lo, p_hi``.

    Examples
    --------
    >>> T = nnz_formula()
    >>> T.subs({n: 5, k: 3, s: 1, d: 1, p_lo: 1, p_hi: 1}).doit()
    13
    >>> T.subs({n: 5, k: 3, s: 1, d: 1, p_lo: 0, p_hi: 0}).doit()   # valid: k(n-k+1)
    9
    """
    return sympy.Sum(_summand(), (a, 0, k - 1))


def nnz_closed_form():
    """Closed form of :func:`nnz_formula` for stride 1 and symmetric padding ``p``.

    With ``m = ceil(p/d)`` kernel positions reaching into each side's padding,
    the taps that land in padding number ``m p - d m(m-1)/2`` per side, so::

        T = k (n + 2p - d(k-1)) - 2 (m p - d m (m-1) / 2)

    Valid for ``0 <= p <= d(k-1)`` and ``n + p >= d(k-1)`` (no output's
    receptive field leaves the image on both sides).  Special cases: valid
    (``p = 0``) gives ``k(n - d(k-1))``, so ``k(n-k+1)`` for ``d = 1``; full
    (``p = k-1``, ``d = 1``) gives ``k n``.

    Examples
    --------
    >>> T = nnz_closed_form()
    >>> sympy.factor(T.subs({d: 1, p: 0}))
    -k*(k - n - 1)
    >>> sympy.expand(T.subs({d: 1, p: k - 1}).subs(sympy.ceiling(k - 1), k - 1))
    k*n
    """
    m = sympy.ceiling(p / d)
    return k * (n + 2 * p - d * (k - 1)) - 2 * (m * p - d * m * (m - 1) / 2)


@lru_cache(maxsize=1)
def _summand_numeric():
    return sympy.lambdify((a, n, k, s, d, p_lo, p_hi), _summand(), "numpy")


def axis_nnz(input_size: int, kernel_size: int, stride: int = 1, dilation: int = 1,
             padding=0) -> int:
    """Evaluate :func:`nnz_formula` for one axis (fast: the summand is lambdified).

    Parameters
    ----------
    input_size, kernel_size, stride, dilation : int
    padding : int or (int, int)
        Zero padding, the same on both sides or ``(lo, hi)``.

    Examples
    --------
    >>> axis_nnz(5, 3), axis_nnz(5, 3, padding=1), axis_nnz(8, 3, stride=2, padding=(1, 1))
    (9, 13, 11)
    """
    lo, hi = (padding, padding) if np.ndim(padding) == 0 else tuple(padding)
    terms = _summand_numeric()(np.arange(kernel_size), input_size, kernel_size, stride, dilation,
                               lo, hi)
    return int(np.sum(np.broadcast_to(terms, (kernel_size,))))


def receptive_field_counts(spec: ConvSpec) -> np.ndarray:
    """Inputs read by each output row, clipped at the borders: the expected row nnz.

    Per axis, the number of distinct real inputs in each row of the tap
    table (zero padding clips it; reflect/replicate may fold two taps onto
    one input); the product over axes, times ``C_in/groups``, for every row
    of the matrix.

    Examples
    --------
    >>> receptive_field_counts(ConvSpec((3,), (4,), padding=1)).tolist()
    [2, 3, 3, 2]
    """
    per_axis = []
    for axis in range(spec.ndim):
        table = spec.axis_table(axis)
        rows = np.sort(table, axis=1)
        distinct = (rows >= 0) & np.concatenate(
            [np.ones((len(rows), 1), bool), np.diff(rows, axis=1) != 0], axis=1)
        per_axis.append(distinct.sum(axis=1))
    counts = per_axis[0]
    for c in per_axis[1:]:
        counts = np.multiply.outer(counts, c)
    counts = np.asarray(counts).ravel() * spec.in_channels_per_group
    return np.tile(counts, spec.out_channels)


def check_sparsity(weight, input_shape, *, matrix=None, **conv) -> Verdict:
    """Check that the conv matrix is as sparse as its receptive fields say.

    Claim: the nonzeros of ``M`` lie in the tap pattern; each row holds
    exactly its receptive field, ``C_in/groups * prod(k)`` entries clipped at
    the borders (:func:`receptive_field_counts`); and the pattern's nnz
    equals the closed-form :func:`nnz_formula` (zero padding; tap count for
    the other modes).

    Entries are counted as stored: :func:`convtheory.conv_matrix` stores one
    per tap even where a weight is 0, but a dense ``matrix`` override loses
    the entries of zero weights (pass a sparse array with explicit zeros).

    Parameters
    ----------
    weight, input_shape, **conv
        As in :func:`convtheory.conv_matrix`, or a ``ConvSpec``.
    matrix : sparse array, ndarray, optional
        Check this matrix instead (e.g. a deliberately densified one).

    Returns
    -------
    Verdict
        Method ``exhaustive`` (every entry is inspected).  Evidence: ``nnz``,
        ``density``, ``pattern_nnz``, ``formula_nnz``, ``receptive_field``,
        ``row_nnz_min/max``, ``clipped_rows``.  Counterexample: the first
        entry outside the pattern, with its row's count and allowance.

    Examples
    --------
    >>> v = check_sparsity(np.ones((3, 3)), (8, 8), padding=1)
    >>> bool(v), v.evidence["nnz"], v.evidence["receptive_field"], v.evidence["clipped_rows"]
    (True, 484, 9, 28)
    >>> round(v.evidence["density"], 4)
    0.1182

    A dense block breaks it:

    >>> M = conv_matrix(np.ones(3), (6,)).toarray()
    >>> M[:2, 3:] = 1.0
    >>> check_sparsity(np.ones(3), (6,), matrix=M).counterexample["entry"]
    (0, 3)
    """
    w, spec = conv_arguments(weight, input_shape, **conv)
    if matrix is None:
        M = conv_matrix(w, spec) if w.dtype != object else None
    else:
        M = as_matrix(matrix, spec)
        if isinstance(M, sympy.MatrixBase):
            raise TypeError("check_sparsity needs a numeric matrix, got a sympy matrix")
    pattern = tap_pattern(spec)
    expected_rows = receptive_field_counts(spec)
    pattern_rows = np.diff(pattern.indptr)
    n_rows, n_cols = spec.matrix_shape
    # The closed form, evaluated per axis, against the taps.
    # Other boundary modes send every tap to a real input: k * O taps per axis.
    per_pair = 1
    for axis in range(spec.ndim):
        per_pair *= axis_nnz(spec.input_spatial[axis], spec.kernel_size[axis], spec.stride[axis],
                             spec.dilation[axis], spec.padding[axis]) \
            if spec.padding_mode == "zeros" else spec.kernel_size[axis] * spec.output_spatial[axis]
    formula_nnz = per_pair * spec.out_channels * spec.in_channels_per_group
    n_taps = int(pattern.sum())
    formula_ok = formula_nnz == (pattern.nnz if spec.padding_mode == "zeros" else n_taps)

    not_finite = None
    if M is None:  # symbolic weights: the structure is the pattern itself
        outside = sp.csr_array((n_rows, n_cols))
        nnz, row_nnz = pattern.nnz, pattern_rows
    else:
        # A NaN or an infinity is no weight: the matrix is not the conv it claims to be.
        stored = sp.csr_array(M)
        bad = np.flatnonzero(~np.isfinite(stored.data))
        if len(bad):
            r = int(np.searchsorted(stored.indptr, bad[0], side="right") - 1)
            not_finite = {"entry": (r, int(stored.indices[bad[0]])),
                          "value": stored.data[bad[0]].item(), "reason": "not finite"}
        support = sp.csr_array(M, copy=True)
        support.data = np.ones_like(support.data, dtype=float)
        support.sum_duplicates()
        nnz = int(support.nnz)
        row_nnz = np.diff(support.indptr)
        outside = support - support.multiply(pattern > 0)
        outside.eliminate_zeros()
    # The given matrix's row counts against the receptive fields read off the tap tables.
    rows_ok = bool(np.array_equal(row_nnz, expected_rows))
    counterexample = not_finite
    if counterexample is not None:
        pass
    elif outside.nnz:
        coo = outside.tocoo()
        first = np.lexsort((coo.col, coo.row))[0]
        r, c = int(coo.row[first]), int(coo.col[first])
        counterexample = {"entry": (r, c), "row_nnz": int(row_nnz[r]),
                          "receptive_field_of_row": int(expected_rows[r])}
    elif not rows_ok:
        r = int(np.flatnonzero(row_nnz != expected_rows)[0])
        counterexample = {"row": r, "row_nnz": int(row_nnz[r]),
                          "receptive_field_of_row": int(expected_rows[r])}
    elif not formula_ok:
        counterexample = {"formula_nnz": formula_nnz, "pattern_nnz": int(pattern.nnz)}
    rf = spec.in_channels_per_group * int(np.prod(spec.kernel_size))
    evidence = {
        "nnz": nnz,
        "density": nnz / (n_rows * n_cols),
        "pattern_nnz": int(pattern.nnz),
        "taps": n_taps,
        "formula_nnz": formula_nnz,
        "formula_counts": "nnz" if spec.padding_mode == "zeros" else "taps",
        "receptive_field": rf,
        "row_nnz_min": int(row_nnz.min()) if len(row_nnz) else 0,
        "row_nnz_max": int(row_nnz.max()) if len(row_nnz) else 0,
        "clipped_rows": int(np.sum(expected_rows < rf)),
        "entries_outside_pattern": int(outside.nnz),
        "non_finite_entries": 0 if M is None else int(np.sum(~np.isfinite(sp.csr_array(M).data))),
    }
    return Verdict(
        name="sparsity",
        statement="the conv matrix is sparse: each row holds only its receptive field "
                  "(clipped at borders), and nnz matches the closed-form count",
        holds=not_finite is None and outside.nnz == 0 and rows_ok and formula_ok,
        method="exhaustive",
        scope=f"{describe(spec)}; every entry of the {n_rows}x{n_cols} matrix",
        evidence=evidence,
        counterexample=counterexample,
    )


def _formula_value(value):
    """A formula's value as a number to compare with a count; None or text is a TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating, sympy.Expr)):
        raise TypeError(f"formula must return a number, got {type(value).__name__}: {value!r}")
    if isinstance(value, sympy.Expr):
        value = int(value) if value.is_integer else float(value)
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def check_nnz_formula(sizes=range(1, 8), kernels=range(1, 5), strides=range(1, 4),
                      dilations=range(1, 3), paddings=range(0, 3), *, formula=None,
                      max_cases: int = 100_000) -> Verdict:
    """Check :func:`nnz_formula` (and :func:`nnz_closed_form` on its domain) against tap counts.

    Every combination of the given input lengths, kernel lengths, strides,
    dilations and (lo, hi) paddings that makes a valid geometry is built as
    a :class:`ConvSpec`; its count of real taps is compared with the formula.

    Parameters
    ----------
    sizes, kernels, strides, dilations, paddings : non-empty iterables of int
    formula : callable, optional
        ``(input_size, kernel_size, stride, dilation, (lo, hi)) -> int`` to
        check instead of :func:`axis_nnz` (e.g. a wrong formula, to see the
        check fail).
    max_cases : int
        Refuse grids with more combinations than this (default 100,000; at
        most 10,000,000).

    Returns
    -------
    Verdict
        Method ``exhaustive`` over the grid.  Evidence: cases checked,
        the formulas as strings.  Counterexample: the first disagreeing case.

    Examples
    --------
    >>> v = check_nnz_formula(range(1, 5), range(1, 4), range(1, 3), (1, 2), range(0, 2))
    >>> bool(v), v.evidence["cases"] > 50
    (True, True)
    >>> bool(check_nnz_formula(range(4, 6), (3,), (1,), (1,), (0,),
    ...                        formula=lambda n, k, s, d, padding: k * (n - k)))
    False
    """
    max_cases = positive_int(max_cases, "max_cases", maximum=10**7)
    for name, values in (("sizes", sizes), ("kernels", kernels), ("strides", strides),
                         ("dilations", dilations), ("paddings", paddings)):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise TypeError(f"{name} must be a range, list or tuple of ints, got {name}={values!r}")
        if len(values) == 0:
            raise ValueError(f"{name} must not be empty (a check of nothing proves nothing), "
                             f"got {name}={values!r}")
    n_cases = (len(sizes) * len(kernels) * len(strides) * len(dilations) * len(paddings) ** 2)
    if n_cases > max_cases:
        raise ValueError(
            f"check_nnz_formula would try {n_cases:,} combinations (sizes x kernels x strides x "
            f"dilations x paddings^2), over max_cases={max_cases:,}; use shorter ranges or pass "
            f"a larger max_cases"
        )
    evaluate = formula if formula is not None else axis_nnz
    closed = sympy.lambdify((n, k, d, p), nnz_closed_form(), "math")
    cases = closed_cases = 0
    counterexample = None
    for n_, k_, s_, d_, lo, hi in itertools.product(sizes, kernels, strides, dilations,
                                                    paddings, paddings):
        if n_ + lo + hi < d_ * (k_ - 1) + 1:
            continue
        spec = ConvSpec((k_,), (n_,), stride=s_, dilation=d_, padding=((lo, hi),))
        count = int(np.count_nonzero(spec.axis_table(0) >= 0))
        cases += 1
        got = _formula_value(evaluate(n_, k_, s_, d_, (lo, hi)))
        if not got == count:   # a NaN, an infinity or 2.5 equals no count (int() would truncate)
            counterexample = {"n": n_, "k": k_, "s": s_, "d": d_, "padding": (lo, hi),
                              "formula": got, "count": count}
            break
        if formula is None and s_ == 1 and lo == hi and lo <= d_ * (k_ - 1) \
                and n_ + lo >= d_ * (k_ - 1):
            closed_cases += 1
            value = closed(n_, k_, d_, lo)
            if value != count:
                counterexample = {"n": n_, "k": k_, "d": d_, "p": lo,
                                  "closed_form": value, "count": count}
                break
    return Verdict(
        name="nnz_formula",
        statement="nnz per axis = sum_a #{o : 0 <= o s + a d - p_lo < n}, in closed form",
        holds=counterexample is None,
        method="exhaustive",
        scope=f"{cases} 1-D geometries (n in {list(sizes)}, k in {list(kernels)}, "
              f"s in {list(strides)}, d in {list(dilations)}, lo, hi in {list(paddings)}); "
              f"nnz of N-D, multi-channel convs is the product over axes times C",
        evidence={"cases": cases, "closed_form_cases": closed_cases,
                  "formula": str(nnz_formula()), "closed_form": str(nnz_closed_form())},
        counterexample=counterexample,
    )
