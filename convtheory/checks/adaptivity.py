"""Adaptivity to input size: the same weights define a conv for every input size."""

from __future__ import annotations

import numpy as np

from ..matrices import conv_matrix
from ..operators import conv_operator
from ..weights import conv_arguments
from ._common import as_matrix, describe
from .sharing import check_sharing
from .verdict import Verdict

__all__ = ["check_adaptivity"]


def _default_sizes(spatial):
    sizes = [spatial, tuple(n + 1 for n in spatial), tuple(n + 3 for n in spatial),
             tuple(2 * n for n in spatial)]
    return list(dict.fromkeys(sizes))


def check_adaptivity(weight, input_shape, sizes=None, *, builder=None, n_samples: int = 2,
                     seed: int = 0, **conv) -> Verdict:
    """Check that one set of weights gives a conv of every input size, with the same parameters.

    For each spatial size, the matrix (from :func:`convtheory.conv_matrix`,
    or ``builder``) must (1) have the shape the geometry predicts, (2) be
    ``sum_k w_k B_k`` for that size's taps (:func:`check_sharing`, exact),
    and (3) agree with the matrix-free operator on random inputs.  The
    parameter count never changes.

    Parameters
    ----------
    weight, input_shape, **conv
        As in :func:`convtheory.conv_matrix`, or a ``ConvSpec``.
    sizes : list of tuple of int, optional
        Spatial input sizes; default: the given size, +1, +3 and doubled.
    builder : callable, optional
        ``spatial size -> matrix``, to check instead of ``conv_matrix``.
    n_samples, seed : int

    Returns
    -------
    Verdict
        Method ``exhaustive`` (every entry of every size's matrix; the
        operator comparison is sampled).  Evidence: one row per size.

    Examples
    --------
    >>> v = check_adaptivity(np.ones((4, 3, 3, 3)), (3, 8, 8), padding=1)
    >>> bool(v), [row["matrix_shape"] for row in v.evidence["sizes"]][:2]
    (True, [(256, 192), (324, 243)])
    >>> {row["parameters"] for row in v.evidence["sizes"]}
    {108}
    """
    w, spec = conv_arguments(weight, input_shape, **conv)
    if w.dtype == object:
        raise TypeError("check_adaptivity needs numeric weights")
    if builder is not None and not callable(builder):
        raise TypeError(f"builder must be callable, got {type(builder).__name__}")
    sizes = _default_sizes(spec.input_spatial) if sizes is None else [tuple(s) for s in sizes]
    rng = np.random.default_rng(seed)
    rows, counterexample = [], None
    for size in sizes:
        spec_n = spec.with_input((spec.in_channels,) + size)
        M = conv_matrix(w, spec_n) if builder is None else as_matrix(builder(size), spec_n)
        sharing = check_sharing(w, spec_n, matrix=M, symbolic=False)
        op = conv_operator(w, spec_n, method="direct")
        X = rng.standard_normal((spec_n.matrix_shape[1], n_samples))
        err = float(np.max(np.abs(M @ X - op @ X)))
        scale = max(float(np.max(np.abs(op @ X))), 1.0)
        ok = bool(sharing) and err <= 1e-12 * scale
        rows.append({"input_shape": spec_n.input_shape, "output_shape": spec_n.output_shape,
                     "matrix_shape": spec_n.matrix_shape, "nnz": int(M.nnz),
                     "parameters": spec_n.n_weights, "operator_max_error": err, "ok": ok})
        if not ok and counterexample is None:
            counterexample = {"input_shape": spec_n.input_shape,
                              "sharing_counterexample": sharing.counterexample,
                              "operator_max_error": err}
    params = {r["parameters"] for r in rows}
    holds = counterexample is None and len(params) == 1
    return Verdict(
        name="adaptivity",
        statement="the same weights define a conv of every input size, with the same parameter count",
        holds=holds, method="exhaustive",
        scope=f"{describe(spec)}; spatial sizes {sizes}",
        evidence={"sizes": rows, "parameters": sorted(params)},
        counterexample=counterexample,
    )
