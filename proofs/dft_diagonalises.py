"""The DFT diagonalises every circulant: ``F C F^-1 = diag(lambda)``.

Exact for small ``n``: ``omega`` is kept as a symbol, every entry of
``F C - Lambda F`` is reduced modulo ``omega^n - 1`` (so the identity holds
for *every* n-th root of unity), and ``F conj(F) = n I`` is reduced modulo the
cyclotomic polynomial ``Phi_n`` (so ``F`` is invertible for a *primitive*
root).  Numeric for large ``n`` against ``scipy.linalg.dft``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import sympy

from convtheory import Certificate, conv_matrix, kernel_symbols

from ._util import stopwatch

__all__ = ["prove"]

STATEMENT = ("For the circular cross-correlation C with kernel c (y[i] = sum_m c[m] x[(i+m) mod n]) "
             "and F[j, k] = omega^(jk), omega = exp(-2 pi i / n): F C F^-1 = diag(lambda) with "
             "lambda_j = sum_m c[m] omega^(-jm), the DFT of c at frequency -j (its conjugate for "
             "real c); true convolution (flip=True) gives the DFT of c itself.")

ARGUMENT = (
    "All n: (F C)[j, l] = sum_i omega^(ji) c[(l - i) mod n] = sum_m c[m] omega^(j(l - m)) "
    "= omega^(jl) lambda_j = (Lambda F)[j, l], using omega^n = 1 to reduce exponents mod n; "
    "and (F conj(F))[j, l] = sum_k omega^((j - l)k) = n [j = l] because omega is a primitive "
    "n-th root (geometric sum).  Checked by sympy for each listed n: every entry of "
    "F C - Lambda F is 0 modulo omega^n - 1, and F conj(F) - n I is 0 modulo the cyclotomic "
    "polynomial Phi_n(omega), with C = conv_matrix(symbolic kernel, circular).  Numeric: "
    "max |F C F^-1 - diag(lambda)| relative to max |lambda| for random kernels at the large n."
)


def _exact(n: int, sign: int = -1) -> bool:
    """Exact check at size n; ``sign=+1`` uses the wrong eigenvalues (tests see it fail)."""
    w = sympy.Symbol("omega")
    c = kernel_symbols((n,), name="c")
    C = sympy.Matrix(conv_matrix(c, (n,), padding=((0, n - 1),), padding_mode="circular"))
    F = sympy.Matrix(n, n, lambda j, k: w ** ((j * k) % n))
    lam = [sum(c[m] * w ** ((sign * j * m) % n) for m in range(n)) for j in range(n)]
    D = F * C - sympy.diag(*lam) * F
    period = w ** n - 1
    ok = all(sympy.rem(sympy.expand(e), period, w) == 0 for e in D)
    Fbar = sympy.Matrix(n, n, lambda j, k: w ** ((-j * k) % n))
    phi = sympy.cyclotomic_poly(n, w)
    G = F * Fbar - n * sympy.eye(n)
    return ok and all(sympy.rem(sympy.expand(e), phi, w) == 0 for e in G)


def _numeric(n: int, seed: int) -> float:
    c = np.random.default_rng(seed).standard_normal(n)
    C = conv_matrix(c, (n,), padding=((0, n - 1),), padding_mode="circular").toarray()
    F = scipy.linalg.dft(n)
    lam = np.fft.ifft(c) * n  # sum_m c[m] omega^(-jm), omega = exp(-2 pi i / n)
    D = F @ C @ F.conj().T / n
    return float(np.max(np.abs(D - np.diag(lam))) / np.max(np.abs(lam)))


def prove(sizes=range(2, 9), numeric_sizes=(64, 256), tol=1e-12) -> Certificate:
    """Certify ``F C F^-1 = diag(lambda)``: exactly for ``sizes``, numerically for ``numeric_sizes``.

    Examples
    --------
    >>> c = prove(sizes=(2, 3, 4), numeric_sizes=(16,))
    >>> bool(c), c.details["exact"]
    (True, {'2': True, '3': True, '4': True})
    """
    details = {"exact": {}, "numeric_relative_error": {}}
    with stopwatch() as elapsed:
        for n in sizes:
            details["exact"][str(n)] = _exact(n)
        for i, n in enumerate(numeric_sizes):
            details["numeric_relative_error"][str(n)] = _numeric(n, seed=1000 + i)
    holds = all(details["exact"].values()) and all(
        e <= tol for e in details["numeric_relative_error"].values())
    return Certificate(
        theorem="dft_diagonalises_circulants",
        statement=STATEMENT,
        assumptions=("omega a primitive n-th root of unity", "circular padding, stride 1"),
        sizes=f"exact: n = {', '.join(map(str, sizes))}; numeric (tol {tol:g}): "
              f"n = {', '.join(map(str, numeric_sizes))}",
        method="symbolic", holds=holds, details=details, argument=ARGUMENT, seconds=elapsed(),
    )
