"""What the section modules share: verdicts from measured errors."""

from __future__ import annotations

import numpy as np

from ...verdict import Verdict

__all__ = ["max_abs", "tolerance_verdict"]


def max_abs(a, b) -> float:
    """``max |a - b|`` over all entries (0 for empty arrays)."""
    diff = np.abs(np.asarray(a) - np.asarray(b))
    return float(diff.max()) if diff.size else 0.0


def tolerance_verdict(name: str, statement: str, errors: dict, *, tol: float, scope: str,
                      method: str = "numeric", extra: dict | None = None) -> Verdict:
    """A verdict that holds when every error in ``errors`` (case -> max error) is ``<= tol``.

    The worst case is the counterexample when it fails.

    Examples
    --------
    >>> v = tolerance_verdict("demo", "a == b", {"1-D": 0.0, "2-D": 1.0}, tol=1e-12, scope="two")
    >>> bool(v), v.counterexample
    (False, {'case': '2-D', 'max_error': 1.0})
    """
    worst = max(errors, key=errors.get)
    holds = errors[worst] <= tol
    evidence = {"max_error": errors[worst], "tolerance": tol, "cases": len(errors),
                "errors": dict(errors), **(extra or {})}
    counterexample = None if holds else {"case": worst, "max_error": errors[worst]}
    return Verdict(name, statement, holds, method, scope, evidence, counterexample)
