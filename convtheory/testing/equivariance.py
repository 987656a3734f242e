"""Black-box equivariance assertions for any callable ``f: ndarray -> ndarray``.

The claim ``f(T_in x) == T_out f(x)`` is tested on random inputs: the error
map ``|f(T_in x) - T_out f(x)|`` per sample and output position
(:func:`equivariance_error`) is compared with ``atol + rtol * |T_out f(x)|``.
Shifts are cyclic (:func:`~convtheory.transforms.cyclic_shift`); with
``mode="interior"`` only the outputs whose receptive field stays inside the
input, before and after the shift, are compared, which is the honest question
for zero, reflect or replicate padding.  Receptive fields are read off a
:class:`~convtheory.spec.ConvSpec`'s tap tables, or inferred from the
black box by probing it with impulses (:func:`receptive_field_map`).
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass

import numpy as np

from ..receptive_field_map import ReceptiveFieldMap
from ..spec import ConvSpec
from ..validation import MAX_SAMPLES, as_count, as_tolerance, check_budget
from ..validation import as_int as _as_int, as_shape as _as_shape
from ..transforms import cyclic_shift, flip, rot90
from ..verdict import as_compared
from .failures import EquivarianceAssertionError

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
#: Default memory budget of the assertions (2 GiB, as :func:`~convtheory.conv_matrix`).
DEFAULT_MAX_BYTES = 2 * 1024**3
#: Default ceiling on the calls :func:`receptive_field_map` makes (two per spatial position).
DEFAULT_MAX_CALLS = 2**15


def estimate_bytes(input_shape, samples: int = 3) -> int:
    """Bytes an assertion holds for ``samples`` float64 inputs of ``input_shape``.

    The inputs, and per sample the error and reference maps, assuming
    ``f``'s output is no larger than its input; plus one transformed input
    and one output in flight.

    Examples
    --------
    >>> estimate_bytes((8, 8), samples=3) == 8 * 64 * (3 * 3 + 2)
    True
    """
    n = math.prod(_as_shape(input_shape, "input_shape"))
    return 8 * n * (3 * samples + 2)


def _check_budget(name, input_shape, samples, max_bytes) -> None:
    """Refuse, before drawing a single input, work over ``max_bytes``."""
    check_budget(estimate_bytes(input_shape, samples), max_bytes,
                 f"{name} with {samples} sample(s) of input_shape={tuple(input_shape)}",
                 "equivariance shows at any size a few receptive fields wide: use a smaller "
                 "input_shape, fewer samples, or pass a larger max_bytes")


# --------------------------------------------------------------------------
# Receptive fields
# --------------------------------------------------------------------------


def receptive_field_map(f, input_shape, *, ndim: int | None = None, seed: int = 0,
                        max_calls: int = DEFAULT_MAX_CALLS,
                        max_bytes: int = DEFAULT_MAX_BYTES) -> ReceptiveFieldMap:
    """Infer the receptive fields of a black box by probing it with impulses.

    Each input position (all leading batch and channel entries at once) is
    pushed up, then down, by a large amount, and the output positions that
    move are its dependents.  Costs ``2 * prod(spatial input)`` calls of
    ``f``; pass :meth:`ReceptiveFieldMap.from_spec` instead when the geometry is
    known.

    Parameters
    ----------
    f : callable
        ``ndarray -> ndarray``; the trailing ``ndim`` axes of input and
        output are spatial.
    input_shape : tuple of int
    ndim : int, optional
        Number of trailing spatial axes; default 1 for a 1-D input, else 2.
    seed : int
        Seed of the random base point.
    max_calls : int
        Refuse, before calling ``f``, when ``2 * prod(spatial input)``
        exceeds this (default :data:`DEFAULT_MAX_CALLS`).
    max_bytes : int
        Refuse, before calling ``f``, when :func:`estimate_bytes` of one
        sample exceeds this (default :data:`DEFAULT_MAX_BYTES`).

    Returns
    -------
    ReceptiveFieldMap
        ``clean`` marks the outputs whose box has the most common extent on
        every axis (the unclipped footprint; border outputs are clipped,
        folded or wrapped).  This needs an image larger than twice the
        border.

    Examples
    --------
    >>> from scipy.ndimage import correlate1d
    >>> rf = receptive_field_map(lambda x: correlate1d(x, [1.0, 2, 3], mode="constant"), (6,))
    >>> rf.lo[:, 0].tolist(), rf.hi[:, 0].tolist()
    ([0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 5, 5])
    >>> rf.clean.tolist()
    [False, True, True, True, True, False]
    """
    input_shape = _as_shape(input_shape, "input_shape")
    d = _spatial_ndim(ndim, input_shape)
    spatial = input_shape[-d:]
    calls = 2 * math.prod(spatial)
    if calls > _as_int(max_calls, "max_calls"):
        raise ValueError(
            f"receptive_field_map would call f {calls:,} times (twice per spatial position of "
            f"{spatial}), over max_calls={max_calls:,}; probe a smaller input_shape, pass the "
            f"geometry (ReceptiveFieldMap.from_spec(spec)), or raise max_calls"
        )
    _check_budget("receptive_field_map", input_shape, 1, max_bytes)
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(input_shape)
    y0 = _finite(f(x0), "f(x)")
    if y0.ndim < d:
        raise ValueError(f"f(x).shape={y0.shape} has fewer than ndim={d} spatial axes")
    out_spatial = y0.shape[-d:]
    big = 100.0 * (1.0 + np.abs(x0).max())
    lo = np.full(out_spatial + (d,), np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(out_spatial + (d,), -1, dtype=np.int64)
    for j in np.ndindex(*spatial):
        moved = np.zeros(out_spatial, dtype=bool)
        for sign in (1.0, -1.0):
            x = x0.copy()
            x[(Ellipsis,) + j] += sign * big
            y = _finite(f(x), f"f(x + impulse at {j})")
            if y.shape != y0.shape:
                raise ValueError(f"f(x + impulse at {j}).shape={y.shape} differs from "
                                 f"f(x).shape={y0.shape}")
            delta = np.abs(y - y0).reshape((-1,) + out_spatial).max(axis=0)
            # Relative to this impulse's largest response: FFT-based callables leave ~1e-16 noise.
            moved |= delta > 1e-9 * delta.max() if delta.max() > 0 else False
        lo[moved] = np.minimum(lo[moved], j)
        hi[moved] = np.maximum(hi[moved], j)
    empty = hi[..., 0] < 0
    lo[empty] = -1
    extent = np.where(empty[..., None], 0, hi - lo + 1)
    clean = ~empty
    for axis in range(d):
        values, counts = np.unique(extent[..., axis][~empty], return_counts=True)
        if len(values):
            clean &= extent[..., axis] == values[np.argmax(counts)]
    return ReceptiveFieldMap(lo, hi, clean, spatial)


# --------------------------------------------------------------------------
# The error map
# --------------------------------------------------------------------------
def _spatial_ndim(ndim, input_shape) -> int:
    if ndim is None:
        return 1 if len(input_shape) == 1 else 2
    d = _as_int(ndim, "ndim")
    if not 1 <= d <= len(input_shape):
        raise ValueError(f"ndim must be between 1 and len(input_shape)={len(input_shape)}, "
                         f"got ndim={d}")
    return d


def _check_tolerances(atol, rtol, samples) -> int:
    as_tolerance(atol, "atol")
    as_tolerance(rtol, "rtol")
    return as_count(samples, "samples", maximum=MAX_SAMPLES)


def _resolve_seed(seed) -> int:
    if seed is None:
        # A fresh seed, reported on failure so that the failure can be replayed.
        return int(np.random.SeedSequence().entropy % 2**32)
    return _as_int(seed, "seed")


def _inputs(input_shape, samples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((samples,) + tuple(input_shape))


def _finite(value, what: str) -> np.ndarray:
    """A numeric output with only finite entries: NaN would hide where an impulse arrives."""
    out = as_compared(value, what)
    if not np.all(np.isfinite(out)):
        at = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise ValueError(f"{what} holds {out[at]} at {at}; a receptive field is read from finite "
                         f"responses only")
    return out


def _errors(f, transform_in, transform_out, xs):
    """Absolute error and reference ``T_out f(x)``, stacked over samples."""
    errs, refs = [], []
    for x in xs:
        expected = as_compared(transform_out(as_compared(f(x), "f(x)")), "transform_out(f(x))")
        got = as_compared(f(transform_in(x)), "f(transform_in(x))")
        if got.shape != expected.shape:
            raise EquivarianceShapeError(
                f"f(T_in x).shape={got.shape} differs from T_out(f(x)).shape={expected.shape}; "
                f"the transforms do not match f's output"
            )
        with np.errstate(invalid="ignore", over="ignore"):   # inf - inf: NaN, and it fails
            errs.append(np.abs(got - expected))
        refs.append(np.abs(expected))
    return np.stack(errs), np.stack(refs)


class EquivarianceShapeError(ValueError):
    """The transformed output does not even have the shape of the output.

    A ``ValueError``: the transforms given do not fit ``f``, so there is no
    claim to test (a stride-2 map compared with an unstrided output shift).

    Examples
    --------
    >>> try:
    ...     equivariance_error(lambda x: x[::2], np.flip, lambda y: y[:2], (6,))
    ... except EquivarianceShapeError as err:
    ...     print(err)
    f(T_in x).shape=(3,) differs from T_out(f(x)).shape=(2,); the transforms do not match f's output
    """


def equivariance_error(f, transform_in, transform_out, input_shape, *, samples: int = 3,
                       seed: int = 0, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    r"""The error map ``|f(T_in x) - T_out f(x)|`` per sample and output position.

    Parameters
    ----------
    f : callable
        ``ndarray -> ndarray``.
    transform_in, transform_out : callable
        Act on inputs and on outputs; ``transform_out=transform_in`` asks
        for equivariance, ``transform_out=lambda y: y`` for invariance.
    input_shape : tuple of int
        Shape of one input of ``f``, batch and channel axes included where
        ``f`` expects them.
    samples : int
        Number of standard normal inputs.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same
        inputs, so a failure replays.
    max_bytes : int
        Refuse, before drawing any input, when :func:`estimate_bytes`
        exceeds this (default :data:`DEFAULT_MAX_BYTES`, 2 GiB).

    Returns
    -------
    err : (samples, \*f(x).shape) ndarray
        Zero everywhere exactly when ``f`` commutes with the transforms on
        these inputs.  ``err.max(axis=0)`` is the map to plot.

    Examples
    --------
    A zero-padded correlation commutes with a cyclic shift except where the
    receptive field crosses the border:

    >>> from scipy.ndimage import correlate1d
    >>> from convtheory.transforms import cyclic_shift
    >>> f = lambda x: correlate1d(x, [1.0, -1.0, 2.0], mode="constant")
    >>> shift = lambda x: cyclic_shift(x, 1)
    >>> err = equivariance_error(f, shift, shift, (8,))
    >>> (err.max(axis=0) > 1e-12).astype(int).tolist()
    [1, 1, 0, 0, 0, 0, 0, 1]
    """
    input_shape = _as_shape(input_shape, "input_shape")
    samples = _check_tolerances(0.0, 0.0, samples)
    for name, t in (("f", f), ("transform_in", transform_in), ("transform_out", transform_out)):
        if not callable(t):
            raise TypeError(f"{name} must be callable, got {type(t).__name__}")
    _check_budget("equivariance_error", input_shape, samples, max_bytes)
    xs = _inputs(input_shape, samples, _resolve_seed(seed))
    err, _ = _errors(f, transform_in, transform_out, xs)
    return err


# --------------------------------------------------------------------------
# The assertions
# --------------------------------------------------------------------------
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
