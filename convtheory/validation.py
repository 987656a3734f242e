"""Argument validation and memory budgets: the one contract of every public name.

Every public function of convtheory converts its arguments where they enter,
with the helpers below, so that a bad argument fails the same way everywhere:

* a **TypeError** when the argument is of the wrong kind (``stride=True``,
  ``n_samples=2.0``, ``max_bytes="1GB"``, ``spec=None``);
* a **ValueError** when it is of the right kind but a wrong value
  (``stride=0``, ``rtol=-1``, ``tol=nan``, ``max_bytes=0``).

Both messages name the argument, repeat the value given and say what is
allowed.  Booleans are never integers here: ``stride=True`` is a bug, not a
stride of 1.  Integral floats (``3.0``) are not integers either: shapes and
counts are counts.

Every count that drives a loop is bounded (:func:`as_count` takes a
``maximum``), and every large allocation is estimated first and compared with
a budget by :func:`check_budget`: one contract for ``max_bytes`` everywhere
(an int > 0), and one refusal message stating the estimate in readable units,
the budget, and what to do instead.

Examples
--------
>>> as_int(3, "stride")
3
>>> as_shape([1, 8, 8], "input_shape")
(1, 8, 8)
>>> per_axis(2, 3, "stride", minimum=1)
(2, 2, 2)
>>> as_count(5, "n_samples", maximum=100)
5
>>> as_tolerance(1e-12, "rtol")
1e-12
>>> check_budget(10 * 2**20, 2**30, "conv_matrix", "use conv_operator")
>>> check_budget(3 * 2**30, 2**30, "conv_matrix", "use conv_operator")
Traceback (most recent call last):
...
convtheory.validation.BudgetError: conv_matrix would need about 3.0 GiB, over max_bytes=1,073,741,824 (1.0 GiB); use conv_operator
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

__all__ = [
    "MAX_INT",
    "MAX_SAMPLES",
    "BudgetError",
    "as_bool",
    "as_callable",
    "as_choice",
    "as_count",
    "as_dtype",
    "as_instance",
    "as_int",
    "as_itemsize",
    "as_max_bytes",
    "as_real",
    "as_shape",
    "as_tolerance",
    "check_budget",
    "format_bytes",
    "per_axis",
]

#: Bound (exclusive) on the magnitude of every integer argument: indices are
#: computed in int64, so larger values would overflow, not fail cleanly.
MAX_INT = 2**62

#: Bound on every count of random samples a check or a test draws (n_samples,
#: linearity_pairs, samples): enough for any statistic, and never a hang.
MAX_SAMPLES = 10_000


def _kind(value) -> str:
    return type(value).__name__


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def as_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise naming ``name``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (bools and floats, even ``3.0``, are not).
    ValueError
        If ``|value| >= 2**62`` (the index arithmetic is int64), or it is
        below ``minimum`` or above ``maximum``.

    Examples
    --------
    >>> as_int(np.int64(4), "groups")
    4
    >>> as_int(True, "stride")
    Traceback (most recent call last):
    ...
    TypeError: stride must be an integer, got True of type bool
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {_kind(value)}")
    value = operator.index(value)
    if abs(value) >= MAX_INT:
        raise ValueError(f"{name} must be less than 2**62 in magnitude, got {name}={value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:,}, got {name}={value:,}")
    return value


def as_count(value, name: str, *, minimum: int = 1, maximum: int) -> int:
    """Validate a count that drives a loop or an allocation: ``minimum <= value <= maximum``.

    The ``maximum`` is required: no count is unbounded.

    Examples
    --------
    >>> as_count(2**40, "n_samples", maximum=10_000)
    Traceback (most recent call last):
    ...
    ValueError: n_samples must be <= 10,000, got n_samples=1,099,511,627,776
    """
    return as_int(value, name, minimum=minimum, maximum=maximum)


def as_shape(value, name: str, *, minimum: int = 1) -> tuple[int, ...]:
    """Validate a shape: a sequence of integers, each ``>= minimum``.

    Examples
    --------
    >>> as_shape((3, 0), "kernel_size")
    Traceback (most recent call last):
    ...
    ValueError: kernel_size[1] must be >= 1, got kernel_size=(3, 0)
    """
    if isinstance(value, (numbers.Number, str, bytes, dict, set, np.bool_)) \
            or not hasattr(value, "__iter__") or (isinstance(value, np.ndarray) and value.ndim != 1):
        raise TypeError(f"{name} must be a sequence of integers, got {value!r} of type "
                        f"{_kind(value)}")
    shape = tuple(as_int(v, f"{name}[{i}]") for i, v in enumerate(value))
    for i, v in enumerate(shape):
        if v < minimum:
            raise ValueError(f"{name}[{i}] must be >= {minimum}, got {name}={shape}")
    return shape


def per_axis(value, ndim: int, name: str, *, minimum: int) -> tuple[int, ...]:
    """Broadcast an int or validate a per-axis tuple of ints (stride, dilation).

    Examples
    --------
    >>> per_axis((1, 2), 2, "dilation", minimum=1)
    (1, 2)
    >>> per_axis((1, 2), 3, "dilation", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: dilation must be an int or a tuple of 3 ints (one per spatial axis), got dilation=(1, 2)
    """
    if _is_int(value):
        values = (as_int(value, name),) * ndim
    elif isinstance(value, (tuple, list)):
        if len(value) != ndim:
            raise ValueError(
                f"{name} must be an int or a tuple of {ndim} ints (one per spatial "
                f"axis), got {name}={value!r}"
            )
        values = tuple(as_int(v, f"{name}[{i}]") for i, v in enumerate(value))
    else:
        raise TypeError(
            f"{name} must be an int or a tuple of {ndim} ints, got {value!r} "
            f"of type {_kind(value)}"
        )
    for v in values:
        if v < minimum:
            raise ValueError(f"{name} must be >= {minimum} on every axis, got {name}={value!r}")
    return values


def as_real(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
            exclusive_minimum: bool = False, finite: bool = True) -> float:
    """Validate a finite real number (not a bool, not complex) within bounds.

    ``finite=False`` also admits ``-inf`` and ``inf`` (a fill value for max
    pooling), never NaN.

    Examples
    --------
    >>> as_real(0.9, "momentum", minimum=0, maximum=1)
    0.9
    >>> as_real(0.0, "eps", minimum=0, exclusive_minimum=True)
    Traceback (most recent call last):
    ...
    ValueError: eps must be a finite number (not NaN) > 0, got eps=0.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {_kind(value)}")
    value = float(value)
    lower = "" if minimum is None else f" {'>' if exclusive_minimum else '>='} {minimum:g}"
    upper = "" if maximum is None else f" <= {maximum:g}"
    allowed = (f"a {'finite ' if finite else ''}number (not NaN){lower}"
               f"{' and' if lower and upper else ''}{upper}")
    if math.isnan(value) or (finite and not math.isfinite(value)) \
            or (minimum is not None and (value < minimum or (exclusive_minimum and value == minimum))) \
            or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {allowed}, got {name}={value!r}")
    return value


def as_tolerance(value, name: str) -> float:
    """Validate a tolerance: a finite real number >= 0.

    Examples
    --------
    >>> as_tolerance(float("nan"), "tol")
    Traceback (most recent call last):
    ...
    ValueError: tol must be a finite number (not NaN) >= 0, got tol=nan
    """
    return as_real(value, name, minimum=0)


def as_bool(value, name: str) -> bool:
    """Validate a flag: ``True``/``False`` only (a truthy string is a bug).

    Examples
    --------
    >>> as_bool(np.True_, "flip")
    True
    >>> as_bool("no", "flip")
    Traceback (most recent call last):
    ...
    TypeError: flip must be True or False, got 'no' of type str
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} of type {_kind(value)}")
    return bool(value)


def as_choice(value, name: str, allowed: tuple) -> str:
    """Validate an option given by name: one of the strings ``allowed``.

    Examples
    --------
    >>> as_choice("fft", "method", ("direct", "fft"))
    'fft'
    >>> as_choice(1, "method", ("direct", "fft"))
    Traceback (most recent call last):
    ...
    TypeError: method must be a string, one of ('direct', 'fft'), got 1 of type int
    >>> as_choice("fast", "method", ("direct", "fft"))
    Traceback (most recent call last):
    ...
    ValueError: method must be one of ('direct', 'fft'), got method='fast'
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {tuple(allowed)}, got {value!r} of "
                        f"type {_kind(value)}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {name}={value!r}")
    return str(value)


def as_callable(value, name: str):
    """Validate a callable (a layer, a function ``ndarray -> ndarray``).

    Examples
    --------
    >>> as_callable(None, "f")
    Traceback (most recent call last):
    ...
    TypeError: f must be callable, got None of type NoneType
    """
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {value!r} of type {_kind(value)}")
    return value


def as_instance(value, cls, name: str):
    """Validate that ``value`` is a ``cls`` (a class or a tuple of classes).

    Examples
    --------
    >>> as_instance(None, dict, "spec")
    Traceback (most recent call last):
    ...
    TypeError: spec must be a dict, got None of type NoneType
    """
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise TypeError(f"{name} must be a {names}, got {value!r} of type {_kind(value)}")
    return value


def as_dtype(value, name: str, *, kinds: str = "biufc") -> np.dtype:
    """Validate a NumPy dtype (or what ``np.dtype`` accepts) of one of ``kinds``.

    Examples
    --------
    >>> as_dtype("float32", "dtype")
    dtype('float32')
    >>> as_dtype("U3", "dtype")
    Traceback (most recent call last):
    ...
    TypeError: dtype must be a numeric dtype (kind in 'biufc'), got dtype='<U3'
    """
    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a NumPy dtype, got {value!r} of type "
                        f"{_kind(value)}") from None
    if dtype.kind not in kinds:
        raise TypeError(f"{name} must be a numeric dtype (kind in {kinds!r}), got "
                        f"{name}={dtype.str!r}")
    return dtype


def as_itemsize(value, name: str = "itemsize") -> int:
    """Validate a byte count per entry: an int in ``[1, 64]``.

    Examples
    --------
    >>> as_itemsize(np.uint8(2))
    2
    >>> as_itemsize(1.5)
    Traceback (most recent call last):
    ...
    TypeError: itemsize must be an integer, got 1.5 of type float
    """
    return as_int(value, name, minimum=1, maximum=64)


def as_max_bytes(value, name: str = "max_bytes") -> int:
    """Validate a memory budget: an int > 0 (TypeError for a float, even ``inf``).

    Examples
    --------
    >>> as_max_bytes(float("inf"))
    Traceback (most recent call last):
    ...
    TypeError: max_bytes must be an integer, got inf of type float
    >>> as_max_bytes(0)
    Traceback (most recent call last):
    ...
    ValueError: max_bytes must be >= 1, got max_bytes=0
    """
    return as_int(value, name, minimum=1)


def format_bytes(n) -> str:
    """A byte count in readable binary units.

    Examples
    --------
    >>> format_bytes(512), format_bytes(3 * 2**20), format_bytes(5 * 2**40)
    ('512 bytes', '3.0 MiB', '5.0 TiB')
    """
    n = int(n)
    if n < 1024:
        return f"{n:,} bytes"
    for unit, scale in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 1024:,.1f} KiB"


class BudgetError(ValueError):
    """Raised by :func:`check_budget`: work refused because it would need more than
    ``max_bytes``.  A ``ValueError``, so callers that catch those keep working; a caller
    that can take another way (a path that fits) catches this one alone."""


def check_budget(needed, max_bytes, what: str, advice: str) -> None:
    """Refuse, before allocating, work that needs more than ``max_bytes``.

    Parameters
    ----------
    needed : int
        The estimate, in bytes, of what ``what`` would allocate.
    max_bytes : int
        The budget: an int > 0 (validated here, so every caller shares one
        contract: TypeError for the wrong kind, ValueError for a value < 1).
    what : str
        What would allocate, as the user called it (``"conv_matrix"``).
    advice : str
        What to do instead (a smaller input, a matrix-free view, a larger
        ``max_bytes``).

    Raises
    ------
    TypeError
        If ``max_bytes`` is not an integer.
    ValueError
        If ``max_bytes < 1``.
    BudgetError
        If ``needed > max_bytes`` (a ValueError); the message states the
        estimate in readable units, the budget and the advice.

    Examples
    --------
    >>> check_budget(2**20, 2**20, "im2col", "use a smaller batch")   # at the budget: fine
    >>> check_budget(0, 1.5, "im2col", "use a smaller batch")
    Traceback (most recent call last):
    ...
    TypeError: max_bytes must be an integer, got 1.5 of type float
    >>> check_budget(2**21, 2**20, "im2col", "use a smaller batch")
    Traceback (most recent call last):
    ...
    convtheory.validation.BudgetError: im2col would need about 2.0 MiB, over max_bytes=1,048,576 (1.0 MiB); use a smaller batch
    """
    max_bytes = as_max_bytes(max_bytes)
    needed = int(needed)
    if needed > max_bytes:
        raise BudgetError(f"{what} would need about {format_bytes(needed)}, over "
                         f"max_bytes={max_bytes:,} ({format_bytes(max_bytes)}); {advice}")
