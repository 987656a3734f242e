"""Pooling as operators: average pooling is a convolution, max pooling is piecewise linear.

* :func:`avg_pool_matrix` / :func:`avg_pool_operator`: PyTorch's average pool
  (``ceil_mode``, ``count_include_pad``, ``divisor_override``) as an explicit
  sparse matrix and as a matrix-free operator.  Where every window has the
  same divisor it is the conv matrix of a uniform depthwise kernel; where the
  divisor varies (``count_include_pad=False``, ``ceil_mode``'s overhang) it is
  a row-scaled conv matrix, no longer translation-invariant.
* :func:`max_pool_jacobian`: at a given ``x``, max pooling is the linear map
  that selects each window's winner, a 0/1 matrix.
* :func:`binomial_filter`, :func:`blur_pool_spec`, :func:`blur_pool_matrix`,
  :func:`blur_pool_operator`: anti-aliased pooling (Zhang, 2019), a binomial
  blur per channel followed by subsampling, which is a strided depthwise
  convolution.

Every matrix here reads the taps of :func:`~convtheory.pool_spec.pool_spec`
(:func:`~convtheory.taps.spatial_taps`) or the conv builders; none computes
an index from stride or padding.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from .geometry import _as_shape
from .validation import as_int
from .pool_spec import avg_pool_divisors, blur_pool_padding, pool_spec
from .spec import ConvSpec
from .matrices import DEFAULT_MAX_BYTES, conv_matrix, estimate_matrix_bytes
from .operators import conv_operator
from .pool_windows import PoolWindows
from .taps import spatial_taps
from .validation import check_budget

__all__ = [
    "BLUR_PADDING_MODES",
    "avg_pool_matrix",
    "avg_pool_operator",
    "binomial_filter",
    "blur_pool_matrix",
    "blur_pool_operator",
    "blur_pool_spec",
    "max_pool_jacobian",
]

#: Padding of a blur pool: the names of the paper's code ("reflect", "replicate", "zero")
#: in PyTorch's spelling.
BLUR_PADDING_MODES = ("reflect", "replicate", "zeros")


def _channels_and_spatial(input_shape, name="input_shape"):
    shape = _as_shape(input_shape, name)
    if len(shape) < 2:
        raise ValueError(f"{name} must be (C, n1, ..., nd) with at least one spatial axis, "
                         f"got {name}={shape}")
    return shape[0], shape[1:]


def _avg_geometry(spatial, kernel_size, stride, padding, ceil_mode, count_include_pad,
                  divisor_override, budget=None):
    """The pool's spec and divisor grid; ``budget=(max_bytes, what, channels, matrix)``
    refuses, before the grid (one float per output position) is allocated, a pool
    whose grid, and matrix if ``matrix``, would need more than ``max_bytes``."""
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"count_include_pad must be a bool, got count_include_pad={count_include_pad!r}")
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral):
            raise TypeError(f"divisor_override must be an int or None, got "
                            f"divisor_override={divisor_override!r}")
        if divisor_override == 0:
            raise ValueError("divisor_override must not be zero, got divisor_override=0")
    spec = pool_spec(spatial, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode)
    if budget is not None:
        max_bytes, what, channels, matrix = budget
        needed = 8 * int(np.prod(spec.output_spatial))
        if matrix:
            needed += channels * estimate_matrix_bytes(spec)
        check_budget(needed, max_bytes, what, "pool a smaller input, or pass a larger max_bytes")
    if divisor_override is not None:
        divisor = np.full(spec.output_spatial, float(divisor_override))
    else:
        divisor = np.ones(())
        for d in avg_pool_divisors(spatial, kernel_size, stride=stride, padding=padding,
                                   ceil_mode=ceil_mode, count_include_pad=count_include_pad):
            divisor = np.multiply.outer(divisor, d.astype(np.float64))
    return spec, divisor


def avg_pool_matrix(input_shape, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                    count_include_pad=True, divisor_override=None, max_bytes=DEFAULT_MAX_BYTES):
    r"""Average pooling as an explicit sparse matrix, per channel.

    ``M @ x.ravel()`` equals ``torch.nn.functional.avg_poolNd(x, ...)``
    raveled, for ``x`` of shape ``input_shape``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, n1, ..., nd)``; pooling acts on every channel alone.
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in ``torch.nn.AvgPoolNd``; ``stride=None`` means ``kernel_size``.
    max_bytes : int
        Memory budget (default 2 GiB), as for :func:`~convtheory.conv_matrix`:
        a larger pool is refused with a ValueError before anything is allocated.

    Returns
    -------
    M : (C*prod(o), C*prod(n)) scipy.sparse.csr_array
        ``M[(c, o), (c, i)] = 1 / divisor(o)`` for every input ``i`` of the
        window of ``o``; block diagonal over channels.

    Notes
    -----
    The taps are those of :func:`~convtheory.pool_spec.pool_spec`, the
    divisors those of :func:`~convtheory.pool_spec.avg_pool_divisors`.  For
    ``kernel_size=2`` on 5 inputs with ``padding=1`` (divisor 2 everywhere,
    padding counted)::

        [[.5  .  .  .  . ]
         [ . .5 .5  .  . ]
         [ .  .  . .5 .5 ]]

    Examples
    --------
    >>> avg_pool_matrix((1, 5), 2, padding=1).toarray()
    array([[0.5, 0. , 0. , 0. , 0. ],
           [0. , 0.5, 0.5, 0. , 0. ],
           [0. , 0. , 0. , 0.5, 0.5]])
    >>> avg_pool_matrix((1, 5), 2, padding=1, count_include_pad=False).toarray()[0]
    array([1., 0., 0., 0., 0.])

    Per channel, on every axis, with the window means of a reshape:

    >>> x = np.random.default_rng(0).standard_normal((2, 4, 6))
    >>> M = avg_pool_matrix(x.shape, 2)
    >>> M.shape, np.allclose(M @ x.ravel(), x.reshape(2, 2, 2, 3, 2).mean(axis=(2, 4)).ravel())
    ((12, 48), True)
    """
    channels, spatial = _channels_and_spatial(input_shape)
    spec, divisor = _avg_geometry(spatial, kernel_size, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override,
                                  budget=(max_bytes, "avg_pool_matrix", channels, True))
    st = spatial_taps(spec)
    rows = st.rows
    values = 1.0 / divisor.ravel()[rows]
    n_out, n_in = int(np.prod(spec.output_spatial)), int(np.prod(spatial))
    plane = sp.csr_array((values, st.cols, st.indptr), shape=(n_out, n_in))
    return sp.block_diag([plane] * channels, format="csr") if channels > 1 else plane


class _PoolOperator(LinearOperator):
    def __init__(self, windows, divisor, channels, dtype):
        self.windows, self.divisor, self.channels = windows, divisor, channels
        n_out = channels * int(np.prod(windows.output_spatial))
        n_in = channels * int(np.prod(windows.input_spatial))
        super().__init__(dtype=np.dtype(dtype), shape=(n_out, n_in))

    def _matvec(self, x):
        x = np.asarray(x).reshape((self.channels,) + self.windows.input_spatial)
        return (self.windows.sum(x) / self.divisor).ravel()

    def _rmatvec(self, g):
        g = np.asarray(g).reshape((self.channels,) + self.windows.output_spatial)
        return self.windows.sum_adjoint(g / np.conj(self.divisor)).ravel()

    def _matmat(self, X):
        return np.column_stack([self._matvec(c) for c in X.T]) if X.shape[1] else \
            np.zeros((self.shape[0], 0), dtype=self.dtype)

    def _rmatmat(self, G):
        return np.column_stack([self._rmatvec(c) for c in G.T]) if G.shape[1] else \
            np.zeros((self.shape[1], 0), dtype=self.dtype)


def avg_pool_operator(input_shape, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True, divisor_override=None, dtype=np.float64,
                      max_bytes=DEFAULT_MAX_BYTES):
    """Average pooling as a matrix-free ``scipy.sparse.linalg.LinearOperator``.

    The same map as :func:`avg_pool_matrix`; ``matvec`` sums each window
    axis by axis (:class:`~convtheory.pool_windows.PoolWindows`) and
    ``rmatvec`` is its exact adjoint.  A pool whose divisor grid would need more than
    ``max_bytes`` (default 2 GiB) is refused with a ValueError.

    Examples
    --------
    >>> from convtheory import dot_test
    >>> A = avg_pool_operator((3, 8, 8), 2, ceil_mode=True, padding=1)
    >>> M = avg_pool_matrix((3, 8, 8), 2, ceil_mode=True, padding=1)
    >>> x = np.random.default_rng(1).standard_normal(A.shape[1])
    >>> A.shape, np.allclose(A @ x, M @ x), bool(dot_test(A))
    ((75, 192), True, True)
    """
    channels, spatial = _channels_and_spatial(input_shape)
    spec, divisor = _avg_geometry(spatial, kernel_size, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override,
                                  budget=(max_bytes, "avg_pool_operator", channels, False))
    windows = PoolWindows([spec.axis_table(i) for i in range(spec.ndim)], spatial)
    return _PoolOperator(windows, divisor, channels, dtype)


def max_pool_jacobian(x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The Jacobian of max pooling at ``x``: a 0/1 selection matrix.

    Max pooling is piecewise linear: near ``x`` it selects, in each window,
    one input.  ``J @ x.ravel()`` is the pooled output and ``J.T @ g`` is
    PyTorch's gradient of ``max_poolNd``.

    Parameters
    ----------
    x : (C, n1, ..., nd) array_like of float
    kernel_size, stride, padding, dilation, ceil_mode
        As in ``torch.nn.MaxPoolNd``; padding reads ``-inf``.

    Returns
    -------
    J : (C*prod(o), C*prod(n)) scipy.sparse.csr_array
        One 1 per row, at the window's winner.

    Notes
    -----
    PyTorch's rule for ties: a window is scanned in row-major order and a
    value replaces the running maximum when it is strictly greater or NaN,
    so the first maximum wins and NaN propagates.  Where every input of a
    window is ``-inf``, the first input of the window is selected.  A dilated
    window may read only padding: its output is ``-inf``, its row of ``J``
    is empty (no input moves it), so there ``J @ x`` gives 0.

    Examples
    --------
    >>> x = np.array([[1.0, 3.0, 3.0, 2.0, 0.0]])
    >>> J = max_pool_jacobian(x, 2, stride=1)
    >>> J.toarray()
    array([[0., 1., 0., 0., 0.],
           [0., 1., 0., 0., 0.],
           [0., 0., 1., 0., 0.],
           [0., 0., 0., 1., 0.]])
    >>> J @ x.ravel()                    # the pooled output
    array([3., 3., 3., 2.])
    >>> J.T @ np.ones(4)                 # the gradient of its sum: the first 3 wins the tie
    array([0., 2., 1., 1., 0.])
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fiu" or x.dtype == bool:
        raise TypeError(f"x must be a real float or integer array, got dtype {x.dtype}")
    channels, spatial = _channels_and_spatial(x.shape, "x.shape")
    spec = pool_spec(spatial, kernel_size, stride=stride, padding=padding, dilation=dilation,
                     ceil_mode=ceil_mode)
    windows = PoolWindows([spec.axis_table(i) for i in range(spec.ndim)], spatial)
    _, args = windows.max(x.astype(np.float64, copy=False))
    winner = windows.argmax(args)  # (C, o...) flat spatial input index
    n_in, n_out = int(np.prod(spatial)), int(np.prod(spec.output_spatial))
    winner = winner.reshape(channels, n_out)
    reads = winner >= 0
    cols = (winner + np.arange(channels)[:, None] * n_in)[reads]
    rows = channels * n_out
    indptr = np.concatenate(([0], np.cumsum(reads.ravel()))).astype(np.int64)
    return sp.csr_array((np.ones(len(cols)), cols, indptr), shape=(rows, channels * n_in))


# --------------------------------------------------------------------------
# Anti-aliased (blur) pooling
# --------------------------------------------------------------------------
def binomial_filter(filter_size: int) -> np.ndarray:
    """The normalised binomial filter of ``filter_size`` taps (row ``filter_size-1`` of Pascal's triangle).

    Zhang (2019) blurs with these before subsampling: ``[1]``, ``[1, 1]``,
    ``[1, 2, 1]``, ... up to 7 taps, divided by their sum.

    Examples
    --------
    >>> binomial_filter(3)
    array([0.25, 0.5 , 0.25])
    >>> binomial_filter(5) * 16
    array([1., 4., 6., 4., 1.])
    """
    if isinstance(filter_size, bool) or not isinstance(filter_size, numbers.Integral):
        raise TypeError(f"filter_size must be an int, got filter_size={filter_size!r}")
    if not 1 <= filter_size <= 7:
        raise ValueError(f"filter_size must be between 1 and 7 (the paper's filters), "
                         f"got filter_size={filter_size}")
    row = np.array([1.0])
    for _ in range(filter_size - 1):
        row = np.convolve(row, [1.0, 1.0])
    return row / row.sum()


def blur_pool_spec(input_shape, *, filter_size=3, stride=2, padding_mode="reflect") -> ConvSpec:
    """The depthwise conv geometry of a blur pool on ``input_shape = (C, n1, ..., nd)``.

    As in the paper's code (``antialiased_cnns.BlurPool``): pad each axis by
    ``((k-1)//2, ceil((k-1)/2))`` (the extra sample on the high side) in
    ``padding_mode``, then correlate with the binomial filter at ``stride``,
    one channel at a time; the output has ``ceil(n / stride)`` samples.

    Examples
    --------
    >>> spec = blur_pool_spec((3, 9, 8), filter_size=4)
    >>> spec.padding, spec.output_shape
    (((1, 2), (1, 2)), (3, 5, 4))
    """
    channels, spatial = _channels_and_spatial(input_shape)
    binomial_filter(filter_size)  # validates
    if padding_mode not in BLUR_PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {BLUR_PADDING_MODES}, "
                         f"got padding_mode={padding_mode!r}")
    pads = (blur_pool_padding(filter_size),) * len(spatial)
    return ConvSpec((channels, 1) + (filter_size,) * len(spatial), (channels,) + spatial,
                    stride=stride, padding=pads, groups=channels, padding_mode=padding_mode)


def blur_kernel(channels: int, filter_size: int, ndim: int) -> np.ndarray:
    """The depthwise weight ``(C, 1, k, ..., k)``: the binomial filter's outer product, per channel.

    Examples
    --------
    >>> blur_kernel(2, 3, 2)[1, 0] * 16
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    channels = as_int(channels, "channels", minimum=1)
    a = binomial_filter(filter_size)
    check_budget(8 * channels * len(a) ** ndim, DEFAULT_MAX_BYTES, f"a blur kernel for {channels:,} "
                 f"channels", "use fewer channels (a layer this size does not fit in memory)")
    w = np.ones(())
    for _ in range(ndim):
        w = np.multiply.outer(w, a)
    return np.broadcast_to(w, (channels, 1) + w.shape).copy()


def blur_pool_matrix(input_shape, *, filter_size=3, stride=2, padding_mode="reflect"):
    """A blur pool (binomial blur per channel, then subsampling) as a sparse matrix.

    Examples
    --------
    >>> M = blur_pool_matrix((1, 6), filter_size=3)
    >>> (M.toarray() * 4).astype(int)
    array([[2, 2, 0, 0, 0, 0],
           [0, 1, 2, 1, 0, 0],
           [0, 0, 0, 1, 2, 1]])
    """
    spec = blur_pool_spec(input_shape, filter_size=filter_size, stride=stride,
                          padding_mode=padding_mode)
    return conv_matrix(blur_kernel(spec.in_channels, filter_size, spec.ndim), spec)


def blur_pool_operator(input_shape, *, filter_size=3, stride=2, padding_mode="reflect"):
    """A blur pool as a matrix-free operator (:func:`~convtheory.conv_operator` of its kernel).

    Examples
    --------
    >>> A = blur_pool_operator((3, 16, 16), filter_size=5)
    >>> A.shape
    (192, 768)
    """
    spec = blur_pool_spec(input_shape, filter_size=filter_size, stride=stride,
                          padding_mode=padding_mode)
    return conv_operator(blur_kernel(spec.in_channels, filter_size, spec.ndim), spec)
