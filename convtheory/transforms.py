"""Transformations of signals and images: the group actions equivariance is about.

Each transform acts on the trailing spatial axes of an array laid out as
``(..., C, n1, ..., nd)`` (leading batch and channel axes are left alone), and
each has a matrix (:func:`transform_matrix`) so that equivariance becomes the
matrix identity ``M @ T_in == T_out @ M``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .taps import DEFAULT_MAX_BYTES
from .validation import as_callable, check_budget
from .validation import as_int as _as_int, as_shape as _as_shape

__all__ = [
    "cyclic_shift",
    "downsample",
    "flip",
    "rot90",
    "transform_matrix",
    "upsample",
]


def _spatial_axes(x: np.ndarray, ndim: int | None) -> tuple[int, ...]:
    d = x.ndim if ndim is None else ndim
    if not 1 <= d <= x.ndim:
        raise ValueError(f"ndim must be between 1 and x.ndim={x.ndim}, got ndim={ndim}")
    return tuple(range(x.ndim - d, x.ndim))


def cyclic_shift(x, shift) -> np.ndarray:
    """Shift the trailing ``len(shift)`` axes cyclically: ``y[i] = x[i - shift]``.

    Parameters
    ----------
    x : ndarray
    shift : int or tuple of int
        One integer per spatial axis (an int means one spatial axis).
    Examples
    --------
    >>> cyclic_shift(np.arange(5), 2)
    array([3, 4, 0, 1, 2])
    >>> cyclic_shift(np.arange(6).reshape(1, 2, 3), (0, 1))
    array([[[2, 0, 1],
            [5, 3, 4]]])
    """
    x = np.asarray(x)
    shift = (shift,) if np.ndim(shift) == 0 else tuple(shift)
    shift = tuple(_as_int(s, f"shift[{i}]") for i, s in enumerate(shift))
    if len(shift) > x.ndim:
        raise ValueError(f"shift has {len(shift)} entries but x has only {x.ndim} axes")
    return np.roll(x, shift, axis=tuple(range(x.ndim - len(shift), x.ndim)))


def rot90(x, k: int = 1) -> np.ndarray:
    """Rotate the last two axes by ``k`` quarter turns (counter-clockwise).

    Examples
    --------
    >>> rot90(np.array([[1, 2], [3, 4]]))
    array([[2, 4],
           [1, 3]])
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"rot90 needs at least 2 axes, got x.shape={x.shape}")
    return np.rot90(x, _as_int(k, "k"), axes=(-2, -1))


def flip(x, axis: int = -1) -> np.ndarray:
    """Mirror one spatial axis (``-1``: left-right, ``-2``: up-down).

    Examples
    --------
    >>> flip(np.arange(4))
    array([3, 2, 1, 0])
    """
    return np.flip(np.asarray(x), axis=_as_int(axis, "axis"))


def downsample(x, factor=2, *, ndim: int | None = None, strict: bool = False) -> np.ndarray:
    """Keep every ``factor``-th sample of each spatial axis (``x[..., ::f, ::f]``).

    A tuple ``factor`` acts on the trailing ``len(factor)`` axes; an int acts
    on the trailing ``ndim`` axes (default: all of them).

    An axis of length ``n`` keeps samples ``0, f, 2f, ...``: ``ceil(n / f)``
    of them, which is what a stride-``f`` conv reads (the stride matrix of
    a transposed conv is this map on ``(o - 1) * f + 1`` samples).  A
    scale argument needs more: ``upsample(downsample(x))`` must have ``x``'s
    shape, so with ``strict=True`` a length not divisible by its factor is
    refused rather than silently losing its tail.

    Parameters
    ----------
    x : array_like
    factor : int or tuple of int
    ndim : int, optional
        Spatial axes an int ``factor`` acts on (default: all).
    strict : bool
        Refuse (``ValueError``) an axis whose length is not a multiple of
        its factor.

    Examples
    --------
    >>> downsample(np.arange(6), 2)
    array([0, 2, 4])
    >>> downsample(np.zeros((3, 4, 4)), (2, 2)).shape
    (3, 2, 2)
    >>> downsample(np.arange(5), 2)  # samples 0, 2, 4 of 5
    array([0, 2, 4])
    >>> downsample(np.arange(5), 2, strict=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: downsample(strict=True) needs every axis divisible by its factor, got x.shape=(5,)...
    """
    if not isinstance(strict, (bool, np.bool_)):  # "yes" or 0.5 would pass as truthy
        raise TypeError(f"strict must be True or False, got strict={strict!r}")
    x = np.asarray(x)
    axes = _spatial_axes(x, ndim if np.ndim(factor) == 0 else len(factor))
    factors = _factors(factor, len(axes))
    if strict and any(x.shape[a] % f for a, f in zip(axes, factors)):
        raise ValueError(
            f"downsample(strict=True) needs every axis divisible by its factor, got "
            f"x.shape={x.shape} and factor={factors}; crop or pad x first"
        )
    index = (Ellipsis,) + tuple(slice(None, None, f) for f in factors)
    return x[index]


def upsample(x, factor=2, *, ndim: int | None = None) -> np.ndarray:
    """Repeat each sample ``factor`` times along each spatial axis (nearest neighbour).

    Axes are chosen as in :func:`downsample`.

    Examples
    --------
    >>> upsample(np.array([1, 2]), 2)
    array([1, 1, 2, 2])
    """
    x = np.asarray(x)
    axes = _spatial_axes(x, ndim if np.ndim(factor) == 0 else len(factor))
    for axis, f in zip(axes, _factors(factor, len(axes))):
        x = np.repeat(x, f, axis=axis)
    return x


def _factors(factor, d: int) -> tuple[int, ...]:
    factors = (factor,) * d if np.ndim(factor) == 0 else tuple(factor)
    factors = _as_shape(factors, "factor")
    if len(factors) != d:
        raise ValueError(f"factor must have {d} entries, got factor={factor!r}")
    return factors


def transform_matrix(transform, shape) -> sp.csr_array:
    """The 0/1 matrix of a transform that moves entries (shift, rotation, sampling).

    Applies ``transform`` to an array of positions, so any function that
    only permutes, selects or repeats entries gets its exact matrix:
    ``T @ x.ravel() == transform(x).ravel()``.

    Parameters
    ----------
    transform : callable
        ``ndarray -> ndarray``; must not combine entries arithmetically.
    shape : tuple of int
        Shape of the arrays it acts on.

    Returns
    -------
    T : (transform(x).size, prod(shape)) csr_array

    Examples
    --------
    >>> T = transform_matrix(lambda x: cyclic_shift(x, 1), (3,))
    >>> T.toarray().astype(int)
    array([[0, 0, 1],
           [1, 0, 0],
           [0, 1, 0]])
    """
    shape = _as_shape(shape, "shape")
    transform = as_callable(transform, "transform")
    # Positions, the moved positions, and the COO and CSR arrays of T (of a
    # transform that does not grow its input).
    check_budget(6 * 8 * int(np.prod(shape, dtype=object)), DEFAULT_MAX_BYTES,
                 f"transform_matrix of shape={shape}", "use a smaller shape")
    positions = np.arange(int(np.prod(shape))).reshape(shape)
    source = np.asarray(transform(positions))
    if not np.issubdtype(source.dtype, np.integer):
        raise ValueError(
            f"transform must only move entries (it turned integer positions into {source.dtype}); "
            f"build the matrix of an arithmetic transform by probing instead"
        )
    source = source.ravel()
    n = len(source)
    return sp.csr_array((np.ones(n), (np.arange(n), source)), shape=(n, positions.size))
