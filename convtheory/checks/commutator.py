"""The commutator of a conv matrix with an entry-moving transform, and how to read it.

A transform ``T`` that moves entries has a 0/1 matrix
(:func:`convtheory.transforms.transform_matrix`), so "conv commutes with T"
is the matrix identity ``M T_in = T_out M``: checked on every basis vector at
once, exactly (0/1 matrices only move floats), or symbolically for every
kernel.  The translation, rotation and pooling checks read their verdicts
from :func:`commutator`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import sympy

from ..matrices import DEFAULT_MAX_BYTES, conv_matrix, estimate_matrix_bytes
from ..taps import count_taps
from ..validation import as_max_bytes, check_budget
from ..verdict import worst_entry
from ..weights import kernel_symbols
from ._common import SYMBOLIC_TAP_LIMIT, as_matrix

__all__ = ["commutator"]


def _sources(T, name: str) -> np.ndarray:
    """Column of the single 1 in each row of an entry-moving 0/1 matrix."""
    if not sp.issparse(T):
        raise TypeError(f"{name} must be a scipy sparse 0/1 matrix (transform_matrix), "
                        f"got {type(T).__name__}")
    T = sp.csr_array(T)
    T.sum_duplicates()
    if not (np.all(np.diff(T.indptr) == 1) and np.all(T.data == 1)):
        raise ValueError(f"{name} must move entries: exactly one 1 per row "
                         f"(as convtheory.transforms.transform_matrix builds)")
    return T.indices


def commutator(M, T_in, T_out):
    """The commutator ``M T_in - T_out M`` of a conv matrix with an entry-moving transform.

    Parameters
    ----------
    M : csr_array or sympy matrix
    T_in, T_out : sparse 0/1 matrices
        One 1 per row, as :func:`convtheory.transforms.transform_matrix`
        builds for shifts, rotations, flips and samplings.

    Returns
    -------
    E : csr_array (exact: a 0/1 matrix only moves floats) or dict
        For a sympy ``M``, ``{(row, col): nonzero expanded expression}``.

    Examples
    --------
    >>> from convtheory.transforms import cyclic_shift, transform_matrix
    >>> M = conv_matrix(np.array([1.0, 2.0]), (4,), padding=((0, 1),),
    ...                 padding_mode="circular")
    >>> S = transform_matrix(lambda x: cyclic_shift(x, 1), (4,))   # a cyclic shift by one
    >>> commutator(M, S, S).nnz
    0
    """
    if not (sp.issparse(M) or isinstance(M, (np.ndarray, sympy.MatrixBase))) or len(M.shape) != 2:
        raise TypeError(f"M must be a 2-D scipy sparse array, ndarray or sympy matrix, got "
                        f"{type(M).__name__}")
    source_in, source_out = _sources(T_in, "T_in"), _sources(T_out, "T_out")
    n_rows, n_cols = M.shape
    if T_in.shape[0] != n_cols or T_out.shape[1] != n_rows or (n_rows, T_in.shape[1]) != (
            T_out.shape[0], n_cols):
        raise ValueError(f"M T_in - T_out M needs T_in with {n_cols} rows and T_out with "
                         f"{n_rows} columns, both sides {n_rows}x{n_cols}; got M {M.shape}, "
                         f"T_in {T_in.shape}, T_out {T_out.shape}")
    if isinstance(M, sympy.MatrixBase):
        # (M T_in)[r, source_in[i]] += M[r, i];  (T_out M)[r, c] = M[source_out[r], c].
        entries = {(int(r), int(c)): v for (r, c), v in M.todok().items()}
        left = {}
        for (r, c), v in entries.items():
            key = (r, int(source_in[c]))
            left[key] = left.get(key, 0) + v
        rows_by_source = {}
        for r, src in enumerate(source_out.tolist()):
            rows_by_source.setdefault(src, []).append(r)
        right = {}
        for (r0, c), v in entries.items():
            for r in rows_by_source.get(r0, ()):
                right[(r, c)] = v
        out = {}
        for key in set(left) | set(right):
            diff = sympy.expand(left.get(key, 0) - right.get(key, 0))
            if diff != 0:
                out[key] = diff
        return out
    with np.errstate(invalid="ignore"):   # inf - inf in a user's matrix: NaN, stored, fails
        E = sp.csr_array(M @ T_in - T_out @ M)
    E.eliminate_zeros()
    return E


#: Peak memory of an equivariance check on the whole matrix, in units of the
#: conv matrix's own estimate: M, M T_in, T_out M and their difference.
_COMMUTATOR_COPIES = 5


def _matrix(w, spec, matrix, symbolic, max_bytes=DEFAULT_MAX_BYTES, what="the check"):
    max_bytes = as_max_bytes(max_bytes)
    if matrix is not None:
        return as_matrix(matrix, spec)
    if not (symbolic or w.dtype == object):
        check_budget(_COMMUTATOR_COPIES * estimate_matrix_bytes(spec, itemsize=w.itemsize),
                     max_bytes, f"{what} on the whole {spec.matrix_shape[0]:,} x "
                     f"{spec.matrix_shape[1]:,} matrix",
                     "use a smaller input (equivariance shows at any size a few receptive "
                     "fields wide), or pass a larger max_bytes")
    if symbolic or w.dtype == object:
        n_taps = count_taps(spec)
        if n_taps > SYMBOLIC_TAP_LIMIT:
            raise ValueError(
                f"a symbolic check would build a sympy matrix with {n_taps:,} taps (limit "
                f"{SYMBOLIC_TAP_LIMIT:,}); use numeric weights with symbolic=False (exact for that "
                f"kernel) or a smaller input"
            )
        return conv_matrix(kernel_symbols(spec.weight_shape) if symbolic else w, spec)
    return conv_matrix(w, spec)


def _row_error(E, n_rows):
    """Max |error| per matrix row (1.0 where a symbolic entry is nonzero)."""
    err = np.zeros(n_rows)
    if isinstance(E, dict):
        for r, _ in E:
            err[r] = 1.0
        return err
    coo = E.tocoo()
    with np.errstate(invalid="ignore"):   # a NaN entry: np.maximum keeps it, and it fails
        np.maximum.at(err, coo.row, np.abs(coo.data))
    return err


def _max_error(E) -> float:
    """Worst entry of a commutator; NaN where one is NaN (it is stored, so it never passes)."""
    if isinstance(E, dict):
        return 1.0 if E else 0.0
    return worst_entry(E.data)[0]


def _first_entry(E):
    if isinstance(E, dict):
        r, c = min(E)
        return r, c, str(E[(r, c)])
    coo = E.tocoo()
    i = int(np.argmax(np.abs(coo.data)))
    return int(coo.row[i]), int(coo.col[i]), float(np.abs(coo.data[i]))
