"""Pooling as an operator: average pooling is a convolution, and blurring reduces aliasing.

* :func:`check_avg_pool_is_conv`: the average pool's matrix equals the conv
  matrix of a uniform depthwise kernel ``1/prod(k)`` on every row whose
  divisor is ``prod(k)``; where ``count_include_pad=False`` or ``ceil_mode``
  changes the divisor, the row is that conv row scaled by
  ``prod(k)/divisor``, and the check lists those outputs.
* :func:`check_shift_consistency`: Zhang (2019)'s measure of aliasing, the
  fraction of one-sample input shifts after which the pooled output is still
  (within a tolerance) a shift of the original pooled output, for max,
  average and blur pooling on the same inputs.  The claim is that blurring
  raises it without making it 1: it reduces aliasing, it does not remove it.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from ..matrices import conv_matrix
from ..pooling import _avg_geometry, avg_pool_matrix
from .verdict import Verdict

__all__ = ["SHIFT_POOLS", "check_avg_pool_is_conv", "check_shift_consistency", "shift_consistency"]


def check_avg_pool_is_conv(input_shape, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                           count_include_pad=True, divisor_override=None, matrix=None,
                           atol: float = 1e-12) -> Verdict:
    """Average pooling is the conv of a uniform depthwise kernel, row by row up to its divisor.

    Builds ``A = avg_pool_matrix(...)`` (or takes ``matrix``) and
    ``M = conv_matrix(w, ...)`` with ``w = 1/prod(k)`` on every channel
    (``groups = C``) and the pool's taps (:func:`~convtheory.geometry.pool_spec`).
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
    if isinstance(atol, bool) or not isinstance(atol, numbers.Real) or not atol >= 0:
        raise ValueError(f"atol must be a float >= 0, got atol={atol!r}")
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
        A = sp.csr_array(matrix, dtype=np.float64)
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


# --------------------------------------------------------------------------
# Shift consistency (aliasing)
# --------------------------------------------------------------------------
def _pools(stride: int, filter_size: int):
    from ..nn import functional_pooling as FP
    from ..nn.pooling import BlurPool1d, BlurPool2d

    def blur(x):
        layer = (BlurPool1d if x.ndim == 3 else BlurPool2d)(x.shape[1], filter_size, stride)
        return layer(x)

    def maxpool(x):
        return (FP.max_pool1d if x.ndim == 3 else FP.max_pool2d)(x, stride)

    def avgpool(x):
        return (FP.avg_pool1d if x.ndim == 3 else FP.avg_pool2d)(x, stride)

    def max_blur(x):  # Zhang's MaxBlurPool: dense max (stride 1), then blur and subsample
        dense = (FP.max_pool1d if x.ndim == 3 else FP.max_pool2d)(x, stride, stride=1)
        return blur(dense)

    return {"max": maxpool, "avg": avgpool, "blur": blur, "max_blur": max_blur}


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
