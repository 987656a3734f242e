"""Thick-restart Lanczos for the top eigenpair of ``M^* M``, given products with ``M`` and ``M^*``.

Used by :mod:`convtheory.spectral_bounds` to improve a warm start (the
modulated frequency vector of :mod:`convtheory.circular_bound`): every vector
it returns gives a proven lower bound through its Rayleigh quotient.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .threads import blas_threads

__all__ = []  # private to convtheory.spectral_bounds

#: Every count bounded, even with no deadline.
MAX_LANCZOS_MATVECS = 20_000


def top_eigenvector(op, x0, *, rtol, upper, deadline, ncv=24, keep=6,
                    max_matvecs=MAX_LANCZOS_MATVECS):
    """Thick-restart Lanczos (Wu & Simon 2000) for the top eigenpair of ``M^* M``.

    Full reorthogonalisation and an explicit Rayleigh-Ritz projection at each
    restart: robust, and each step costs one product with ``M`` and one with
    ``M^*``.  Stops when the Ritz residual is below ``rtol`` relative (the
    Ritz value is then within ``rtol`` of an eigenvalue), the bracket
    ``[sqrt(theta), upper]`` is narrower than ``rtol``, the deadline passes,
    or after ``max_matvecs`` products (:data:`MAX_LANCZOS_MATVECS`).

    Returns
    -------
    u : ndarray
        The top Ritz vector (unit norm).
    count : int
        Products with ``M^* M`` spent.
    invariant : bool
        Whether it stopped because the Krylov space became invariant: its
        Ritz values are then exact, but the top one is the top eigenvalue
        only if the start vector had a component along its eigenvector.
    """
    n = x0.size
    ncv = min(ncv, n)
    keep = min(keep, ncv - 1)

    def apply(v):
        return op.rmatvec(op.matvec(v))

    # basis vectors are rows: each is contiguous, and V[:j] is one contiguous block for BLAS
    V = np.empty((ncv, n), dtype=x0.dtype)
    AV = np.empty((ncv, n), dtype=x0.dtype)
    V[0] = x0 / np.linalg.norm(x0)
    AV[0] = apply(V[0])
    j, count = 1, 1
    while True:
        while j < ncv:
            r = AV[j - 1].copy()
            with blas_threads(1):  # memory-bound GEMVs: a second thread only waits
                for _ in range(2):  # twice is enough (Kahan, Parlett)
                    r -= (V[:j].conj() @ r) @ V[:j]
                nr = np.linalg.norm(r)
            if nr <= 1e-14 * np.linalg.norm(AV[j - 1]):
                break  # invariant subspace: the Ritz values are exact
            V[j] = r / nr
            AV[j] = apply(V[j])
            j, count = j + 1, count + 1
        with blas_threads(1):
            T = V[:j].conj() @ AV[:j].T
            theta, Y = np.linalg.eigh((T + T.conj().T) / 2)
            u = Y[:, -1] @ V[:j]
            res = np.linalg.norm(Y[:, -1] @ AV[:j] - theta[-1] * u)
        top = max(theta[-1], 0.0)
        done = (res <= rtol * top or j < ncv or count >= max_matvecs
                or upper - math.sqrt(top) <= rtol * upper
                or (deadline is not None and time.perf_counter() > deadline))
        if done:
            return u, count, j < ncv
        Yk = Y[:, ::-1][:, :keep]
        with blas_threads(1):
            V[:keep] = Yk.T @ V[:j]
            AV[:keep] = Yk.T @ AV[:j]
        j = keep
