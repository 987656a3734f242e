"""Kernel weights where they enter: numeric arrays or exact sympy expressions.

Every builder accepts either a numeric array (float or complex) or symbolic
weights (a sympy ``Array``/``Matrix`` or an object array of sympy
expressions).  This module converts both once, at the door, so that the rest
of the package handles exactly two kinds: a finite floating ndarray, or an
object ndarray of exact sympy expressions.
"""

from __future__ import annotations

import numpy as np
import sympy

from .spec import CONV_OPTIONS, ConvSpec
from .validation import as_shape as _as_shape

__all__ = ["MAX_KERNEL_SYMBOLS", "as_weight", "conv_arguments", "is_symbolic", "kernel_symbols"]

#: Most symbols :func:`kernel_symbols` creates: a symbolic kernel is for
#: small exact proofs, and sympy spends about 10 us and 1 KiB per symbol.
MAX_KERNEL_SYMBOLS = 100_000



def is_symbolic(weight) -> bool:
    """True when ``weight`` holds sympy objects rather than plain numbers.

    Examples
    --------
    >>> is_symbolic(kernel_symbols((3,)))
    True
    >>> is_symbolic(np.ones(3))
    False
    """
    if isinstance(weight, (sympy.NDimArray, sympy.MatrixBase, sympy.Basic)):
        return True
    arr = np.asarray(weight, dtype=object) if not isinstance(weight, np.ndarray) else weight
    return arr.dtype == object and any(isinstance(v, sympy.Basic) for v in arr.flat)


def as_weight(weight, name: str = "weight") -> np.ndarray:
    """Convert a kernel to the one numeric or one symbolic form the core uses.

    Parameters
    ----------
    weight : array_like or sympy Array/Matrix
        Numeric weights (real or complex, finite) or exact symbolic weights.

    Returns
    -------
    ndarray
        ``float64``/``float32``/complex for numeric input (integers become
        ``float64``), or an ``object`` array of sympy expressions.

    Raises
    ------
    TypeError
        For booleans, strings, or floats inside symbolic weights (use
        ``sympy.Rational`` so that results stay exact).
    ValueError
        For NaN or infinite weights.

    Examples
    --------
    >>> as_weight([[1, 2], [3, 4]]).dtype
    dtype('float64')
    >>> as_weight(sympy.Matrix([[sympy.Symbol('a'), 1]]))
    array([[a, 1]], dtype=object)
    """
    if is_symbolic(weight):
        if isinstance(weight, sympy.MatrixBase):
            arr = np.array(weight.tolist(), dtype=object)
        elif isinstance(weight, sympy.NDimArray):
            arr = np.array(weight.tolist(), dtype=object).reshape(weight.shape)
        elif isinstance(weight, sympy.Basic):
            raise TypeError(f"{name} must be an array of expressions, got the scalar {weight!r}")
        else:
            arr = np.asarray(weight, dtype=object)
        out = np.empty(arr.shape, dtype=object)
        for idx, v in np.ndenumerate(arr):
            if isinstance(v, (float, np.floating)) or (isinstance(v, sympy.Basic) and v.has(sympy.Float)):
                raise TypeError(
                    f"symbolic {name} must be exact, got the float {v!r} at index {idx}; "
                    f"use sympy.Rational or sympy.nsimplify"
                )
            out[idx] = sympy.sympify(v)
        return out
    arr = np.asarray(weight)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        raise TypeError(
            f"{name} must be a numeric or sympy array, got dtype {arr.dtype}"
        )
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{name} must be finite, got {arr[bad].item()!r} at index {bad}")
    return arr


def kernel_symbols(shape, name: str = "w") -> np.ndarray:
    """An object array of distinct, readable sympy symbols for a weight shape.

    The symbol for index ``(i, j, ...)`` is ``{name}_i_j_...``, so
    ``w_0_1_2_0`` is output channel 0, input channel 1, kernel row 2,
    column 0.  Symbols are real, so that transposes and adjoints simplify.

    Parameters
    ----------
    shape : tuple of int
    name : str

    Returns
    -------
    ndarray of sympy.Symbol, dtype object

    Examples
    --------
    >>> kernel_symbols((2, 2))
    array([[w_0_0, w_0_1],
           [w_1_0, w_1_1]], dtype=object)
    >>> kernel_symbols((1, 1, 3), name="k")[0, 0, 2]
    k_0_0_2
    """
    shape = _as_shape(shape, "shape")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier, got name={name!r}")
    count = int(np.prod(shape, dtype=object))
    if count > MAX_KERNEL_SYMBOLS:
        raise ValueError(f"kernel_symbols would create {count:,} sympy symbols for shape={shape}, "
                         f"over MAX_KERNEL_SYMBOLS={MAX_KERNEL_SYMBOLS:,} (about 1 KiB and 10 us "
                         f"each); use numeric weights for a kernel this large")
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sympy.Symbol(name + "".join(f"_{i}" for i in idx), real=True)
    return out



def conv_arguments(weight, input_shape, **conv) -> tuple[np.ndarray, ConvSpec]:
    """Validate the arguments every builder and check takes.

    Parameters
    ----------
    weight : array_like or sympy Array/Matrix
        ``(C_out, C_in/groups, k1, ..., kd)``, or ``(k1, ..., kd)`` with the
        single-channel shorthand.
    input_shape : tuple of int, or ConvSpec
        A ``ConvSpec`` replaces the shape and all conv options.
    **conv
        ``stride, padding, dilation, groups, padding_mode, flip``.

    Returns
    -------
    weight : ndarray
        Converted by :func:`as_weight` and reshaped to the full layout.
    spec : ConvSpec

    Examples
    --------
    >>> w, spec = conv_arguments(np.ones((3, 3)), (5, 5), padding=1)
    >>> w.shape, spec.output_shape
    ((1, 1, 3, 3), (1, 5, 5))
    """
    unknown = set(conv) - set(CONV_OPTIONS)
    if unknown:
        raise TypeError(f"unknown conv options {sorted(unknown)}; allowed: {sorted(CONV_OPTIONS)}")
    w = as_weight(weight)
    if isinstance(input_shape, ConvSpec):
        spec = input_shape
        given = {k: v for k, v in conv.items() if not _is_default(k, v)}
        if given:
            raise TypeError(
                f"conv options {sorted(given)} conflict with the ConvSpec given as input_shape; "
                f"use spec.replace(...) instead"
            )
        shorthand = spec.weight_shape[:2] == (1, 1) and w.shape == spec.weight_shape[2:]
        if w.shape != spec.weight_shape and not shorthand:
            raise ValueError(
                f"weight.shape={w.shape} does not match the spec's weight_shape={spec.weight_shape}"
            )
    else:
        _refuse_batched(w.shape, input_shape, conv.get("groups", 1))
        spec = ConvSpec(w.shape, input_shape, **conv)
    return w.reshape(spec.weight_shape), spec


def _refuse_batched(weight_shape, input_shape, groups) -> None:
    """Refuse an input shape that reads both as the single-channel shorthand and as a batch.

    ``weight (C_out, C_in, k1, ..., kd)`` with ``input_shape (N, C_in, n1,
    ..., nd)`` has as many axes as a ``(d+2)``-D single-channel conv, which
    the shorthand would silently build.  From 2-D convs up (4 axes: a 4-D
    single-channel conv is rare, and can be written unambiguously with unit
    channel axes) such a shape is refused.  Three axes stay the 3-D
    shorthand, as common as PyTorch's ``Conv3d``.
    """
    if isinstance(input_shape, (tuple, list)) and len(input_shape) == len(weight_shape) >= 4 \
            and isinstance(groups, int) and not isinstance(groups, bool) \
            and input_shape[1] == weight_shape[1] * groups:
        raise ValueError(
            f"input_shape={tuple(input_shape)} looks batched: input_shape is (C_in, n1, ...) "
            f"without the batch axis, here {tuple(input_shape[1:])} for weight.shape="
            f"{tuple(weight_shape)}; for a single-channel conv with {len(weight_shape)} spatial "
            f"axes, pass weight[None, None] and input_shape (1,) + input_shape")


def _is_default(key, value) -> bool:
    default = CONV_OPTIONS[key]
    return type(value) is type(default) and value == default
