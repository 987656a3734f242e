"""Blurring reduces aliasing without removing it: shift consistency of max, average and blur pools.

:func:`check_shift_consistency`: Zhang (2019)'s measure of aliasing ("Making
Convolutional Networks Shift-Invariant Again", ICML 2019), the fraction of
one-sample input shifts after which the pooled output is still (within a
tolerance) a shift of the original pooled output, for max, average and blur
pooling on the same inputs.  The claim is that blurring raises it without
making it 1: it reduces aliasing, it does not remove it.
"""

from __future__ import annotations

import numpy as np

from ..pool_spec import pool_spec
from ..pool_windows import PoolWindows
from ..pooling import binomial_filter, blur_pool_spec
from ..validation import as_int, as_tolerance
from ..verdict import Verdict

__all__ = ["SHIFT_POOLS", "check_shift_consistency", "shift_consistency", "smooth_inputs"]


def _per_plane(pool_planes):
    """``(N, C, n...) -> (N, C, m...)`` from a pool of ``(B, n...)`` planes, one per channel."""
    def pool(x):
        n, c = x.shape[:2]
        y = pool_planes(x.reshape((n * c,) + x.shape[2:]))
        return y.reshape((n, c) + y.shape[1:])
    return pool


def _windows(spec) -> PoolWindows:
    return PoolWindows([spec.axis_table(i) for i in range(spec.ndim)], spec.input_spatial)


def _pools(stride: int, filter_size: int):
    """The four pools, read from the geometry core's windows (as ``convtheory.nn``'s layers are).

    Max and average pooling of kernel ``stride`` (PyTorch's defaults: no
    padding, floor), the blur pool's binomial filter over its reflect-padded
    depthwise taps, and Zhang's max-blur pool: a dense max (stride 1), then
    the blur pool.
    """
    def max_planes(x, step=stride):
        return _windows(pool_spec(x.shape[1:], stride, stride=step)).max(x)[0]

    def avg_planes(x):
        spec = pool_spec(x.shape[1:], stride)
        return _windows(spec).sum(x) / np.prod(spec.kernel_size)  # no padding: full windows

    def blur_planes(x):
        spec = blur_pool_spec((1,) + x.shape[1:], filter_size=filter_size, stride=stride)
        return _windows(spec).sum(x, (binomial_filter(filter_size),) * (x.ndim - 1))

    return {"max": _per_plane(max_planes), "avg": _per_plane(avg_planes),
            "blur": _per_plane(blur_planes),
            "max_blur": _per_plane(lambda x: blur_planes(max_planes(x, step=1)))}


#: The pools :func:`check_shift_consistency` compares, in report order.
SHIFT_POOLS = ("max", "avg", "blur", "max_blur")


def shift_consistency(pool, x, *, stride: int = 2, margin: int = 2, atol: float = 0.1) -> dict:
    """Per one-sample shift of each input, the distance of ``pool(shift x)`` from a shift of ``pool(x)``.

    ``x`` is ``(N, C, n)`` or ``(N, C, n, n)``; each spatial axis is shifted
    by ``+1`` and ``-1`` (cyclically).  A shift of one input sample moves a
    stride-``s`` output by ``1/s`` sample, so the output is compared with
    ``pool(x)`` shifted by each whole number of samples within one of it,
    on the interior (``margin`` outputs are dropped at every border, where
    padding differs), and the best relative error is kept:
    ``min_t ||pool(shift x) - shift_t(pool x)|| / ||pool x||``.

    Returns
    -------
    dict
        ``errors`` (one per input and shift), ``consistency`` (the fraction
        of errors ``<= atol``), ``mean_error``.

    Examples
    --------
    The classic aliasing example: max pooling a signal of period 4.

    >>> x = (np.arange(16) % 4 >= 2).astype(float).reshape(1, 1, 16)
    >>> maxpool = lambda v: v.reshape(1, 1, 8, 2).max(axis=-1)
    >>> maxpool(x)[0, 0], maxpool(np.roll(x, 1, axis=-1))[0, 0]
    (array([0., 1., 0., 1., 0., 1., 0., 1.]), array([1., 1., 1., 1., 1., 1., 1., 1.]))
    >>> r = shift_consistency(maxpool, x)
    >>> r["consistency"], r["errors"].round(2).tolist()
    (0.0, [0.71, 0.71])
    """
    x = np.asarray(x, dtype=np.float64)
    d = x.ndim - 2
    y = pool(x)
    inner = (slice(None), slice(None)) + (slice(margin, -margin or None),) * d
    errors = []
    for axis in range(2, 2 + d):
        for step in (1, -1):
            y1 = pool(np.roll(x, step, axis=axis))
            best = np.full(x.shape[0], np.inf)
            # Whole-sample shifts of pool(x), and the half-sample shifts a
            # stride-2 pool of a band-limited signal approaches (linear interpolation).
            candidates = [np.roll(y, t, axis=axis) for t in (-1, 0, 1)]
            candidates += [0.5 * (y + np.roll(y, t, axis=axis)) for t in (-1, 1)]
            for ref in candidates:
                num = np.sqrt(((y1 - ref)[inner] ** 2).reshape(x.shape[0], -1).sum(axis=1))
                den = np.sqrt((y[inner] ** 2).reshape(x.shape[0], -1).sum(axis=1))
                with np.errstate(divide="ignore", invalid="ignore"):
                    err = np.where(den > 0, num / den, np.where(num > 0, np.inf, 0.0))
                # A NaN anywhere poisons the error: it must never read as agreement.
                err = np.where(np.isnan(num) | np.isnan(den), np.nan, err)
                best = np.where(np.isnan(best) | np.isnan(err), np.nan, np.minimum(best, err))
            errors.append(best)
    errors = np.concatenate(errors)
    return {"errors": errors, "consistency": float(np.mean(errors <= atol)),
            "mean_error": float(np.mean(errors))}


def smooth_inputs(n_inputs: int = 64, size: int = 32, *, ndim: int = 2, seed: int = 0) -> np.ndarray:
    """Random band-limited inputs ``(N, 1, size...)``: white noise low-passed at random widths.

    Natural images are mostly low-frequency with some edges; these range
    from smooth (wide Gaussian blur) to rough (narrow), so that some pooled
    outputs alias and some do not.

    Examples
    --------
    >>> smooth_inputs(4, 16, ndim=1).shape
    (4, 1, 16)
    """
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    out = np.empty((n_inputs, 1) + (size,) * ndim)
    for i in range(n_inputs):
        sigma = rng.uniform(0.5, 3.0)
        out[i, 0] = gaussian_filter(rng.standard_normal((size,) * ndim), sigma, mode="wrap")
        out[i, 0] /= out[i, 0].std()
    return out


def check_shift_consistency(x=None, *, stride: int = 2, filter_size: int = 3, atol: float = 0.1,
                            margin: int = 2, pools=None) -> Verdict:
    """Blurring before subsampling reduces aliasing without removing it (Zhang, 2019).

    On the same inputs, measures :func:`shift_consistency` for max pooling,
    average pooling, blur pooling (``BlurPool``) and max-blur pooling
    (dense max, then ``BlurPool``).  The claim: the blurred pools are more
    shift-consistent than their unblurred counterparts (``blur >= avg`` and
    ``max_blur >= max``, mean errors lower), and none is perfectly
    consistent (consistency ``< 1``): aliasing is reduced, not removed.

    Parameters
    ----------
    x : (N, C, n) or (N, C, n, n) array_like, optional
        Inputs; default :func:`smooth_inputs`.
    stride, filter_size : int
        The pools' stride and the binomial filter's size.
    atol : float
        Largest relative error that counts as consistent.
    margin : int
    pools : dict, optional
        ``{name: callable}`` replacing some of the four pools (to test the check).

    Returns
    -------
    Verdict
        Method ``sampled``.  Evidence per pool: ``consistency`` and
        ``mean_error``; a NaN or inf output fails the verdict.

    Examples
    --------
    >>> v = check_shift_consistency()        # 64 band-limited 32x32 inputs
    >>> bool(v)
    True
    >>> {k: round(c, 2) for k, c in v.evidence["consistency"].items()}
    {'max': 0.5, 'avg': 0.57, 'blur': 0.58, 'max_blur': 0.63}
    """
    # A NaN or negative atol counts every pool as inconsistent (0 >= 0 and 0 < 1 would hold).
    atol = as_tolerance(atol, "atol")
    stride = as_int(stride, "stride", minimum=1)
    filter_size = as_int(filter_size, "filter_size", minimum=1)
    margin = as_int(margin, "margin", minimum=0)
    if x is None:
        x = smooth_inputs()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (3, 4):
        raise ValueError(f"x must have shape (N, C, n) or (N, C, n, n), got x.shape={x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite: a NaN or inf input makes every comparison meaningless")
    table = _pools(stride, filter_size)
    if pools is not None:
        unknown = set(pools) - set(SHIFT_POOLS)
        if unknown:
            raise ValueError(f"pools may only replace {SHIFT_POOLS}, got {sorted(unknown)}")
        table.update(pools)
    results = {name: shift_consistency(table[name], x, stride=stride, margin=margin, atol=atol)
               for name in SHIFT_POOLS}
    cons = {k: r["consistency"] for k, r in results.items()}
    mean = {k: r["mean_error"] for k, r in results.items()}
    finite = all(np.isfinite(r["errors"]).all() for r in results.values())
    reduces = (cons["blur"] >= cons["avg"] and cons["max_blur"] >= cons["max"]
               and mean["blur"] < mean["avg"] and mean["max_blur"] < mean["max"])
    not_removed = cons["blur"] < 1 and cons["max_blur"] < 1
    holds = bool(finite and reduces and not_removed)
    counterexample = None
    if not holds:
        counterexample = {"finite": finite, "reduces": reduces, "not_removed": not_removed}
    return Verdict(
        name="shift_consistency",
        statement="blurring before subsampling makes pooling more consistent under one-sample "
                  "shifts, but not perfectly: it reduces aliasing without removing it",
        holds=holds, method="sampled",
        scope=f"{x.shape[0]} inputs of shape {x.shape[1:]}, every one-sample shift along each "
              f"axis; stride {stride}, binomial filter {filter_size}; consistent if the "
              f"relative error <= {atol}",
        evidence={"consistency": cons, "mean_error": mean, "finite": finite},
        counterexample=counterexample,
    )
