"""Taps: the geometry of a convolution, computed once, read by every view.

A *tap* is a triple ``(row, col, k)``: output unit ``row`` reads input unit
``col`` through weight ``k`` (all three are flat C-order indices: rows over
``(C_out, o1, ..., od)``, columns over ``(C_in, n1, ..., nd)``, weights over
``(C_out, C_in/groups, k1, ..., kd)``).  The conv matrix is

    M(w) = sum over taps of w[k] * e_row e_col^T,

so ``B_k = dM/dw_k`` is the 0/1 (or, where reflect and replicate fold two taps
onto one input, small-integer) pattern of the taps of weight ``k``.

The spatial part is shared by every (output channel, input channel) pair, so
it is computed once (:func:`spatial_taps`) from the per-axis tables of
:class:`~convtheory.spec.ConvSpec`, and channels are laid over it
(:func:`channel_layout`, :func:`conv_taps`).  Nothing here computes an index
from stride, padding or dilation: that lives in :mod:`convtheory.geometry`.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass, fields, is_dataclass

import numpy as np

from .spec import ConvSpec
from .validation import as_instance, check_budget

__all__ = [
    "ChannelLayout",
    "DEFAULT_MAX_BYTES",
    "SpatialTaps",
    "Taps",
    "channel_layout",
    "conv_taps",
    "count_taps",
    "spatial_taps",
]


#: Bytes of tap arrays each of :func:`spatial_taps` and :func:`channel_layout`
#: keeps cached (least recently used first out).  A result larger than this
#: is returned but not kept: a one-off huge geometry must not pin its taps.
TAPS_CACHE_BYTES = 256 * 2**20
_TAPS_CACHE_SIZE = 64

#: Default memory budget of one explicit view of a conv (tap arrays, matrices):
#: a geometry whose estimate is over it is refused with advice, never allocated.
DEFAULT_MAX_BYTES = 2 * 1024**3

# Bytes per (output position, kernel position) pair while spatial_taps works:
# the int64 column and kernel grids, the validity mask and the kept taps.
_SPATIAL_BYTES_PER_PAIR = 8 + 8 + 1 + 8 + 8 + 8
# Bytes per tap of conv_taps: rows, cols and kernel, int64 each.
_BYTES_PER_TAP = 3 * 8


def _spatial_bytes(spec) -> int:
    """Working memory of :func:`spatial_taps`, from the output and kernel sizes alone."""
    pairs = int(np.prod(spec.output_spatial, dtype=object)) \
        * int(np.prod(spec.kernel_size, dtype=object))
    return pairs * _SPATIAL_BYTES_PER_PAIR


def _check_budget(max_bytes, needed: int, what: str, spec) -> None:
    """Refuse (ValueError with advice) when ``needed`` bytes are over ``max_bytes``."""
    check_budget(needed, max_bytes, f"{what} of a kernel {spec.weight_shape} on input "
                 f"{spec.input_shape}",
                 "use a smaller input (the structure does not depend on its size), "
                 "conv_operator(...) for products, or pass a larger max_bytes")


def _nbytes(value) -> int:
    """Bytes of the distinct arrays a tap dataclass (or tuple of arrays) holds."""
    items = (getattr(value, f.name) for f in fields(value)) if is_dataclass(value) else value
    arrays = {id(a): a for a in items if isinstance(a, np.ndarray)}
    return sum(a.nbytes for a in arrays.values())


def _cached_by_bytes(fn):
    """``lru_cache`` for a one-argument function, bounded by the bytes of its results.

    At most ``_TAPS_CACHE_SIZE`` results totalling at most
    :data:`TAPS_CACHE_BYTES` are kept; ``fn.cache_clear()`` as for
    ``lru_cache``, and ``fn.cache_len()``, ``fn.cache_bytes()`` to inspect it.
    """
    cache: OrderedDict = OrderedDict()
    sizes: dict = {}
    lock = threading.Lock()

    @functools.wraps(fn)
    def wrapper(spec):
        with lock:
            if spec in cache:
                cache.move_to_end(spec)
                return cache[spec]
        value = fn(spec)
        size = _nbytes(value)
        with lock:
            if size <= TAPS_CACHE_BYTES and spec not in cache:
                cache[spec], sizes[spec] = value, size
                while len(cache) > _TAPS_CACHE_SIZE or sum(sizes.values()) > TAPS_CACHE_BYTES:
                    old, _ = cache.popitem(last=False)
                    del sizes[old]
        return value

    def cache_clear():
        with lock:
            cache.clear()
            sizes.clear()

    wrapper.cache_clear = cache_clear
    wrapper.cache_bytes = lambda: sum(sizes.values())
    wrapper.cache_len = lambda: len(cache)
    return wrapper


def _readonly(*arrays):
    for a in arrays:
        a.setflags(write=False)


@dataclass(frozen=True, eq=False)
class SpatialTaps:
    """Taps of one (output channel, input channel) pair.

    Attributes
    ----------
    indptr : (P+1,) int64
        Taps of spatial output position ``p`` are ``indptr[p]:indptr[p+1]``,
        ordered by kernel position (so by input position for zero padding).
    cols : (T,) int64
        Flat spatial input index of each tap.
    kernel : (T,) int64
        Flat spatial kernel index (the weight) of each tap; ``flip`` applied.
    entry_indptr, entry_cols : int64 arrays
        The distinct input positions each output reads, sorted: the CSR
        pattern of one channel pair.  Equal to ``indptr``/``cols`` except
        where a boundary mode folds taps together or wraps them.
    entry : (T,) int64
        Index into ``entry_cols`` of each tap.
    canonical : bool
        True when every tap is its own entry (no folding, already sorted).

    Examples
    --------
    Replicate padding folds the two left taps of output 0 onto input 0:

    >>> from convtheory import ConvSpec
    >>> st = spatial_taps(ConvSpec((3,), (3,), padding=1, padding_mode="replicate"))
    >>> st.n_taps, st.n_entries, st.canonical
    (9, 7, False)
    >>> st.cols[:3].tolist(), st.kernel[:3].tolist(), st.entry[:3].tolist()
    ([0, 0, 1], [0, 1, 2], [0, 0, 1])
    """

    indptr: np.ndarray
    cols: np.ndarray
    kernel: np.ndarray
    entry_indptr: np.ndarray
    entry_cols: np.ndarray
    entry: np.ndarray
    canonical: bool

    @property
    def n_taps(self) -> int:
        return len(self.cols)

    @property
    def n_entries(self) -> int:
        return len(self.entry_cols)

    @property
    def rows(self) -> np.ndarray:
        """Spatial output position of each tap."""
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))


def count_taps(spec: ConvSpec) -> int:
    """Number of taps of the whole conv, counted without building them.

    Taps per channel pair are the product over axes of the taps that land
    inside the input (for zero padding) or all taps (other modes); there are
    ``C_out * C_in/groups`` channel pairs.  Reflect and replicate may fold
    several taps into one matrix entry, so this bounds ``nnz`` from above.
    Use it to estimate memory before building anything.

    Examples
    --------
    >>> from convtheory import ConvSpec
    >>> count_taps(ConvSpec((3, 3), (4, 4)))          # the textbook 4x16 matrix
    36
    >>> count_taps(ConvSpec((8, 2, 3), (4, 10), padding=1, groups=2))  # 8 * 2 * (10*3 - 2)
    448
    """
    per_pair = 1
    for axis in range(spec.ndim):
        per_pair *= int(np.count_nonzero(spec.axis_table(axis) >= 0))
    return per_pair * spec.out_channels * spec.in_channels_per_group


def spatial_taps(spec: ConvSpec, *, max_bytes: int = DEFAULT_MAX_BYTES) -> SpatialTaps:
    """The taps of one channel pair, derived from the per-axis tap tables.

    Parameters
    ----------
    spec : ConvSpec
    max_bytes : int
        Refuse (``ValueError``) a geometry whose working memory, estimated
        from the output and kernel sizes before anything is built, is over
        this many bytes.  Results are cached (see :data:`TAPS_CACHE_BYTES`).

    Returns
    -------
    SpatialTaps

    Examples
    --------
    >>> from convtheory import ConvSpec
    >>> st = spatial_taps(ConvSpec((3,), (4,), padding=1))
    >>> st.indptr.tolist(), st.cols.tolist()
    ([0, 2, 5, 8, 10], [0, 1, 0, 1, 2, 1, 2, 3, 2, 3])
    >>> st.kernel.tolist()
    [1, 2, 0, 1, 2, 0, 1, 2, 0, 1]
    """
    spec = as_instance(spec, ConvSpec, "spec")
    _check_budget(max_bytes, _spatial_bytes(spec), "spatial_taps", spec)
    return _spatial_taps(spec)


@_cached_by_bytes
def _spatial_taps(spec: ConvSpec) -> SpatialTaps:
    d = spec.ndim
    n = spec.input_spatial
    k = spec.kernel_size
    # Broadcast the per-axis tables to shape (o1, ..., od, k1, ..., kd).
    col = np.zeros((1,) * (2 * d), dtype=np.int64)
    valid = np.ones((1,) * (2 * d), dtype=bool)
    kern = np.zeros((1,) * (2 * d), dtype=np.int64)
    in_stride = np.cumprod((1,) + n[::-1])[::-1][1:]   # C-order strides of the input
    k_stride = np.cumprod((1,) + k[::-1])[::-1][1:]
    for axis in range(d):
        table = spec.axis_table(axis)
        shape = [1] * (2 * d)
        shape[axis], shape[d + axis] = table.shape
        t = table.reshape(shape)
        col = col + t * in_stride[axis]
        valid = valid & (t >= 0)
        kshape = [1] * (2 * d)
        kshape[d + axis] = k[axis]
        kern = kern + spec.kernel_order(axis).reshape(kshape) * k_stride[axis]
    full = spec.output_spatial + k
    col, valid, kern = (np.broadcast_to(a, full) for a in (col, valid, kern))
    n_out = int(np.prod(spec.output_spatial))
    per_row = valid.reshape(n_out, int(np.prod(k))).sum(axis=1)  # n_out may be 0
    indptr = np.concatenate(([0], np.cumsum(per_row))).astype(np.int64)
    cols = col[valid].astype(np.int64)
    kernel = kern[valid].astype(np.int64)

    rows = np.repeat(np.arange(n_out, dtype=np.int64), per_row)
    n_in = int(np.prod(n))
    key = rows * n_in + cols
    canonical = bool(np.all(np.diff(key) > 0)) if len(key) > 1 else True
    if canonical:
        entry_indptr, entry_cols, entry = indptr, cols, np.arange(len(cols), dtype=np.int64)
    else:
        ukey, entry = np.unique(key, return_inverse=True)
        entry = entry.astype(np.int64).ravel()
        entry_cols = ukey % n_in
        entry_indptr = np.concatenate(([0], np.cumsum(np.bincount(ukey // n_in, minlength=n_out))))
        entry_indptr = entry_indptr.astype(np.int64)
    _readonly(indptr, cols, kernel, entry_indptr, entry_cols, entry)
    return SpatialTaps(indptr, cols, kernel, entry_indptr, entry_cols, entry, canonical)


@dataclass(frozen=True, eq=False)
class ChannelLayout:
    """The CSR layout of one output channel's rows, over its group's inputs.

    Every output channel of a group has the same pattern; only the column
    offset (``group * C_in/groups * prod(n)``) and the weight values differ.
    Rows are ordered by spatial output position; within a row, by input
    channel, then by input position.

    Attributes
    ----------
    row_nnz : (P,) int64
        Stored entries of each row.
    cols : (E,) int64
        Column of each entry, relative to the group's first input column.
    tap_entry : (T_c,) int64
        Entry that each tap adds into (``arange`` when canonical).
    tap_weight : (T_c,) int64
        Index into ``weight[c_out].ravel()`` of each tap.
    canonical : bool
        True when ``tap_entry`` is the identity.

    Examples
    --------
    Two input channels: each output row holds both channels' windows.

    >>> from convtheory import ConvSpec
    >>> lay = channel_layout(ConvSpec((1, 2, 2), (2, 3)))
    >>> lay.row_nnz.tolist(), lay.cols[:4].tolist(), lay.canonical
    ([4, 4], [0, 1, 3, 4], True)
    """

    row_nnz: np.ndarray
    cols: np.ndarray
    tap_entry: np.ndarray
    tap_weight: np.ndarray
    canonical: bool


def _expand_channels(indptr, values, c_in_g, per_channel):
    """Lay per-row segments out as (row, channel, item), adding a per-channel offset.

    ``values`` is a flat array of per-row segments delimited by ``indptr``;
    the result holds, for every row, ``c_in_g`` copies of that row's segment,
    copy ``c`` shifted by ``c * per_channel``.
    """
    count = np.diff(indptr)
    n = len(values)
    row = np.repeat(np.arange(len(count)), count)
    within = np.arange(n) - indptr[row]
    c = np.arange(c_in_g, dtype=np.int64)[:, None]
    pos = c_in_g * indptr[row][None, :] + c * count[row][None, :] + within[None, :]
    out = np.empty(c_in_g * n, dtype=np.int64)
    out[pos.ravel()] = (values[None, :] + c * per_channel).ravel()
    return out, pos.ravel()


@_cached_by_bytes
def channel_layout(spec: ConvSpec) -> ChannelLayout:
    """CSR layout shared by all output channels of ``spec``.

    Examples
    --------
    >>> from convtheory import ConvSpec
    >>> lay = channel_layout(ConvSpec((1, 2, 2), (2, 3)))
    >>> lay.row_nnz.tolist(), lay.cols.tolist()
    ([4, 4], [0, 1, 3, 4, 1, 2, 4, 5])
    >>> lay.tap_weight.tolist()
    [0, 1, 2, 3, 0, 1, 2, 3]
    """
    st = _spatial_taps(spec)  # unchecked: callers such as conv_matrix budget the layout
    c_in_g = spec.in_channels_per_group
    n_in = int(np.prod(spec.input_spatial))
    k_vol = int(np.prod(spec.kernel_size))
    cols, _ = _expand_channels(st.entry_indptr, st.entry_cols, c_in_g, n_in)
    row_nnz = c_in_g * np.diff(st.entry_indptr)
    tap_weight, tap_pos = _expand_channels(st.indptr, st.kernel, c_in_g, k_vol)
    if st.canonical:
        tap_entry = np.arange(len(tap_weight), dtype=np.int64)
    else:
        # Map each tap to its entry in the (row, channel, entry) layout.
        ent_count = np.diff(st.entry_indptr)
        row = st.rows
        local = st.entry - st.entry_indptr[row]
        c = np.arange(c_in_g, dtype=np.int64)[:, None]
        entry_pos = c_in_g * st.entry_indptr[row][None, :] + c * ent_count[row][None, :] + local[None, :]
        tap_entry = np.empty(len(tap_weight), dtype=np.int64)
        tap_entry[tap_pos] = entry_pos.ravel()
    _readonly(row_nnz, cols, tap_entry, tap_weight)
    return ChannelLayout(row_nnz, cols, tap_entry, tap_weight, st.canonical)


@dataclass(frozen=True, eq=False)
class Taps:
    """All taps ``(rows, cols, kernel)`` of a conv, as flat index arrays.

    Ordered as the CSR matrix stores them: by row, then input channel, then
    kernel position.  Reflect and replicate may give two taps the same
    ``(row, col)``; the matrix entry there is the sum of their weights.

    Attributes
    ----------
    spec : ConvSpec
    rows, cols, kernel : (T,) int64

    Examples
    --------
    Each weight of a 2-tap kernel on 4 inputs meets 3 positions:

    >>> from convtheory import ConvSpec
    >>> t = conv_taps(ConvSpec((2,), (4,)))
    >>> len(t), t.shared_positions().tolist()  # shaped like the weight (1, 1, 2)
    (6, [[[3, 3]]])
    """

    spec: ConvSpec
    rows: np.ndarray
    cols: np.ndarray
    kernel: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def shared_positions(self) -> np.ndarray:
        """Number of taps of each weight (the sharing count), shape ``weight_shape``."""
        return np.bincount(self.kernel, minlength=self.spec.n_weights).reshape(self.spec.weight_shape)


def conv_taps(spec: ConvSpec, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Taps:
    """Every tap of a convolution, channels and groups included.

    Memory is three int64 arrays of ``C_out * C_in/groups * (taps per
    channel pair)`` entries; the matrix builders avoid materialising them.

    Parameters
    ----------
    spec : ConvSpec
    max_bytes : int
        Refuse (``ValueError``) when the tap arrays, counted with
        :func:`count_taps` before anything is built, and the spatial taps
        they expand would be over this many bytes.

    Returns
    -------
    Taps

    Examples
    --------
    The 1-D valid correlation of a length-4 signal with a length-2 kernel:

    >>> from convtheory import ConvSpec
    >>> t = conv_taps(ConvSpec((2,), (4,)))
    >>> list(zip(t.rows.tolist(), t.cols.tolist(), t.kernel.tolist()))
    [(0, 0, 0), (0, 1, 1), (1, 1, 0), (1, 2, 1), (2, 2, 0), (2, 3, 1)]
    """
    spec = as_instance(spec, ConvSpec, "spec")
    # The tap arrays plus the spatial taps they are expanded from.
    _check_budget(max_bytes, count_taps(spec) * _BYTES_PER_TAP + _spatial_bytes(spec),
                  "conv_taps", spec)
    lay = channel_layout(spec)
    st = spatial_taps(spec, max_bytes=max_bytes)
    c_out, c_in_g = spec.out_channels, spec.in_channels_per_group
    n_in = int(np.prod(spec.input_spatial))
    n_out = int(np.prod(spec.output_spatial))
    # Rows and relative columns of one output channel's taps, in tap order.
    tap_row_sp = np.repeat(np.arange(n_out, dtype=np.int64), c_in_g * np.diff(st.indptr))
    tap_cols_rel, _ = _expand_channels(st.indptr, st.cols, c_in_g, n_in)
    co = np.arange(c_out, dtype=np.int64)[:, None]
    group = co // spec.out_channels_per_group
    rows = (co * n_out + tap_row_sp[None, :]).ravel()
    cols = (group * c_in_g * n_in + tap_cols_rel[None, :]).ravel()
    kernel = (co * c_in_g * int(np.prod(spec.kernel_size)) + lay.tap_weight[None, :]).ravel()
    return Taps(spec, rows, cols, kernel)


# The cache lives on the worker; expose its controls on the public function.
spatial_taps.cache_clear = _spatial_taps.cache_clear
spatial_taps.cache_bytes = _spatial_taps.cache_bytes
spatial_taps.cache_len = _spatial_taps.cache_len
