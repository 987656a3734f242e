"""Adaptivity to input size: the same weights define a conv for every input size."""

from __future__ import annotations

import numpy as np

from ..matrices import DEFAULT_MAX_BYTES, conv_matrix
from ..operators import conv_operator
from ..verdict import Verdict, within, worst_entry
from ..validation import as_tolerance, check_budget
from ..weights import conv_arguments
from ._common import as_matrix, describe, positive_int
from .sharing import check_sharing

__all__ = ["check_adaptivity"]


def _default_sizes(spatial):
    sizes = [spatial, tuple(n + 1 for n in spatial), tuple(n + 3 for n in spatial),
             tuple(2 * n for n in spatial)]
    return list(dict.fromkeys(sizes))


def _sizes(sizes, ndim):
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a list of spatial sizes (tuples of {ndim} ints), "
                        f"got sizes={sizes!r}")
    out = []
    for size in sizes:
        if isinstance(size, (str, bytes)) or not hasattr(size, "__iter__"):
            raise TypeError(f"sizes must be a list of spatial sizes (tuples of {ndim} ints), "
                            f"got the entry {size!r} in sizes={sizes!r}")
        size = tuple(size)
        if len(size) != ndim or not all(
                isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in size):
            raise ValueError(f"every entry of sizes must be {ndim} ints (the spatial size), "
                             f"got {size!r} in sizes={sizes!r}")
        out.append(tuple(int(n) for n in size))
    if not out:
        raise ValueError("sizes must hold at least one spatial size (a check of nothing "
                         "proves nothing), got sizes=[]")
    return out


def check_adaptivity(weight, input_shape, sizes=None, *, builder=None, operator=None,
                     n_samples: int = 2, seed: int = 0, rtol: float = 1e-12, **conv) -> Verdict:
    """Check that one set of weights gives a conv of every input size.

    For each spatial size, (1) the matrix (from :func:`convtheory.conv_matrix`,
    or ``builder``) must have the shape the geometry predicts and be ``sum_k
    w_k B_k`` for that size's taps (:func:`check_sharing`'s ``weights_tied``,
    exact up to rounding): the same ``C_out*C_in/groups*prod(k)`` weights,
    read at every size; and (2) the matrix-free operator (from
    :func:`convtheory.conv_operator`, or ``operator``), a separate code path,
    must agree with that matrix on random inputs.

    Parameters
    ----------
    weight, input_shape, **conv
        As in :func:`convtheory.conv_matrix`, or a ``ConvSpec``.
    sizes : list of tuple of int, optional
        Spatial input sizes; default: the given size, +1, +3 and doubled.
    builder : callable, optional
        ``spatial size -> matrix``, to check instead of ``conv_matrix``.
    operator : callable, optional
        ``spatial size -> LinearOperator`` (anything with ``@``), to check
        instead of ``conv_operator(..., method="direct")``.
    n_samples : int
        Random inputs per size for the operator comparison, at least 1 and at
        most 10,000; they are drawn at once, within ``DEFAULT_MAX_BYTES``.
    seed : int
    rtol : float
        Allowed operator error, relative to ``max(max|M x|, 1)`` (default
        1e-12: the two paths sum the same products in different orders).

    Returns
    -------
    Verdict
        Method ``exhaustive`` (every entry of every size's matrix; the
        operator comparison is sampled).  Evidence: one row per size, with
        ``operator_max_error``; ``parameters`` (the weight count, the
        same at every size by construction).  Counterexample: the first
        size whose matrix has the wrong shape, is not tied to the weights, or
        disagrees with the operator.

    Examples
    --------
    >>> v = check_adaptivity(np.ones((4, 3, 3, 3)), (3, 8, 8), padding=1)
    >>> bool(v), [row["matrix_shape"] for row in v.evidence["sizes"]][:2]
    (True, [(256, 192), (324, 243)])
    >>> v.evidence["parameters"]
    108
    """
    w, spec = conv_arguments(weight, input_shape, **conv)
    if w.dtype == object:
        raise TypeError("check_adaptivity needs numeric weights")
    if builder is not None and not callable(builder):
        raise TypeError(f"builder must be callable, got {type(builder).__name__}")
    if operator is not None and not callable(operator):
        raise TypeError(f"operator must be callable, got {type(operator).__name__}")
    n_samples = positive_int(n_samples, "n_samples")
    rtol = as_tolerance(rtol, "rtol")
    rng = np.random.default_rng(seed)
    sizes = _default_sizes(spec.input_spatial) if sizes is None else _sizes(sizes, spec.ndim)
    # The random inputs and both products of the largest size, held at once.
    largest = max(spec.with_input((spec.in_channels,) + size).matrix_shape[0]
                  + spec.in_channels * int(np.prod(size, dtype=object)) for size in sizes)
    check_budget(3 * 8 * n_samples * largest, DEFAULT_MAX_BYTES,
                 f"check_adaptivity with n_samples={n_samples}",
                 "use fewer n_samples or smaller sizes")
    rows, counterexample = [], None
    for size in sizes:
        spec_n = spec.with_input((spec.in_channels,) + size)
        M = conv_matrix(w, spec_n) if builder is None else builder(size)
        shape = tuple(getattr(M, "shape", ()))
        row = {"input_shape": spec_n.input_shape, "output_shape": spec_n.output_shape,
               "matrix_shape": spec_n.matrix_shape}
        if shape != spec_n.matrix_shape:
            row.update(found_shape=shape, ok=False)
            failure = {"input_shape": spec_n.input_shape, "matrix_shape": shape,
                       "expected_shape": spec_n.matrix_shape}
        else:
            M = as_matrix(M, spec_n)
            sharing = check_sharing(w, spec_n, matrix=M, symbolic=False)
            tied = bool(sharing.evidence["weights_tied"])
            op = conv_operator(w, spec_n, method="direct") if operator is None else operator(size)
            X = rng.standard_normal((spec_n.matrix_shape[1], n_samples))
            MX = M @ X
            product = op @ X
            OX = np.asarray(product)
            if OX.dtype.kind not in "biufc" or OX.shape != MX.shape:
                raise TypeError(f"operator({size}) @ X must be a numeric array of shape "
                                f"{MX.shape}, got {type(product).__name__} of shape {OX.shape}")
            with np.errstate(invalid="ignore", over="ignore"):   # inf - inf: NaN, fails below
                diff = MX - OX
            err, _ = worst_entry(diff)
            scale, _ = worst_entry(MX)
            # A non-finite M x makes scale non-finite; within() then fails on that entry.
            agrees = within(diff, rtol * max(scale, 1.0)) if np.isfinite(scale) else False
            row.update(nnz=int(M.nnz), weights_tied=tied, operator_max_error=err,
                       ok=tied and agrees)
            failure = None if tied and agrees else {
                "input_shape": spec_n.input_shape,
                "sharing_counterexample": None if tied else sharing.counterexample,
                "operator_max_error": err}
        rows.append(row)
        if failure is not None and counterexample is None:
            counterexample = failure
    return Verdict(
        name="adaptivity",
        statement="the same weights define a conv (matrix and operator) of every input size",
        holds=counterexample is None, method="exhaustive",
        scope=f"{describe(spec)}; spatial sizes {sizes}",
        evidence={"sizes": rows, "parameters": spec.n_weights},
        counterexample=counterexample,
    )
