"""The equivariance error map ``|f(T_in x) - T_out f(x)|``, and the random inputs it is read on.

:func:`equivariance_error` draws standard normal inputs from a seeded
``numpy.random.default_rng`` and returns the error per sample and output
position: zero everywhere exactly when ``f`` commutes with the transforms on
those inputs.  The assertions of :mod:`convtheory.testing.equivariance` and
the impulse probing of :mod:`convtheory.testing.receptive_fields` share the
memory budget (:func:`estimate_bytes`, refused before a single input is
drawn), the seed and sample-count contract and the spatial-axis count
defined here.
"""

from __future__ import annotations

import math

import numpy as np

from ..validation import MAX_SAMPLES, as_count, as_tolerance, check_budget
from ..validation import as_int as _as_int, as_shape as _as_shape
from ..verdict import as_compared

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EquivarianceShapeError",
    "equivariance_error",
    "estimate_bytes",
]

#: Default memory budget of the assertions (2 GiB, as :func:`~convtheory.conv_matrix`).
DEFAULT_MAX_BYTES = 2 * 1024**3


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
