"""The dot test: is an operator's ``rmatvec`` the adjoint of its ``matvec``?

``<A x, y> == <x, A^H y>`` on random vectors, as PyLops' ``dottest``.  It
reads any ``LinearOperator``, sparse array or dense matrix, so it sits with
the checks and returns a :class:`~convtheory.verdict.Verdict`;
:mod:`convtheory.operators` builds operators and imports no check.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from ..validation import MAX_SAMPLES, as_count, as_tolerance
from ..verdict import Verdict, badness, within

__all__ = ["dot_test"]


def _as_operator(op) -> LinearOperator:
    """``aslinearoperator`` with a message that names ``op`` when it is not a matrix."""
    if isinstance(op, LinearOperator) or sp.issparse(op):
        return aslinearoperator(op)
    arr = np.asarray(op) if not isinstance(op, (str, bytes)) else None
    if arr is None or arr.ndim != 2 or arr.dtype.kind not in "biufc":
        raise TypeError(
            f"op must be a LinearOperator, a sparse array or a 2-D numeric array, "
            f"got {type(op).__name__}"
            + ("" if arr is None else f" of dtype {arr.dtype} and shape {arr.shape}")
        )
    return aslinearoperator(arr)


def _product(apply, v, length: int, name: str) -> np.ndarray:
    """``apply(v)`` as a numeric vector of ``length`` entries, or a TypeError naming ``name``."""
    try:
        value = apply(v)
    except (TypeError, ValueError) as err:   # scipy reshapes the result: None fails there
        raise TypeError(f"op.{name} must return {length} numbers; it failed with: {err}") from err
    out = np.asarray(value)
    if out.dtype.kind not in "biufc" or out.size != length:
        raise TypeError(f"op.{name} must return {length} numbers, got {type(value).__name__}"
                        f"{'' if out.dtype == object else f' of shape {out.shape}'}")
    return out.ravel()


def dot_test(op, *, n_samples: int = 3, rtol: float = 1e-10, seed: int = 0) -> Verdict:
    """The dot test: ``<A x, y> == <x, A^H y>`` on random vectors.

    A wrong adjoint fails it with overwhelming probability; both sides are
    reported in the verdict's evidence, as PyLops' ``dottest`` prints them.

    Parameters
    ----------
    op : LinearOperator, sparse array or 2-D numeric array_like
    n_samples : int (or numpy integer)
        Random pairs ``(x, y)`` to try.
    rtol : float
        Allowed ``|lhs - rhs| / max(|lhs|, |rhs|)``.
    seed : int

    Returns
    -------
    Verdict

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse.linalg import LinearOperator
    >>> A = np.arange(6.0).reshape(2, 3)
    >>> bool(dot_test(A))
    True
    >>> wrong = LinearOperator((2, 3), matvec=lambda x: A @ x, rmatvec=lambda y: 2 * A.T @ y)
    >>> bool(dot_test(wrong))
    False
    """
    n_samples = as_count(n_samples, "n_samples", maximum=MAX_SAMPLES)
    rtol = as_tolerance(rtol, "rtol")
    A = _as_operator(op)
    m, n = A.shape
    rng = np.random.default_rng(seed)
    complex_ = np.iscomplexobj(np.empty(0, dtype=A.dtype))
    worst, sides = 0.0, []
    for _ in range(n_samples):
        x = rng.standard_normal(n)
        y = rng.standard_normal(m)
        if complex_:
            x = x + 1j * rng.standard_normal(n)
            y = y + 1j * rng.standard_normal(m)
        Ax, AHy = _product(A.matvec, x, m, "matvec"), _product(A.rmatvec, y, n, "rmatvec")
        with np.errstate(invalid="ignore", over="ignore"):   # inf - inf: NaN, fails below
            lhs = np.vdot(y, Ax)
            rhs = np.vdot(AHy, x)
            scale = max(abs(lhs), abs(rhs), np.finfo(float).tiny)
            err = abs(lhs - rhs) / scale if np.isfinite(scale) else np.nan
        sides.append((complex(lhs), complex(rhs)) if complex_ else (float(lhs.real), float(rhs.real)))
        if badness(err) > badness(worst):   # max(0.0, nan) would be 0.0
            worst = float(err)
    holds = within(worst, rtol)
    return Verdict(
        name="dot_test",
        statement="<A x, y> = <x, A^H y>: rmatvec is the adjoint of matvec",
        holds=holds,
        method="sampled",
        scope=f"{n_samples} random (x, y) pairs, shape {m}x{n}, rtol={rtol:g}",
        evidence={"max_relative_error": worst, "sides": sides},
        counterexample=None if holds else {"seed": seed, "sides": sides},
    )
