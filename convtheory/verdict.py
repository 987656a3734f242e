"""Honest results: the :class:`Verdict` of a check, the :class:`Certificate` of a proof,
and the one rule by which both compare numbers.

The rule: **a comparison holds only if every compared value is finite and
within tolerance.**  Every comparison in the checks, the structure tests and
the testing assertions goes through :func:`worst_entry`, :func:`exceeds` and
:func:`within`, so that NaN, which compares False with everything, can never
pass as agreement: ``nan <= tol`` is False, but ``nan > tol`` is False too,
and ``max(0.0, nan)`` is ``0.0``.
"""

from __future__ import annotations

import math

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

__all__ = [
    "METHODS", "Certificate", "Verdict", "as_compared", "badness", "exceeds", "json_finite",
    "jsonable", "worst_entry", "within",
]

#: How a claim was checked.  ``symbolic``: exact sympy algebra; ``exhaustive``:
#: every input of a finite family (e.g. every basis vector); ``sampled``:
#: random inputs, so a pass is evidence, not proof; ``numeric``: a
#: floating-point computation compared with a tolerance.
METHODS = ("symbolic", "exhaustive", "sampled", "numeric")


def jsonable(value: Any) -> Any:
    """Convert numpy and sympy values (recursively) into JSON-friendly ones.

    Examples
    --------
    >>> jsonable({"n": np.int64(3), "x": np.array([1.5, 2.0])})
    {'n': 3, 'x': [1.5, 2.0]}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (complex, np.complexfloating)):
        return {"real": float(value.real), "imag": float(value.imag)}
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return str(value)  # sympy expressions and anything else: their exact printed form


def _magnitudes(errors) -> np.ndarray:
    """``|errors|`` as a float array; a value that is not a number is refused by kind."""
    arr = np.asarray(errors)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"errors must be numeric, got dtype {arr.dtype}")
    return np.abs(arr).astype(np.float64, copy=False)


def exceeds(errors, tol) -> np.ndarray:
    """Mask of the entries that break ``|error| <= tol``: NaN and infinity always do.

    Parameters
    ----------
    errors : array_like of numbers
        Differences of the two sides of a comparison (or any errors).
    tol : float
        The tolerance, finite and >= 0.

    Examples
    --------
    >>> exceeds([0.0, 1e-13, 0.5, np.nan, -np.inf], 1e-12).tolist()
    [False, False, True, True, True]
    """
    e = _magnitudes(errors)
    return ~(np.isfinite(e) & (e <= tol))


def worst_entry(errors) -> tuple:
    """The worst of some errors, ``(value, index)``; NaN counts as infinitely bad.

    The first non-finite entry (in C order) wins, returned as it is (``nan``
    or ``inf``); otherwise the largest ``|error|``.  No errors at all give
    ``(0.0, None)``.

    Parameters
    ----------
    errors : array_like of numbers

    Returns
    -------
    value : float
        ``|error|`` of the worst entry: NaN or inf where one is not finite.
    index : tuple of int or None
        Its position in ``errors``.

    Examples
    --------
    >>> worst_entry([[0.1, -0.3], [0.2, 0.0]])
    (0.3, (0, 1))
    >>> worst_entry([0.1, np.nan, np.inf])
    (nan, (1,))
    >>> max(0.0, float("nan")), worst_entry([0.0, float("nan")])[0]   # why the rule lives here
    (0.0, nan)
    """
    e = _magnitudes(errors)
    if e.size == 0:
        return 0.0, None
    flat = e.ravel()
    bad = np.flatnonzero(~np.isfinite(flat))
    i = int(bad[0]) if len(bad) else int(np.argmax(flat))
    return float(flat[i]), tuple(int(j) for j in np.unravel_index(i, e.shape))


def within(errors, tol) -> bool:
    """Whether every ``|error| <= tol`` with every error finite: the one rule of a comparison.

    Examples
    --------
    >>> within([1e-13, -2e-13], 1e-12), within([1e-13, np.nan], 1e-12), within([], 0.0)
    (True, False, True)
    """
    return not bool(np.any(exceeds(errors, tol)))


def badness(value) -> float:
    """A sort key for an error: NaN ranks as infinity, so ``min`` and ``<`` never prefer it.

    Examples
    --------
    >>> min([float("nan"), 0.5], key=badness), min([0.5, float("nan")], key=badness)
    (0.5, 0.5)
    """
    value = float(value)
    return np.inf if np.isnan(value) else abs(value)


def as_compared(value, what: str, *, real: bool = False) -> np.ndarray:
    """A value a user's callable returned, about to be compared, as a numeric array.

    None, a string or any other object is a TypeError that names ``what``
    returned it: ``np.asarray(None, dtype=float)`` would be a NaN, and a NaN
    must never reach a comparison unnoticed.

    Examples
    --------
    >>> as_compared([1, 2], "f(x)").tolist()
    [1, 2]
    >>> as_compared(None, "f(x)")
    Traceback (most recent call last):
        ...
    TypeError: f(x) must be a numeric array, got NoneType of dtype object
    """
    out = np.asarray(value)
    if out.dtype.kind not in ("biuf" if real else "biufc"):
        raise TypeError(f"{what} must be a {'real ' if real else ''}numeric array, got "
                        f"{type(value).__name__} of dtype {out.dtype}")
    return out


def json_finite(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as the strings ``"nan"``, ``"inf"``, ``"-inf"``.

    Examples
    --------
    >>> json_finite({"max_error": float("nan"), "errors": [1.0, float("-inf")]})
    {'max_error': 'nan', 'errors': [1.0, '-inf']}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_finite(v) for v in value]
    return value


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got method={method!r}")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: what was claimed, how it was checked, what was found.

    A verdict is truthy exactly when the claim holds, so ``assert verdict``
    works in tests, and ``str(verdict)`` is a one-line summary.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"translation_equivariance"``.
    statement : str
        The claim, in words.
    holds : bool
        Whether the claim held over the scope checked.
    method : {"symbolic", "exhaustive", "sampled", "numeric"}
    scope : str
        Sizes or configurations covered.  A symbolic identity checked for
        n = 2..8 holds for those n only, and the scope says so.
    evidence : dict
        Figures: maximum errors, counts, formulas.
    counterexample : object or None
        An input or entry that breaks the claim, when it fails.

    Examples
    --------
    >>> v = Verdict("demo", "1 + 1 == 2", True, "exhaustive", "one case", {"max_error": 0.0})
    >>> bool(v), str(v)
    (True, 'HOLDS  demo: 1 + 1 == 2 [exhaustive; one case]')
    """

    name: str
    statement: str
    holds: bool
    method: str
    scope: str
    evidence: dict = field(default_factory=dict)
    counterexample: Any = None

    def __post_init__(self):
        _check_method(self.method)
        object.__setattr__(self, "holds", bool(self.holds))

    def __bool__(self) -> bool:
        return self.holds

    def __str__(self) -> str:
        tag = "HOLDS " if self.holds else "FAILS "
        return f"{tag} {self.name}: {self.statement} [{self.method}; {self.scope}]"

    def to_dict(self) -> dict:
        """JSON-friendly dict of every field."""
        return jsonable(asdict(self))


@dataclass(frozen=True)
class Certificate:
    """The outcome of a proof module in ``proofs/``.

    Attributes
    ----------
    theorem : str
        Short name.
    statement : str
        The theorem, in words.
    assumptions : tuple of str
    sizes : str
        The sizes covered, e.g. ``"n = 2..8"``; a symbolic check for those
        sizes is a proof for those sizes only.
    method : str
        One of :data:`METHODS`.
    holds : bool
    details : dict
        Results: solution-space dimensions, maximum errors, formulas.
    argument : str
        The argument for all sizes, where one is given, and which of its
        steps the computation checked.
    seconds : float
        Wall time of the check.

    Examples
    --------
    >>> c = Certificate("demo", "x = x", (), "n = 1", "symbolic", True)
    >>> c.to_dict()["holds"]
    True
    """

    theorem: str
    statement: str
    assumptions: tuple
    sizes: str
    method: str
    holds: bool
    details: dict = field(default_factory=dict)
    argument: str = ""
    seconds: float = 0.0

    def __post_init__(self):
        _check_method(self.method)
        object.__setattr__(self, "holds", bool(self.holds))

    def __bool__(self) -> bool:
        return self.holds

    def to_dict(self) -> dict:
        return jsonable(asdict(self))
