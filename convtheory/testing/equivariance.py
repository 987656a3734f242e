"""Black-box equivariance assertions for any callable ``f: ndarray -> ndarray``.

The claim ``f(T_in x) == T_out f(x)`` is tested on random inputs: the error
map ``|f(T_in x) - T_out f(x)|`` per sample and output position
(:func:`~convtheory.testing.error_map.equivariance_error`) is compared with
``atol + rtol * |T_out f(x)|``.
Shifts are cyclic (:func:`~convtheory.transforms.cyclic_shift`); with
``mode="interior"`` only the outputs whose receptive field stays inside the
input, before and after the shift, are compared, which is the honest question
for zero, reflect or replicate padding.  Receptive fields are read off a
:class:`~convtheory.spec.ConvSpec`'s tap tables, or inferred from the
black box by probing it with impulses
(:func:`~convtheory.testing.receptive_fields.receptive_field_map`).
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass

import numpy as np

from ..receptive_field_map import ReceptiveFieldMap
from ..spec import ConvSpec
from ..transforms import cyclic_shift, flip, rot90
from ..validation import as_int as _as_int, as_shape as _as_shape
# The error map, the budget and the impulse probing are their own modules; their public names
# (and EquivarianceShapeError, DEFAULT_MAX_CALLS) stay importable from here as well.
from .error_map import (
    DEFAULT_MAX_BYTES,
    EquivarianceShapeError,
    _check_budget,
    _check_tolerances,
    _errors,
    _inputs,
    _resolve_seed,
    _spatial_ndim,
    equivariance_error,
    estimate_bytes,
)
from .failures import EquivarianceAssertionError
from .receptive_fields import DEFAULT_MAX_CALLS, receptive_field_map

__all__ = [
    "ReceptiveFieldMap",
    "assert_invariant",
    "assert_rotation_equivariant",
    "assert_translation_equivariant",
    "equivariance_error",
    "estimate_bytes",
    "receptive_field_map",
]

MODES = ("circular", "interior")
DEFAULT_ATOL = 1e-9
DEFAULT_RTOL = 1e-7


@dataclass(frozen=True)
class _Case:
    name: str
    transform_in: object
    transform_out: object
    compare: object = None        # bool mask over the output (broadcast), or None for all


def _excess(err, tol, mask):
    """How far each compared error exceeds its tolerance: +inf where either is not finite.

    So a NaN or an infinity is the worst entry of a case (and the closest candidate is never
    chosen for one), while positions outside ``mask`` are not compared at all.
    """
    bad = ~np.isfinite(err) | ~np.isfinite(tol)
    with np.errstate(invalid="ignore"):
        return np.where(mask, np.where(bad, np.inf, err - tol), -np.inf)


def _assert_cases(f, input_shape, cases, *, claim, atol, rtol, samples, seed, mode_note=""):
    """Raise :class:`EquivarianceAssertionError` for the first case that fails."""
    xs = _inputs(input_shape, samples, seed)
    for case in cases:
        candidates = case if isinstance(case, list) else [case]
        results = []
        for c in candidates:
            err, ref = _errors(f, c.transform_in, c.transform_out, xs)
            mask = np.ones(err.shape[1:], dtype=bool) if c.compare is None else np.broadcast_to(
                c.compare, err.shape[1:])
            tol = atol + rtol * ref
            excess = _excess(err, tol, mask)
            results.append((float(np.max(excess)) if excess.size else -np.inf, c, err, tol, mask))
        if not any(np.any(r[4]) for r in results):
            # Comparing nothing would pass vacuously: a check that cannot fail.
            raise ValueError(
                f"no output position is border-free under {candidates[0].name} for "
                f"input_shape={tuple(input_shape)}; use a larger input_shape or a smaller shift"
            )
        excess_max, c, err, tol, mask = min(results, key=lambda r: r[0])
        if excess_max <= 0:
            continue
        excess = _excess(err, tol, mask)
        sample, *position = np.unravel_index(int(np.argmax(excess)), err.shape)
        position = tuple(int(p) for p in position)
        worst, worst_tol = float(err[(sample, *position)]), float(tol[(sample, *position)])
        failing = int(np.sum(np.any(excess > 0, axis=0)))
        compared = int(np.sum(mask))
        # NaN in an error map means "not compared": a compared NaN error is drawn as inf.
        error_map = np.where(mask, np.where(np.isfinite(err), err, np.inf).max(axis=0), np.nan)
        others = ""
        if len(candidates) > 1:
            others = f" (the closest of {len(candidates)} candidate output shifts)"
        message = (
            f"{claim} fails for {c.name}{others}: worst output position {position} "
            f"(sample {int(sample)}), |f(T x) - T' f(x)| = {worst:.3g} "
            f"> tolerance {worst_tol:.3g}; "
            f"{failing} of {compared} compared output positions fail{mode_note}. "
            f"Reproduce with seed={seed}."
        )
        raise EquivarianceAssertionError(
            message, transform=c.name, position=position, error=worst, tolerance=worst_tol,
            seed=seed, sample=int(sample), error_map=error_map, failing=failing)


def _shift_list(shifts, d: int, stride: tuple) -> list[tuple]:
    if shifts is None:
        # The smallest shifts equivariance is claimed for: one stride per axis, and all at once.
        unit = [tuple(s if a == b else 0 for b, s in enumerate(stride)) for a in range(d)]
        return unit + ([tuple(stride)] if d > 1 else [])
    if isinstance(shifts, numbers.Integral):
        shifts = [(shifts,) * d]
    elif len(shifts) and all(isinstance(s, numbers.Integral) for s in shifts):
        shifts = [tuple(shifts)]   # a flat sequence of ints is one shift, one entry per axis
    out = []
    for i, s in enumerate(shifts):
        s = (s,) if isinstance(s, numbers.Integral) else tuple(s)
        if len(s) != d:
            raise ValueError(f"shifts[{i}]={s} must have one entry per spatial axis (ndim={d})")
        out.append(tuple(_as_int(v, f"shifts[{i}]") for v in s))
    return out


def assert_translation_equivariant(f, input_shape, shifts=None, *, ndim: int | None = None,
                                   stride=1, mode: str = "circular", receptive_field=None,
                                   atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL,
                                   samples: int = 3, seed: int | None = None,
                                   max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    r"""Assert ``f(shift_t x) == shift_{t/stride} f(x)`` for cyclic shifts ``t``.

    Parameters
    ----------
    f : callable
        ``ndarray -> ndarray``.  The trailing ``ndim`` axes of its input and
        output are spatial; leading (batch, channel) axes are left alone.
    input_shape : tuple of int
        Shape of one input, batch and channel axes included where ``f``
        expects them.
    shifts : int, tuple of int, or sequence of tuples, optional
        Input shifts, one integer per spatial axis: an int shifts every
        axis by that much, a flat tuple is one shift, a list of tuples is
        several (``[(1,), (2,)]`` in 1-D).  Default: one stride
        along each axis, and along all axes at once.
    ndim : int, optional
        Number of spatial axes; default the length of the shifts, else 1
        for a 1-D input and 2 otherwise.
    stride : int or tuple of int
        The output moves by ``t / stride``.  A shift that is not a multiple
        of the stride is compared with the nearest output shifts (floor and
        ceil of ``t / stride`` per axis); a strided map should fail it.
    mode : {"circular", "interior"}
        ``"circular"`` compares every output: the claim of a circularly
        padded conv.  ``"interior"`` compares only outputs whose receptive
        field is clean and stays inside the input after the shift: the
        claim of a conv with any other padding.
    receptive_field : ReceptiveFieldMap or ConvSpec, optional
        Used by ``mode="interior"``; default: inferred by probing ``f``
        (:func:`receptive_field_map`, ``2 * prod(spatial)`` calls).
    atol, rtol : float
        An output fails when its error exceeds ``atol + rtol * |shift' f(x)|``.
    samples : int
        Random inputs per shift.
    seed : int, optional
        Seed of the inputs; a fresh one when None.  The failure message
        quotes it; the plugin's ``equivariance_seed`` fixture supplies a
        reproducible one.
    max_bytes : int
        Refuse, before calling ``f``, when :func:`estimate_bytes` exceeds
        this (default :data:`DEFAULT_MAX_BYTES`, 2 GiB).

    Raises
    ------
    EquivarianceAssertionError
        Naming the shift, the worst output position, the error and the seed.

    Examples
    --------
    >>> from scipy.ndimage import correlate
    >>> w = np.arange(9.0).reshape(3, 3)
    >>> assert_translation_equivariant(lambda x: correlate(x, w, mode="wrap"), (8, 8), seed=0)
    >>> assert_translation_equivariant(lambda x: correlate(x, w, mode="constant"), (8, 8),
    ...                                mode="interior", seed=0)
    >>> zero_padded = lambda x: correlate(x, w, mode="constant")
    >>> assert_translation_equivariant(zero_padded, (8, 8), seed=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    convtheory.testing.failures.EquivarianceAssertionError: translation equivariance fails ...
    """
    input_shape = _as_shape(input_shape, "input_shape")
    samples = _check_tolerances(atol, rtol, samples)
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    _check_budget("assert_translation_equivariant", input_shape, samples, max_bytes)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got mode={mode!r}")
    if shifts is not None and (isinstance(shifts, bool) or not isinstance(
            shifts, (numbers.Integral, tuple, list, np.ndarray))):
        raise TypeError(f"shifts must be an int, a tuple of ints (one shift) or a list of "
                        f"tuples, got shifts={shifts!r}")
    if ndim is None and shifts is not None and not isinstance(shifts, numbers.Integral):
        first = shifts[0] if len(shifts) else ()
        ndim = len(shifts) if isinstance(first, numbers.Integral) else len(first)
    d = _spatial_ndim(ndim, input_shape)
    if isinstance(stride, numbers.Integral):
        stride = (_as_int(stride, "stride"),) * d
    stride = _as_shape(stride, "stride")
    if len(stride) != d:
        raise ValueError(f"stride must have ndim={d} entries, got stride={stride}")
    spatial = tuple(input_shape)[-d:]
    if any(s > n for s, n in zip(stride, spatial)):
        raise ValueError(f"stride must be at most the input size on each spatial axis "
                         f"{spatial}, got stride={stride}")
    shift_list = _shift_list(shifts, d, stride)
    seed = _resolve_seed(seed)
    rf = None
    if mode == "interior":
        rf = receptive_field
        if rf is None:
            rf = receptive_field_map(f, input_shape, ndim=d, seed=seed, max_bytes=max_bytes)
        if isinstance(rf, ConvSpec):
            rf = ReceptiveFieldMap.from_spec(rf)
        if not isinstance(rf, ReceptiveFieldMap):
            raise TypeError(f"receptive_field must be a ReceptiveFieldMap or a ConvSpec, got "
                            f"{type(rf).__name__}")
    cases = []
    for t in shift_list:
        choices = [(t_a // s_a, -(-t_a // s_a)) for t_a, s_a in zip(t, stride)]
        outs = sorted(set(itertools.product(*choices)))
        group = []
        for u in outs:
            compare = None
            if rf is not None:
                # Compared at p = q + u: the interior mask of q, moved to where q lands.
                compare = cyclic_shift(rf.interior(t, u), u)
            group.append(_Case(f"shift {t} -> output shift {u}",
                               lambda x, t=t: cyclic_shift(x, t), lambda y, u=u: cyclic_shift(y, u),
                               compare))
        cases.append(group if len(group) > 1 else group[0])
    note = " (mode='interior': only border-free outputs compared)" if rf is not None else ""
    _assert_cases(f, input_shape, cases, claim="translation equivariance", atol=atol, rtol=rtol,
                  samples=samples, seed=seed, mode_note=note)


def assert_rotation_equivariant(f, input_shape, *, quarter_turns=(1, 2, 3), flips=(-1, -2),
                                atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL,
                                samples: int = 3, seed: int | None = None,
                                max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    r"""Assert ``f(R x) == R f(x)`` for quarter turns and mirror flips of the last two axes.

    Parameters
    ----------
    f : callable
        ``ndarray -> ndarray`` whose last two input and output axes are the
        image plane.
    input_shape : tuple of int
        At least two axes; square planes keep every rotation's shape.
    quarter_turns : sequence of int
        Counter-clockwise quarter turns to try (:func:`convtheory.transforms.rot90`),
        named as in :func:`convtheory.check_rotation_equivariance`.
    flips : sequence of int
        Axes to mirror (``-1`` left-right, ``-2`` up-down).
    atol, rtol, samples, seed, max_bytes
        As in :func:`assert_translation_equivariant`.

    Raises
    ------
    EquivarianceAssertionError
        Naming the rotation or flip, the worst output position, the error and the seed.

    Examples
    --------
    A Laplacian commutes with every symmetry of the square; a Sobel filter
    does not even commute with a quarter turn:

    >>> from scipy.ndimage import correlate
    >>> laplacian = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])
    >>> sobel = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    >>> assert_rotation_equivariant(lambda x: correlate(x, laplacian, mode="wrap"), (6, 6), seed=0)
    >>> edges = lambda x: correlate(x, sobel, mode="wrap")
    >>> assert_rotation_equivariant(edges, (6, 6), seed=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    convtheory.testing.failures.EquivarianceAssertionError: rotation equivariance fails for rot90...
    """
    input_shape = _as_shape(input_shape, "input_shape")
    samples = _check_tolerances(atol, rtol, samples)
    if len(input_shape) < 2:
        raise ValueError(f"rotations act on two axes, got input_shape={input_shape}")
    _check_budget("assert_rotation_equivariant", input_shape, samples, max_bytes)
    for i, a in enumerate(flips):
        _as_int(a, f"flips[{i}]", minimum=-len(input_shape), maximum=len(input_shape) - 1)
    cases = [_Case(f"rot90 k={_as_int(k, 'quarter_turns')}", lambda x, k=k: rot90(x, k),
                   lambda y, k=k: rot90(y, k)) for k in quarter_turns]
    cases += [_Case(f"flip axis={_as_int(a, 'flips')}", lambda x, a=a: flip(x, a),
                    lambda y, a=a: flip(y, a)) for a in flips]
    _assert_cases(f, input_shape, cases, claim="rotation equivariance", atol=atol, rtol=rtol,
                  samples=samples, seed=_resolve_seed(seed))


def assert_invariant(f, transform, input_shape, *, name: str | None = None,
                     atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL, samples: int = 3,
                     seed: int | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    r"""Assert ``f(T x) == f(x)``: the output does not see the transform.

    Parameters
    ----------
    f, transform : callable
        ``ndarray -> ndarray``; ``transform`` acts on inputs.
    input_shape : tuple of int
    name : str, optional
        How the failure message names the transform (default: its ``__name__``).
    atol, rtol, samples, seed, max_bytes
        As in :func:`assert_translation_equivariant`.

    Examples
    --------
    Global average pooling is invariant to cyclic shifts; a global maximum
    of the first row is not invariant to a quarter turn:

    >>> from convtheory.transforms import cyclic_shift
    >>> assert_invariant(np.mean, lambda x: cyclic_shift(x, (2, 3)), (5, 5), seed=0)
    >>> assert_invariant(lambda x: x[0].max(), np.rot90, (5, 5), seed=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    convtheory.testing.failures.EquivarianceAssertionError: invariance fails for rot90: ...
    """
    input_shape = _as_shape(input_shape, "input_shape")
    samples = _check_tolerances(atol, rtol, samples)
    if not callable(transform):
        raise TypeError(f"transform must be callable, got {type(transform).__name__}")
    _check_budget("assert_invariant", input_shape, samples, max_bytes)
    label = name if name is not None else getattr(transform, "__name__", repr(transform))
    _assert_cases(f, input_shape, [_Case(label, transform, lambda y: y)], claim="invariance",
                  atol=atol, rtol=rtol, samples=samples, seed=_resolve_seed(seed))
