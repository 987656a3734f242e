"""Commuting with the cyclic shift <=> circulant (1-D); with both axis shifts <=> BCCB (2-D).

The solution space of ``S A = A S`` for a fully symbolic ``A`` is computed
with ``sympy.linsolve``; it has exactly ``n`` free parameters, every solution
is circulant, and it is the space of circular convolutions with a length-``n``
kernel (``conv_matrix`` in symbols satisfies the equations and has ``n``
symbols).
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy

from convtheory import Certificate, conv_matrix, kernel_symbols
from convtheory.transforms import cyclic_shift

from ._util import source, stopwatch, symbol_matrix

__all__ = ["prove", "shift_equations"]

STATEMENT = ("An n x n matrix commutes with the cyclic shift iff it is circulant, i.e. a circular "
             "convolution; an (n1 n2) x (n1 n2) matrix commutes with both axis shifts iff it is "
             "block circulant with circulant blocks (BCCB), i.e. a 2-D circular convolution.")

ARGUMENT = (
    "All n: (S x)[i] = x[i-1], so (S A S^-1)[i, j] = A[i-1, j-1] and S A = A S iff "
    "A[i, j] = A[i+1, j+1] (indices mod n) iff A[i, j] = c[(j - i) mod n] for c = A[0, :]: "
    "a circulant, n parameters; y = A x is then y[i] = sum_m c[m] x[i + m], the circular "
    "cross-correlation with c.  2-D: commuting with S1 and S2 gives invariance under "
    "(i1, i2, j1, j2) -> (i1+1, i2, j1+1, j2) and (i1, i2+1, j1, j2+1), so A depends only on "
    "(j1 - i1 mod n1, j2 - i2 mod n2): BCCB, n1 n2 parameters.  Checked by sympy: for each "
    "listed size, linsolve of the full linear system gives exactly n (n1 n2) free parameters, "
    "the general solution satisfies the circulant (BCCB) invariance entry by entry, and "
    "conv_matrix with a symbolic full-size kernel and circular padding solves the system."
)


def shift_equations(A, shape) -> list:
    """Entries of ``S_axis A - A S_axis`` for every axis's cyclic shift by one.

    Examples
    --------
    >>> import sympy
    >>> a, b = sympy.symbols("a b")
    >>> shift_equations(sympy.Matrix([[a, b], [b, a]]), (2,))
    [0, 0, 0, 0]
    """
    N = int(np.prod(shape))
    equations = []
    for axis in range(len(shape)):
        step = tuple(int(i == axis) for i in range(len(shape)))
        src = source(lambda x: cyclic_shift(x, step), shape)
        inv = np.argsort(src)
        # (S A)[i, j] = A[src[i], j];  (A S)[i, j] = A[i, inv[j]].
        equations += [sympy.expand(A[src[i], j] - A[i, inv[j]]) for i in range(N) for j in range(N)]
    return equations


def _solve(shape):
    N = int(np.prod(shape))
    A = symbol_matrix("a", N, N)
    equations = shift_equations(A, shape)
    (solution,) = sympy.linsolve(equations, list(A))
    sol = sympy.Matrix(N, N, list(solution))
    free = set().union(*(e.free_symbols for e in solution))
    # Circulant / BCCB invariance of the general solution, entry by entry.
    grid = list(itertools.product(*(range(n) for n in shape)))
    index = {g: i for i, g in enumerate(grid)}
    invariant = all(
        sympy.expand(sol[index[gi], index[gj]]
                     - sol[index[tuple(0 for _ in shape)],
                           index[tuple((b - a) % n for a, b, n in zip(gi, gj, shape))]]) == 0
        for gi in grid for gj in grid)
    # The circular conv with a full-size symbolic kernel is a solution, with N symbols.
    w = kernel_symbols(shape, name="c")
    C = conv_matrix(w, shape, padding=tuple((0, n - 1) for n in shape), padding_mode="circular")
    conv_solves = not any(shift_equations(sympy.Matrix(C), shape))
    return len(free), invariant, conv_solves


def prove(sizes=range(2, 9), sizes_2d=((2, 2), (2, 3), (3, 3))) -> Certificate:
    """Solve ``S A = A S`` symbolically for each size and certify the circulant structure.

    Parameters
    ----------
    sizes : iterable of int
        1-D sizes ``n``.
    sizes_2d : iterable of (int, int)
        2-D sizes ``(n1, n2)`` (both axis shifts).

    Returns
    -------
    Certificate

    Examples
    --------
    >>> c = prove(sizes=(2, 3), sizes_2d=((2, 2),))
    >>> bool(c), c.details["free_parameters"]
    (True, {'2': 2, '3': 3, '2x2': 4})
    """
    details = {"free_parameters": {}, "circulant": {}, "conv_solves": {}}
    holds = True
    with stopwatch() as elapsed:
        for shape in [(n,) for n in sizes] + [tuple(s) for s in sizes_2d]:
            key = "x".join(map(str, shape))
            free, invariant, conv_solves = _solve(shape)
            details["free_parameters"][key] = free
            details["circulant"][key] = invariant
            details["conv_solves"][key] = conv_solves
            holds &= free == int(np.prod(shape)) and invariant and conv_solves
    return Certificate(
        theorem="shift_commuting_iff_circulant",
        statement=STATEMENT,
        assumptions=("cyclic shifts by one sample along each axis", "exact (symbolic) entries"),
        sizes=f"n = {', '.join(map(str, sizes))}; 2-D {', '.join('x'.join(map(str, s)) for s in sizes_2d)}",
        method="symbolic", holds=holds, details=details, argument=ARGUMENT, seconds=elapsed(),
    )
