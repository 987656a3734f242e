"""What breaks a matrix structure, and how the recognisers read a matrix's entries.

The structure recognisers (:mod:`convtheory.toeplitz`,
:mod:`convtheory.kernel_recovery`) answer with a
:class:`~convtheory.verdict.Verdict` whose ``counterexample`` is a
:class:`StructureBreach`: the first entry, in row-major order, that breaks
the structure, what the structure demands there and why.  They read dense
arrays and scipy sparse matrices alike through the helpers here: a canonical
CSR (or 2-D ndarray) form, the stored entries in row-major order, values at
given positions, and the tolerance ``atol + rtol * max|M|`` over the finite
entries, so that a NaN or an infinity breaks the structure instead of
loosening the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .validation import as_tolerance

__all__ = ["BREACH_REASONS", "StructureBreach"]

#: What can break a structure.  ``"tie broken"``: the entry differs from the
#: other positions that share its value (its diagonal, or its weight);
#: ``"outside support"``: a nonzero where the structure has none;
#: ``"fold inconsistent"``: a reflect/replicate entry that is not the sum of
#: the weights folded onto it.
#: ``"not finite"``: a NaN or an infinity, which equals no weight and breaks every structure.
BREACH_REASONS = ("tie broken", "outside support", "fold inconsistent", "not finite")


@dataclass(frozen=True)
class StructureBreach:
    """The first entry of a matrix that breaks a structure.

    Attributes
    ----------
    row, col : int
        Position of the entry in the matrix.
    expected : scalar
        The value the structure demands there.
    found : scalar
        The value the matrix holds.
    reason : str
        One of :data:`BREACH_REASONS`.
    detail : str
        Which tie or fold the entry belongs to, in words.

    Examples
    --------
    >>> b = StructureBreach(0, 2, 1.0, 0.5, "tie broken", "weight (0, 0, 1)")
    >>> str(b)
    'entry (0, 2): expected 1.0, found 0.5 (tie broken: weight (0, 0, 1))'
    """

    row: int
    col: int
    expected: object
    found: object
    reason: str
    detail: str = ""

    def __post_init__(self):
        if self.reason not in BREACH_REASONS:
            raise ValueError(f"reason must be one of {BREACH_REASONS}, got reason={self.reason!r}")

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return (f"entry ({self.row}, {self.col}): expected {self.expected!r}, "
                f"found {self.found!r} ({self.reason}{detail})")


# --------------------------------------------------------------------------
# Matrix access shared by the recognisers
# --------------------------------------------------------------------------
def _as_matrix(M, name: str = "M"):
    """A canonical CSR array, or a 2-D ndarray; refuse anything else by kind."""
    if sp.issparse(M):
        if M.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got {name}.shape={M.shape}")
        M = sp.csr_array(M)
        M.sum_duplicates()
        return M
    if not isinstance(M, np.ndarray) and not isinstance(M, (list, tuple)):
        raise TypeError(f"{name} must be an ndarray or a scipy sparse matrix, "
                        f"got {type(M).__name__}")
    arr = np.asarray(M)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {name}.shape={arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def _as_sparse(M):
    """CSR of the nonzeros: work and memory then scale with nnz, not with the m x n positions."""
    M = _as_matrix(M)
    return M if sp.issparse(M) else sp.csr_array(M)


def _stored(M):
    """Rows, columns and values of the entries the matrix stores (all, if dense), row-major."""
    if sp.issparse(M):
        rows = np.repeat(np.arange(M.shape[0], dtype=np.int64), np.diff(M.indptr))
        return rows, M.indices.astype(np.int64), M.data
    rows, cols = np.indices(M.shape, dtype=np.int64)
    return rows.ravel(), cols.ravel(), M.ravel()


def _values_at(M, rows, cols):
    """``M[rows, cols]`` for index arrays; zero where a sparse matrix stores nothing."""
    if not sp.issparse(M):
        return M[rows, cols]
    stored_rows, stored_cols, data = _stored(M)
    n = M.shape[1]
    keys = stored_rows * n + stored_cols  # sorted: canonical CSR is row-major
    want = np.asarray(rows, dtype=np.int64) * n + np.asarray(cols, dtype=np.int64)
    if len(want) == len(keys) and np.array_equal(want, keys):
        return data.copy()   # asked for exactly the stored pattern: no search
    pos = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
    hit = (keys[pos] == want) if len(keys) else np.zeros(len(want), dtype=bool)
    out = np.zeros(len(want), dtype=data.dtype if len(data) else np.float64)
    out[hit] = data[pos[hit]]
    return out


def _tolerance(M, atol: float, rtol: float) -> float:
    atol, rtol = as_tolerance(atol, "atol"), as_tolerance(rtol, "rtol")
    data = M.data if sp.issparse(M) else M
    # The scale of the finite entries: a NaN or an infinity must not make the tolerance NaN or
    # infinite (then every entry, or none, would pass); it breaks the structure by itself.
    finite = np.abs(data[np.isfinite(data)])
    scale = float(np.max(finite)) if finite.size else 0.0
    return float(atol) + float(rtol) * scale


def _first_not_finite(M):
    """``(row, col, value)`` of the first NaN or infinite entry, row-major, or None."""
    rows, cols, vals = _stored(M)
    bad = np.flatnonzero(~np.isfinite(vals))
    if not len(bad):
        return None
    return int(rows[bad[0]]), int(cols[bad[0]]), _scalar(vals[bad[0]])


def _not_finite_breach(M, expected_name: str):
    found = _first_not_finite(M)
    if found is None:
        return None
    r, c, value = found
    return StructureBreach(r, c, expected_name, value, "not finite",
                           "NaN and infinity equal no value, so no structure holds with them")


def _magnitude(value) -> float:
    """``|value|`` of a non-finite entry, for the evidence: NaN stays NaN."""
    return float(np.abs(value))


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v
