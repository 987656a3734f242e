"""Linear-map introspection for black boxes: probe the matrix, then recognise the conv.

:func:`probe_matrix` applies a linear callable to every unit vector and
stores the columns sparsely; :func:`assert_is_convolution` hands that matrix
to :func:`convtheory.structure.recover_kernel`, which either reads the kernel
off the taps or names the first entry that breaks the tied, shifted structure.
"""

from __future__ import annotations


import numpy as np
import scipy.sparse as sp

from ..spec import ConvSpec
from ..validation import (MAX_SAMPLES, as_count, as_max_bytes, as_tolerance, check_budget)
from ..validation import as_int as _as_int, as_shape as _as_shape
from ..structure import recover_kernel
from ..verdict import as_compared, exceeds, within, worst_entry
from .failures import ConvolutionAssertionError

__all__ = ["DEFAULT_MAX_PROBES", "NotLinearError", "assert_is_convolution", "probe_matrix"]

#: Largest number of calls :func:`probe_matrix` makes by default (one per input entry).
DEFAULT_MAX_PROBES = 2**14
_DEFAULT_MAX_BYTES = 256 * 2**20


class NotLinearError(ValueError):
    """The callable given to :func:`probe_matrix` is not linear.

    A ``ValueError`` (a bad argument, not a failed claim), with the size of
    the violation of ``f(a x + b y) == a f(x) + b f(y)`` in its message.

    Examples
    --------
    >>> try:
    ...     probe_matrix(lambda x: x + 1.0, (3,))
    ... except NotLinearError as err:
    ...     print(str(err).split(":")[0])
    f is not linear
    """


def _check_linear(f, input_shape, out_shape, *, rtol, pairs, seed):
    rng = np.random.default_rng(seed)
    for i in range(pairs):
        x, y = rng.standard_normal((2,) + input_shape)
        a, b = rng.standard_normal(2)
        fx, fy = as_compared(f(x), "f(x)"), as_compared(f(y), "f(y)")
        lhs = as_compared(f(a * x + b * y), "f(a*x + b*y)")
        for name, value in (("f(x)", fx), ("f(y)", fy), ("f(a*x + b*y)", lhs)):
            if value.shape != out_shape:
                raise NotLinearError(f"f is not linear: {name}.shape={value.shape} differs from "
                                     f"f(zeros).shape={out_shape} on random pair {i}")
            if not np.all(np.isfinite(value)):
                _, at = worst_entry(np.where(np.isfinite(value), 0.0, np.nan))
                raise NotLinearError(
                    f"f is not linear: {name} holds {float(value[at])} at output {at} on random pair "
                    f"{i} of seed={seed}; a linear map of finite inputs returns finite numbers")
        rhs = a * fx + b * fy
        scale = abs(a) * np.abs(fx).max(initial=0) + abs(b) * np.abs(fy).max(initial=0)
        error = worst_entry(lhs - rhs)[0]
        if not within(error, rtol * scale):
            raise NotLinearError(
                f"f is not linear: f(a*x + b*y) differs from a*f(x) + b*f(y) by {error:.3g} "
                f"(relative {error / max(scale, 1e-300):.3g} > rtol={rtol}) on random pair {i} "
                f"of seed={seed}; probe_matrix needs a linear callable (no bias, no nonlinearity)"
            )


def probe_matrix(f, input_shape, *, max_probes: int = DEFAULT_MAX_PROBES,
                 max_bytes: int = _DEFAULT_MAX_BYTES, atol: float = 0.0,
                 linearity_pairs: int = 3, rtol: float = 1e-9, seed: int = 0) -> sp.csr_array:
    r"""The matrix of a linear callable, column by column, from unit vectors.

    ``M @ x.ravel() == f(x).ravel()`` for every ``x`` of ``input_shape``.

    Parameters
    ----------
    f : callable
        Linear ``ndarray -> ndarray``.
    input_shape : tuple of int
        Shape of one input (batch and channel axes included where ``f``
        expects them).
    max_probes : int
        Refuse, before calling ``f``, when ``prod(input_shape)`` (the number
        of calls) exceeds this.
    max_bytes : int
        Refuse, while probing, once the stored nonzeros exceed this.
    atol : float
        Entries with ``|value| <= atol`` are not stored (default: only exact
        zeros are dropped; FFT-based callables leave ~1e-16 noise).
    linearity_pairs : int
        Random pairs on which ``f(a x + b y) == a f(x) + b f(y)`` is checked
        (to relative ``rtol``) before probing; 0 skips the check.
    seed : int
        Seed of the linearity check.

    Returns
    -------
    M : (prod(f(x).shape), prod(input_shape)) scipy.sparse.csr_array

    Raises
    ------
    ValueError
        When ``f`` is not linear (a ``NotLinearError``), or over a budget.

    Examples
    --------
    >>> from scipy.ndimage import correlate1d
    >>> M = probe_matrix(lambda x: correlate1d(x, [1.0, 2.0, 3.0], mode="wrap"), (4,))
    >>> M.toarray()
    array([[2., 3., 0., 1.],
           [1., 2., 3., 0.],
           [0., 1., 2., 3.],
           [3., 0., 1., 2.]])
    >>> probe_matrix(np.abs, (4,))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    convtheory.testing.probing.NotLinearError: f is not linear: ...
    """
    input_shape = _as_shape(input_shape, "input_shape")
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    max_probes = _as_int(max_probes, "max_probes", minimum=1)
    max_bytes = as_max_bytes(max_bytes)
    linearity_pairs = as_count(linearity_pairs, "linearity_pairs", minimum=0, maximum=MAX_SAMPLES)
    atol = as_tolerance(atol, "atol")
    rtol = as_tolerance(rtol, "rtol")
    n_in = int(np.prod(input_shape, dtype=object))  # exact: int64 would wrap around
    if n_in > max_probes:
        raise ValueError(
            f"probe_matrix would call f {n_in:,} times (once per entry of input_shape="
            f"{input_shape}), over max_probes={max_probes:,}; probe a smaller input_shape "
            f"(a convolution shows its whole kernel at any size larger than its receptive "
            f"field), or raise max_probes"
        )
    out_shape = as_compared(f(np.zeros(input_shape)), "f(zeros)").shape
    if linearity_pairs:
        _check_linear(f, input_shape, out_shape, rtol=rtol, pairs=linearity_pairs, seed=seed)
    rows, values, counts = [], [], np.zeros(n_in, dtype=np.int64)
    stored = 0
    e = np.zeros(n_in)
    for j in range(n_in):
        e[j] = 1.0
        # A copy: f may return (a view of) its input, which the next line resets.
        column = np.array(as_compared(f(e.reshape(input_shape)), f"f(unit vector {j})"))
        if column.shape != out_shape:
            raise ValueError(f"f(unit vector {j}).shape={column.shape} differs from "
                             f"f(zeros).shape={out_shape}; a linear map has one output shape")
        column = column.ravel()
        e[j] = 0.0
        # Stored unless within atol of zero: a NaN or an infinity is kept, so that the matrix
        # shows it (recover_kernel then names it), never dropped as if it were zero.
        nz = np.flatnonzero(exceeds(column, atol))
        rows.append(nz)
        values.append(column[nz])
        counts[j] = len(nz)
        stored += len(nz) * (column.itemsize + 8)
        if stored > max_bytes:
            check_budget(stored, max_bytes, f"probe_matrix (after {j + 1:,} of {n_in:,} columns)",
                         "f is far from sparse at this size: probe a smaller input_shape, drop "
                         "noise with atol, or raise max_bytes")
    n_out = int(np.prod(out_shape))
    indptr = np.concatenate(([0], np.cumsum(counts)))
    data = np.concatenate(values) if values else np.zeros(0)
    M = sp.csc_array((data, np.concatenate(rows), indptr), shape=(n_out, n_in))
    return sp.csr_array(M)


def _infer_kernel_size(M, input_shape, d) -> tuple[int, ...]:
    """Kernel size from the probed support: per axis, the most distinct positions one output reads.

    An interior output reads exactly ``k`` distinct positions along each axis
    (whatever the dilation); a border output reads fewer (clipped by zero
    padding, folded by reflect/replicate) or as many (wrapped), never more.
    """
    spatial = input_shape[-d:]
    M = sp.csr_array(M)
    rows = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))
    if not len(rows):
        raise ConvolutionAssertionError("f maps every input to zero; there is no kernel to "
                                        "infer: pass kernel_size")
    pos = np.unravel_index(M.indices % int(np.prod(spatial)), spatial)
    size = []
    for axis in range(d):
        pairs = np.unique(rows * spatial[axis] + pos[axis])
        size.append(int(np.bincount(pairs // spatial[axis]).max()))
    return tuple(size)


def assert_is_convolution(f, input_shape, kernel_size=None, *, ndim: int | None = None,
                          atol: float = 0.0, rtol: float = 1e-10,
                          max_probes: int = DEFAULT_MAX_PROBES, seed: int = 0,
                          **conv) -> np.ndarray:
    r"""Assert that a black box is a convolution of the given geometry; return its kernel.

    Probes the matrix of ``f`` (:func:`probe_matrix`) and recovers the kernel
    with :func:`convtheory.structure.recover_kernel`: every entry must be
    the weight its tap carries (or the sum of the weights folded onto it),
    and nothing may lie outside the taps.

    Parameters
    ----------
    f : callable
        ``ndarray -> ndarray``: ``(C_in, n1, ..., nd) -> (C_out, o1, ..., od)``,
        or ``(n1, ..., nd) -> (o1, ..., od)`` without channel axes.
    input_shape : tuple of int
        Shape of one input; ``len(input_shape) == d`` means no channel axis.
    kernel_size : tuple of int, optional
        ``(k1, ..., kd)``.  Default: inferred from the probed support, as
        the most distinct input positions one output reads along each axis
        (a kernel whose border rows are zero is then seen smaller: pass
        ``kernel_size`` for it).
    ndim : int, optional
        Number of spatial axes when ``kernel_size`` is not given (default:
        ``len(input_shape)``, i.e. no channel axis).
    atol, rtol : float
        Tolerance of :func:`~convtheory.structure.recover_kernel`; black
        boxes add in their own order, hence the default ``rtol=1e-10``.
    max_probes, seed
        As in :func:`probe_matrix`.
    **conv
        ``stride, padding, dilation, groups, padding_mode, flip``, as in
        :func:`convtheory.conv_matrix`.

    Returns
    -------
    kernel : ndarray
        ``(C_out, C_in/groups, k1, ..., kd)``, or ``(k1, ..., kd)`` without
        channel axes, such that ``conv_matrix(kernel, input_shape, **conv)``
        is the matrix of ``f``.

    Raises
    ------
    ConvolutionAssertionError
        When ``f`` is not linear, its output has the wrong shape, or its
        matrix breaks the tied, shifted structure; the message names the
        first entry that breaks it, as (output, input) positions.

    Examples
    --------
    ``scipy.ndimage.correlate`` with ``mode="nearest"`` is PyTorch's
    ``padding_mode="replicate"``:

    >>> from scipy.ndimage import correlate
    >>> w = np.arange(9.0).reshape(3, 3)
    >>> f = lambda x: correlate(x, w, mode="nearest")
    >>> k = assert_is_convolution(f, (5, 5), padding="same", padding_mode="replicate")
    >>> np.array_equal(k, w)
    True
    >>> assert_is_convolution(f, (5, 5), padding="same", padding_mode="zeros")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    convtheory.testing.failures.ConvolutionAssertionError: f is not a convolution ...
    """
    input_shape = _as_shape(input_shape, "input_shape")
    if kernel_size is not None:
        kernel_size = _as_shape(kernel_size, "kernel_size")
        d = len(kernel_size)
    else:
        d = len(input_shape) if ndim is None else _as_int(ndim, "ndim")
    if not 1 <= d <= len(input_shape) or len(input_shape) - d > 1:
        raise ValueError(f"input_shape={input_shape} must be (n1, ..., nd) or (C_in, n1, ..., nd) "
                         f"for a {d}-D convolution")
    shorthand = len(input_shape) == d
    try:
        M = probe_matrix(f, input_shape, max_probes=max_probes, seed=seed)
    except NotLinearError as err:
        raise ConvolutionAssertionError(f"f is not a convolution: {err}") from err
    if kernel_size is None:
        kernel_size = _infer_kernel_size(M, input_shape, d)
    full_input = (1,) + input_shape if shorthand else input_shape
    out_shape = as_compared(f(np.zeros(input_shape)), "f(zeros)").shape
    groups = conv.get("groups", 1)
    geometry = ConvSpec((groups, full_input[0] // groups if full_input[0] % groups == 0 else 1)
                        + kernel_size, full_input, **conv)
    out_spatial = out_shape if shorthand else out_shape[1:]
    if tuple(out_spatial) != geometry.output_spatial or (shorthand and len(out_shape) != d):
        raise ConvolutionAssertionError(
            f"f is not a convolution with kernel_size={kernel_size} and {conv}: f(x).shape="
            f"{out_shape}, but that geometry gives spatial output {geometry.output_spatial}"
        )
    result = recover_kernel(M, full_input, kernel_size, atol=atol, rtol=rtol, **conv)
    if not result:
        b = result.breach
        out_pos = np.unravel_index(b.row, result.spec.output_shape)
        in_pos = np.unravel_index(b.col, result.spec.input_shape)
        where = (f"output {tuple(int(i) for i in out_pos)} reading input "
                 f"{tuple(int(i) for i in in_pos)} (channel first)")
        raise ConvolutionAssertionError(
            f"f is not a convolution with kernel_size={kernel_size} and {conv}: {b}; "
            f"that entry is {where}", recovery=result)
    return result.kernel.reshape(kernel_size) if shorthand else result.kernel
