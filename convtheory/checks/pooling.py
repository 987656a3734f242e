"""Pooling and shifts: equivariant for shifts that are multiples of the stride, aliased otherwise."""

from __future__ import annotations

import numpy as np

from ..matrices import DEFAULT_MAX_BYTES
from ..validation import as_callable, as_count, as_int, as_shape, as_tolerance, check_budget
from ..validation import per_axis as _per_axis
from ..transforms import cyclic_shift
from ..verdict import Verdict, as_compared, badness, within, worst_entry
from ._common import positive_int
from ._shifts import MAX_OUTPUT_SHIFTS, _search_output_shifts, _search_scope, _shift

__all__ = ["check_pooling_equivariance", "pooling_aliasing_example"]


def _pooled(pool, x) -> np.ndarray:
    return as_compared(pool(x), "pool(x)", real=True)


def check_pooling_equivariance(pool, input_shape, shift, *, stride, n_samples: int = 3,
                               seed: int = 0, atol: float = 1e-12,
                               max_output_shifts: int = MAX_OUTPUT_SHIFTS) -> Verdict:
    """Check ``pool(shift x) == shift'(pool x)`` on random inputs, ``shift' = shift / stride``.

    Pooling is nonlinear (max) or not a conv of the full input (strided
    average), so there is no matrix identity to check: random inputs are
    tried, and a pass is evidence, not proof.  When ``shift`` is not a
    multiple of the stride, the claim is that *some* output shift works for
    every sample; output shifts are tried nearest to ``shift / stride`` first.

    Parameters
    ----------
    pool : callable
        ``ndarray of input_shape -> ndarray``, e.g.
        ``lambda x: x.reshape(-1, 2).max(axis=1)``; its output keeps the
        shifted axes (trailing).
    input_shape : tuple of int
        The shift acts on the trailing ``len(shift)`` axes.
    shift : int or tuple of int
    stride : int or tuple of int
        The pool's stride, per shifted axis.
    n_samples : int
        Random inputs, at least 1.
    seed : int
    atol : float
        Largest error that counts as equal (default 1e-12: an average pool
        sums in a different order after the shift).
    max_output_shifts : int
        For a shift that is not a multiple of the stride, try at most this
        many output shifts; the scope says when the search was truncated.

    Returns
    -------
    Verdict
        Method ``sampled``.  Evidence: ``output_shift``, ``max_error``; for
        a shift that is not a multiple of the stride also
        ``min_error_over_output_shifts``, ``output_shifts_tried`` and
        ``output_shifts_total``.

    Examples
    --------
    >>> maxpool = lambda x: x.reshape(-1, 2).max(axis=1)
    >>> bool(check_pooling_equivariance(maxpool, (8,), 2, stride=2))
    True
    >>> bool(check_pooling_equivariance(maxpool, (8,), 1, stride=2))
    False
    >>> global_max = lambda x: x.max(keepdims=True)     # invariant: output shift 0 works
    >>> v = check_pooling_equivariance(global_max, (8,), 1, stride=8)
    >>> bool(v), v.evidence["output_shift"]
    (True, (0,))
    """
    if not callable(pool):
        raise TypeError(f"pool must be callable, got {type(pool).__name__}")
    n_samples = positive_int(n_samples, "n_samples")
    max_output_shifts = positive_int(max_output_shifts, "max_output_shifts")
    atol = as_tolerance(atol, "atol")
    input_shape = as_shape(input_shape, "input_shape")
    n_axes = 1 if np.ndim(shift) == 0 else len(shift)
    shift = _shift(shift, n_axes, "shift")
    stride = _per_axis(stride, n_axes, "stride", minimum=1)
    if len(input_shape) < n_axes:
        raise ValueError(f"input_shape must have at least the {n_axes} shifted axes, got "
                         f"input_shape={input_shape}")
    # Each sample's input and two pooled outputs (no larger than the input) are kept.
    check_budget(3 * 8 * n_samples * int(np.prod(input_shape, dtype=object)), DEFAULT_MAX_BYTES,
                 f"check_pooling_equivariance with n_samples={n_samples} of input_shape="
                 f"{input_shape}", "use a smaller input_shape or fewer n_samples")
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(n_samples):
        x = rng.standard_normal(input_shape)
        y, y_shifted_input = _pooled(pool, x), _pooled(pool, cyclic_shift(x, shift))
        if y.ndim < n_axes:
            raise ValueError(f"pool must keep the {n_axes} shifted axes (e.g. keepdims=True), "
                             f"its output has shape {y.shape}")
        if y_shifted_input.shape != y.shape:
            raise ValueError(f"pool must return the same shape for x and for its shift, got "
                             f"{y.shape} and {y_shifted_input.shape}")
        pairs.append((x, y, y_shifted_input))

    def sample_error(pair, u):
        _, y, ys = pair
        with np.errstate(invalid="ignore"):   # inf - inf is NaN, and NaN fails
            return worst_entry(ys - cyclic_shift(y, u))[0]

    def error_of(u):
        return max((sample_error(p, u) for p in pairs), key=badness)

    divisible = all(t % s == 0 for t, s in zip(shift, stride))
    if divisible:
        out_shift = tuple(t // s for t, s in zip(shift, stride))
        worst = error_of(out_shift)
        holds = within(worst, atol)
        evidence = {"output_shift": out_shift, "max_error": worst, "divisible": True}
        scope_tail = ""
        statement = "pool(shift x) = shift'(pool x), shift' = shift / stride"
    else:
        out_spatial = pairs[0][1].shape[pairs[0][1].ndim - n_axes:]
        search = _search_output_shifts(error_of, shift, stride, out_spatial, max_output_shifts,
                                       atol)
        holds = search["some_output_shift_works"]
        out_shift = search["output_shift"]
        evidence = {"max_error": search["min_error_over_output_shifts"], "divisible": False,
                    **search}
        scope_tail = f"; not a multiple of the stride: {_search_scope(search)}"
        statement = "pool(shift x) = shift'(pool x) for some output shift shift'"
    counterexample = None
    if not holds:
        # The sample that is furthest from agreeing under the reported output shift.
        x, y, ys = max(pairs, key=lambda p: badness(sample_error(p, out_shift)))
        counterexample = {"x": x, "pool(shift x)": ys, "shift'(pool x)": cyclic_shift(y, out_shift),
                          "output_shift": out_shift}
        if not divisible:
            counterexample["reason"] = (f"shift {shift} is not a multiple of stride {stride} and "
                                        f"no output shift tried works")
    return Verdict(
        name="pooling_equivariance", statement=statement, holds=holds, method="sampled",
        scope=f"{n_samples} random inputs of shape {tuple(input_shape)}, shift={shift}, "
              f"stride={stride}, atol={atol:g}{scope_tail}",
        evidence=evidence, counterexample=counterexample,
    )


def pooling_aliasing_example(pool=None, *, period: int = 4, length: int = 8) -> Verdict:
    """The classic aliasing example: a one-sample shift changes a pooled signal completely.

    The periodic signal ``x = [0, 0, 1, 1, 0, 0, 1, 1]`` max-pooled with
    window and stride 2 gives ``[0, 1, 0, 1]``; shifted by one sample it
    gives ``[1, 1, 1, 1]``, which is no shift of ``[0, 1, 0, 1]``
    (average pooling gives ``[0.5, 0.5, 0.5, 0.5]``).

    Parameters
    ----------
    pool : callable, optional
        Default: max pooling with window 2, stride 2.
    period, length : int

    Returns
    -------
    Verdict
        ``holds`` when the pooled output of the shifted signal equals no
        cyclic shift of the pooled original: the claim here is the
        *failure* of equivariance.

    Examples
    --------
    >>> v = pooling_aliasing_example()
    >>> bool(v), v.evidence["pool(x)"], v.evidence["pool(shift x)"]
    (True, [0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0])
    >>> avg = lambda x: x.reshape(-1, 2).mean(axis=1)
    >>> pooling_aliasing_example(avg).evidence["pool(shift x)"]
    [0.5, 0.5, 0.5, 0.5]
    """
    period = as_int(period, "period", minimum=2)
    length = as_count(length, "length", maximum=2**20)
    if pool is not None:
        as_callable(pool, "pool")
    if pool is None:
        def pool(x):
            return x.reshape(-1, 2).max(axis=1)
    x = (np.arange(length) % period >= period // 2).astype(float)
    y = _pooled(pool, x)
    y1 = _pooled(pool, cyclic_shift(x, 1))
    if y.ndim != 1 or y1.shape != y.shape:
        raise ValueError(f"pool must return a 1-D array of one shape for x and its shift, got "
                         f"{y.shape} and {y1.shape}")
    matches = [t for t in range(len(y)) if np.array_equal(y1, cyclic_shift(y, t))]
    # A NaN equals nothing, so it would make "no shift matches" hold: it fails the claim instead.
    bad = np.flatnonzero(~np.isfinite(np.r_[y, y1]))
    not_finite = {"reason": "pool returned NaN or infinity", "entry": int(bad[0] % len(y)),
                  "of": "pool(x)" if bad[0] < len(y) else "pool(shift x)"} if len(bad) else None
    return Verdict(
        name="pooling_aliasing",
        statement="a one-sample shift of a periodic signal gives a pooled output that is "
                  "no shift of the original pooled output",
        holds=not matches and not_finite is None, method="exhaustive",
        scope=f"x of period {period}, length {length}; every output shift compared",
        evidence={"x": x.tolist(), "pool(x)": y.tolist(), "pool(shift x)": y1.tolist(),
                  "matching_output_shifts": matches},
        counterexample=not_finite or ({"matching_output_shifts": matches} if matches else None),
    )
