"""Small utilities shared by the proof modules."""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
import sympy

__all__ = ["differing", "entries", "source", "stopwatch", "symbol_matrix", "to_sympy"]


@contextmanager
def stopwatch():
    """``with stopwatch() as t: ...`` then ``t()`` is the elapsed wall time in seconds."""
    start = time.perf_counter()
    end = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def symbol_matrix(name: str, rows: int, cols: int) -> sympy.Matrix:
    """A fully symbolic ``rows x cols`` matrix ``name_i_j``."""
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}_{i}_{j}"))


def to_sympy(M) -> sympy.SparseMatrix:
    """A scipy sparse 0/1 or integer matrix as an exact sympy sparse matrix."""
    coo = M.tocoo()
    data = {}
    for r, c, v in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()):
        data[(r, c)] = data.get((r, c), 0) + sympy.Integer(int(round(v)))
    return sympy.SparseMatrix(*M.shape, data)


def entries(M) -> dict:
    """Nonzero entries of a sympy matrix, expanded: ``{(row, col): expr}``."""
    out = {}
    for (r, c), v in M.todok().items():
        v = sympy.expand(v)
        if v != 0:
            out[(int(r), int(c))] = v
    return out


def differing(A, B) -> list:
    """Entries where two sympy matrices differ (after expansion), sorted."""
    a, b = entries(A), entries(B)
    return sorted(k for k in set(a) | set(b) if sympy.expand(a.get(k, 0) - b.get(k, 0)) != 0)


def source(transform, shape) -> np.ndarray:
    """``T x = x[source]`` for an entry-moving transform."""
    positions = np.arange(int(np.prod(shape))).reshape(shape)
    return np.asarray(transform(positions)).ravel()
