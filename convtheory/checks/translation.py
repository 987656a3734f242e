"""Translation equivariance: conv commutes with shifts that are multiples of the stride.

Exact for circular padding; zero padding breaks it only at border outputs
whose receptive field leaves the image.
"""

from __future__ import annotations

import numpy as np
import sympy

from ..matrices import DEFAULT_MAX_BYTES
from ..receptive_field_map import ReceptiveFieldMap
from ..transforms import cyclic_shift
from ..verdict import Verdict, exceeds, within, worst_entry
from ..weights import conv_arguments
from ._common import describe, positive_int, unravel
from ._shifts import (
    MAX_OUTPUT_SHIFTS,
    _search_output_shifts,
    _search_scope,
    _shift,
    _shift_matrix,
)
from .commutator import _first_entry, _matrix, _max_error, _row_error, commutator

__all__ = ["MAX_OUTPUT_SHIFTS", "check_translation_equivariance"]


def check_translation_equivariance(weight, input_shape, shift, *, matrix=None, symbolic=False,
                                   max_output_shifts: int = MAX_OUTPUT_SHIFTS,
                                   max_bytes=DEFAULT_MAX_BYTES, **conv) -> Verdict:
    r"""Check ``conv(shift x) == shift'(conv x)`` for every input, with ``shift' = shift / stride``.

    The input is shifted cyclically (:func:`convtheory.transforms.cyclic_shift`)
    by ``shift`` (one integer per spatial axis), the output by
    ``shift // stride``; the identity ``M S_in = S_out M`` is checked on the
    whole matrix.  When ``shift`` is not a multiple of the stride there is no
    predicted output shift: the claim becomes "*some* output shift works",
    and output shifts are tried, nearest to ``shift / stride`` first.

    Parameters
    ----------
    weight, input_shape, **conv
        As in :func:`convtheory.conv_matrix`, or a ``ConvSpec``.
    shift : int or tuple of int
        Input shift per spatial axis (an int shifts every axis by it).
    matrix : optional
        Check this matrix instead (e.g. a position-dependent "conv").
    symbolic : bool
        Build the matrix in fresh sympy symbols: the verdict then holds for
        every kernel of this geometry.
    max_output_shifts : int
        For a shift that is not a multiple of the stride, try at most this
        many output shifts; the scope says when the search was truncated.
    max_bytes : int
        Refuse at once, with advice, when the numeric check's peak memory
        (about five times :func:`~convtheory.estimate_matrix_bytes`: the
        matrix, both products and their difference) is over this (default
        2 GiB).

    Returns
    -------
    Verdict
        Evidence: ``error_map`` (max error per output position, over
        channels and inputs), ``outputs_with_error``, ``border_outputs``
        (outputs whose comparison is not border-free by
        :meth:`convtheory.receptive_field_map.ReceptiveFieldMap.interior`: the receptive
        field is clipped, folded or wrapped, leaves the image when shifted,
        or the output shift wraps around), ``interior_max_error`` and
        ``error_confined_to_border``.  For a shift that is not a multiple of
        the stride: ``output_shift`` (the one that worked, else the best),
        ``min_error_over_output_shifts``, ``output_shifts_tried`` and
        ``output_shifts_total``.  Counterexample: a basis input ``e_j`` and
        the output where the two sides differ.

    Notes
    -----
    * circular padding, stride 1: ``S M = M S`` exactly (a circulant);
    * zero padding: the error is zero on interior outputs and lives on the
      border outputs only;
    * stride ``s``: holds for shifts that are multiples of ``s``; for other
      shifts generic kernels fail, and ``min_error_over_output_shifts``
      shows that no output shift at all would do.

    Examples
    --------
    >>> w = np.array([1.0, -2.0, 1.0])
    >>> bool(check_translation_equivariance(w, (8,), 3, padding=1, padding_mode="circular"))
    True
    >>> v = check_translation_equivariance(w, (8,), 1, padding=1)
    >>> bool(v), v.evidence["outputs_with_error"], v.evidence["interior_max_error"]
    (False, [[0], [1], [7]], 0.0)
    >>> v.evidence["error_confined_to_border"]
    True
    >>> v = check_translation_equivariance(w, (8,), 1, stride=2, padding=1, padding_mode="circular")
    >>> bool(v), v.evidence["output_shifts_tried"], v.evidence["min_error_over_output_shifts"] > 0
    (False, 4, True)
    """
    w, spec = conv_arguments(weight, input_shape, **conv)
    shift = _shift(shift, spec.ndim, "shift")
    max_output_shifts = positive_int(max_output_shifts, "max_output_shifts")
    M = _matrix(w, spec, matrix, symbolic, max_bytes, "check_translation_equivariance")
    exact = symbolic or isinstance(M, sympy.MatrixBase)
    S_in = _shift_matrix(spec.input_shape, shift)
    divisible = all(t % s == 0 for t, s in zip(shift, spec.stride))
    method = "symbolic" if exact else "exhaustive"
    every = f"{'every kernel and ' if exact else ''}every input (M S_in = S_out M)"
    if not divisible:
        # shift' is not an integer: the claim is that some output shift makes the sides agree.
        search = _search_output_shifts(
            lambda u: _max_error(commutator(M, S_in, _shift_matrix(spec.output_shape, u))),
            shift, spec.stride, spec.output_spatial, max_output_shifts)
        holds = search["some_output_shift_works"]
        return Verdict(
            name="translation_equivariance",
            statement="conv(shift x) = shift'(conv x) for every x, for some output shift shift'",
            holds=holds, method=method,
            scope=f"{describe(spec)}; shift={shift}, not a multiple of the stride; "
                  f"{_search_scope(search)}; {every}",
            evidence={"shift": shift, "stride": spec.stride, "divisible": False, **search},
            counterexample=None if holds else {
                "reason": f"shift {shift} is not a multiple of stride {spec.stride} and no output "
                          f"shift tried works", **search},
        )
    out_shift = tuple(t // s for t, s in zip(shift, spec.stride))
    E = commutator(M, S_in, _shift_matrix(spec.output_shape, out_shift))
    n_rows = spec.matrix_shape[0]
    row_err = _row_error(E, n_rows).reshape(spec.output_shape)
    error_map = row_err.max(axis=0)
    # Border-free outputs q, moved to the row q + out_shift where the two sides are compared.
    interior = cyclic_shift(ReceptiveFieldMap.from_spec(spec).interior(shift, out_shift), out_shift)
    failing = [list(map(int, ix)) for ix in np.argwhere(exceeds(error_map, 0.0))]
    border = [list(map(int, ix)) for ix in np.argwhere(~interior)]
    interior_max, _ = worst_entry(error_map[interior])
    n_err = len(E) if isinstance(E, dict) else E.nnz
    holds = n_err == 0
    counterexample = None
    if not holds:
        r, c, size = _first_entry(E)
        counterexample = {"input_basis_index": unravel(c, spec.input_shape),
                          "output_index": unravel(r, spec.output_shape), "error": size}
    return Verdict(
        name="translation_equivariance",
        statement="conv(shift x) = shift'(conv x) for every x, shift' = shift / stride",
        holds=holds, method=method,
        scope=f"{describe(spec)}; shift={shift}, output shift={out_shift}; {every}",
        evidence={"shift": shift, "output_shift": out_shift, "stride": spec.stride,
                  "divisible": True,
                  "max_error": worst_entry(row_err)[0],
                  "error_map": error_map, "outputs_with_error": failing,
                  "border_outputs": border, "interior_max_error": interior_max,
                  "error_confined_to_border": within(interior_max, 0.0)},
        counterexample=counterexample,
    )
