"""What the section modules share: verdicts from measured errors."""

from __future__ import annotations

import numpy as np

from ...verdict import Verdict, badness, within

__all__ = ["max_abs", "tolerance_verdict"]


def max_abs(a, b) -> float:
    """``max |a - b|`` over all entries (0 for empty arrays)."""
    diff = np.abs(np.asarray(a) - np.asarray(b))
    return float(diff.max()) if diff.size else 0.0


def tolerance_verdict(name: str, statement: str, errors: dict, *, tol: float, scope: str,
                      method: str = "numeric", extra: dict | None = None) -> Verdict:
    """A verdict that holds when every error in ``errors`` (case -> max error) is ``<= tol``.

    The worst case is the counterexample when it fails.  A NaN or infinite
    error is the worst of all and never within ``tol``
    (:func:`convtheory.verdict.within`).

    Examples
    --------
    >>> v = tolerance_verdict("demo", "a == b", {"1-D": 0.0, "2-D": 1.0}, tol=1e-12, scope="two")
    >>> bool(v), v.counterexample
    (False, {'case': '2-D', 'max_error': 1.0})
    >>> v = tolerance_verdict("demo", "a == b", {"1-D": 0.0, "2-D": float("nan")}, tol=1.0, scope="two")
    >>> bool(v), v.counterexample["case"]
    (False, '2-D')
    """
    if not errors:
        raise ValueError("errors must hold at least one case, got errors={}")
    worst = max(errors, key=lambda case: badness(errors[case]))
    holds = within(list(errors.values()), tol)
    evidence = {"max_error": errors[worst], "tolerance": tol, "cases": len(errors),
                "errors": dict(errors), **(extra or {})}
    counterexample = None if holds else {"case": worst, "max_error": errors[worst]}
    return Verdict(name, statement, holds, method, scope, evidence, counterexample)
