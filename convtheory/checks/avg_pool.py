"""Average pooling is a convolution: its matrix is a uniform depthwise conv up to the divisor.

:func:`check_avg_pool_is_conv`: the average pool's matrix equals the conv
matrix of a uniform depthwise kernel ``1/prod(k)`` on every row whose divisor
is ``prod(k)``; where ``count_include_pad=False`` or ``ceil_mode`` changes the
divisor, the row is that conv row scaled by ``prod(k)/divisor``, and the check
lists those outputs.
"""

from __future__ import annotations


import numpy as np
import scipy.sparse as sp

from ..matrices import conv_matrix
from ..pooling import _avg_geometry, avg_pool_matrix
from ..validation import as_tolerance
from ..verdict import Verdict

__all__ = ["check_avg_pool_is_conv"]


def check_avg_pool_is_conv(input_shape, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                           count_include_pad=True, divisor_override=None, matrix=None,
                           atol: float = 1e-12) -> Verdict:
    """Average pooling is the conv of a uniform depthwise kernel, row by row up to its divisor.

    Builds ``A = avg_pool_matrix(...)`` (or takes ``matrix``) and
    ``M = conv_matrix(w, ...)`` with ``w = 1/prod(k)`` on every channel
    (``groups = C``) and the pool's taps (:func:`~convtheory.pool_spec.pool_spec`).
    The claim: ``A[r] == M[r]`` on every row whose divisor is ``prod(k)``,
    and ``A[r] == M[r] * prod(k) / divisor(r)`` elsewhere.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, n1, ..., nd)``.
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in ``torch.nn.AvgPoolNd``.
    matrix : sparse array or ndarray, optional
        A matrix to check instead of ``avg_pool_matrix(...)``.
    atol : float

    Returns
    -------
    Verdict
        Method ``exhaustive`` (every entry).  Evidence: ``constant_divisor``
        (the pool is exactly that conv), ``rows``, ``rows_differing_from_conv``
        (the outputs where the divisor differs: ``count_include_pad=False``
        at the borders, ``ceil_mode``'s overhang), ``max_error``.

    Examples
    --------
    >>> v = check_avg_pool_is_conv((2, 6, 6), 2)
    >>> bool(v), v.evidence["constant_divisor"]
    (True, True)
    >>> v = check_avg_pool_is_conv((1, 5), 2, ceil_mode=True)   # the last window has one input
    >>> bool(v), v.evidence["constant_divisor"], v.evidence["differing_outputs"]
    (True, False, [[0, 2]])
    """
    atol = as_tolerance(atol, "atol")
    A_ref = avg_pool_matrix(input_shape, kernel_size, stride=stride, padding=padding,
                            ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                            divisor_override=divisor_override)
    channels, spatial = tuple(input_shape)[0], tuple(input_shape)[1:]
    if matrix is None:
        A = A_ref
    else:
        if not (sp.issparse(matrix) or isinstance(matrix, np.ndarray)):
            raise TypeError(f"matrix must be a scipy sparse array or an ndarray, "
                            f"got {type(matrix).__name__}")
        if tuple(matrix.shape) != A_ref.shape:
            raise ValueError(f"matrix.shape={tuple(matrix.shape)} does not match the pool's "
                             f"matrix shape {A_ref.shape}")
        kind = np.dtype(matrix.dtype).kind
        if kind not in "biufc":
            raise TypeError(f"matrix must be numeric (dtype kind in 'biufc'), got dtype "
                            f"{matrix.dtype}")
        # Keep an imaginary part: casting it away would let P + 1j*E pass as P.
        A = sp.csr_array(matrix, dtype=np.complex128 if kind == "c" else np.float64)
    spec, divisor = _avg_geometry(spatial, kernel_size, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override)
    volume = int(np.prod(spec.kernel_size))
    weight = np.full((channels, 1) + spec.kernel_size, 1.0 / volume)
    M = conv_matrix(weight, (channels,) + spec.input_spatial, stride=spec.stride,
                    padding=spec.padding, groups=channels)
    scale = np.tile(volume / divisor.ravel(), channels)
    predicted = sp.diags_array(scale) @ M
    # Compare entry by entry; NaN compares false with atol, so it lands in bad_rows.
    D = sp.csr_array(A - predicted)
    D.sum_duplicates()
    errors = np.abs(D.data)
    entry_rows = np.repeat(np.arange(A.shape[0]), np.diff(D.indptr))
    bad = ~(errors <= atol)
    bad_rows = np.unique(entry_rows[bad])
    finite = bool(np.all(np.isfinite(errors)))
    max_error = float(errors.max()) if errors.size and finite else (0.0 if finite else float("nan"))
    holds = finite and len(bad_rows) == 0
    differing = np.flatnonzero(scale != 1.0)
    out_shape = (channels,) + spec.output_spatial
    counterexample = None
    if not holds:
        r = int(bad_rows[0])
        counterexample = {"output": [int(i) for i in np.unravel_index(r, out_shape)],
                          "row_error": float(np.max(errors[entry_rows == r]))}
    return Verdict(
        name="avg_pool_is_conv",
        statement="average pooling equals the conv of a uniform depthwise kernel 1/prod(k) "
                  "where its divisor is prod(k), and that conv row scaled by prod(k)/divisor "
                  "elsewhere",
        holds=holds, method="exhaustive",
        scope=f"input {tuple(input_shape)}, kernel {spec.kernel_size}, stride {spec.stride}, "
              f"padding {tuple(p for p, _ in spec.padding)}, ceil_mode={bool(ceil_mode)}, "
              f"count_include_pad={bool(count_include_pad)}, divisor_override={divisor_override}",
        evidence={"constant_divisor": bool(len(differing) == 0), "rows": int(A.shape[0]),
                  "rows_differing_from_conv": int(len(differing)),
                  "differing_outputs": [[int(i) for i in np.unravel_index(r, out_shape)]
                                        for r in differing[:20]],
                  "divisors": sorted({float(v) for v in np.unique(divisor)}),
                  "max_error": max_error, "finite": finite},
        counterexample=counterexample,
    )
