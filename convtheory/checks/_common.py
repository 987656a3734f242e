"""What the checks share: matrix overrides, symbolic entries, scope strings."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import sympy

from ..spec import ConvSpec
from ..taps import conv_taps
from ..validation import MAX_SAMPLES, as_count, as_int

__all__ = []

#: Above this many taps a check does not build a sympy matrix by default.
SYMBOLIC_TAP_LIMIT = 20_000


def describe(spec: ConvSpec) -> str:
    """One-line description of a geometry, for a verdict's scope."""
    opts = []
    if any(s != 1 for s in spec.stride):
        opts.append(f"stride={spec.stride}")
    if any(p != (0, 0) for p in spec.padding):
        opts.append(f"padding={spec.padding}")
    if any(d != 1 for d in spec.dilation):
        opts.append(f"dilation={spec.dilation}")
    if spec.groups != 1:
        opts.append(f"groups={spec.groups}")
    if spec.padding_mode != "zeros":
        opts.append(f"padding_mode={spec.padding_mode!r}")
    if spec.flip:
        opts.append("flip=True")
    tail = (", " + ", ".join(opts)) if opts else ""
    return f"weight {spec.weight_shape}, input {spec.input_shape}{tail}"


def as_matrix(matrix, spec: ConvSpec, name: str = "matrix"):
    """Validate a matrix override: a sympy matrix stays one, anything else becomes CSR."""
    if isinstance(matrix, sympy.MatrixBase):
        shape = matrix.shape
        out = matrix
    elif sp.issparse(matrix) or isinstance(matrix, np.ndarray):
        shape = matrix.shape
        if not np.issubdtype(matrix.dtype, np.number) or matrix.dtype == bool:
            raise TypeError(f"{name} must hold numbers, got dtype {matrix.dtype}")
        out = sp.csr_array(matrix)
        out.sum_duplicates()
    else:
        raise TypeError(
            f"{name} must be a scipy sparse array, an ndarray or a sympy matrix, "
            f"got {type(matrix).__name__}"
        )
    if tuple(shape) != spec.matrix_shape:
        raise ValueError(
            f"{name}.shape={tuple(shape)} does not match the conv's matrix shape {spec.matrix_shape}"
        )
    return out


def symbolic_entries(M) -> dict:
    """``{(row, col): expanded expression}`` of the nonzero entries of a sympy matrix."""
    out = {}
    for ij, v in M.todok().items():
        v = sympy.expand(v)
        if v != 0:
            out[tuple(int(i) for i in ij)] = v
    return out


def tap_pattern(spec: ConvSpec) -> sp.csr_array:
    """The structural pattern of the taps: entry = number of taps landing there."""
    taps = conv_taps(spec)
    P = sp.csr_array((np.ones(len(taps)), (taps.rows, taps.cols)), shape=spec.matrix_shape)
    P.sum_duplicates()
    return P


def unravel(index: int, shape) -> tuple:
    return tuple(int(i) for i in np.unravel_index(int(index), shape))


def positive_int(value, name: str, *, maximum: int = MAX_SAMPLES) -> int:
    """Validate a count that must be at least 1 (a check over nothing proves nothing)
    and at most ``maximum`` (no check loops without bound)."""
    value = as_int(value, name)
    if value < 1:
        raise ValueError(f"{name} must be >= 1 (a check of nothing proves nothing), "
                         f"got {name}={value}")
    return as_count(value, name, maximum=maximum)
