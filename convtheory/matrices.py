"""The convolution as an explicit matrix: numeric CSR or exact sympy.

Both builders read the taps of :mod:`convtheory.taps`; the numeric one writes
the CSR arrays directly in row order (no COO round trip, no sort), one output
channel at a time, so that peak memory stays close to the matrix's own bytes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import sympy

from .spec import ConvSpec
from .taps import (DEFAULT_MAX_BYTES, _cached_by_bytes, _spatial_taps, channel_layout, conv_taps,
                   count_taps)
from .validation import as_bool, as_instance, as_itemsize, as_max_bytes, check_budget
from .threads import parallel_blocks
from .weights import conv_arguments

__all__ = ["DEFAULT_MAX_BYTES", "MAX_SYMBOLIC_TAPS", "conv_matrix", "estimate_matrix_bytes"]

# DEFAULT_MAX_BYTES (2 GiB), the default memory budget of conv_matrix, is the
# taps' budget: one number for every explicit view.  Pass ``max_bytes`` to
# change it for one call.

# Peak bytes of the cached tap layout and its temporaries, per entry of one
# output channel and per (output position, kernel position) pair; measured
# with tracemalloc on cold builds, with headroom.
_LAYOUT_BYTES_PER_ENTRY = 80
_LAYOUT_BYTES_PER_GRID_TAP = 64

#: Largest symbolic matrix :func:`conv_matrix` builds, in taps: sympy spends
#: about 0.1 ms per tap, so this bounds a symbolic build to seconds.
MAX_SYMBOLIC_TAPS = 100_000

# A sympy entry costs far more than a float: the expression, the dict slot and
# the key tuple.  This is a deliberately generous estimate per stored entry.
_SYMBOLIC_BYTES_PER_ENTRY = 600


def estimate_matrix_bytes(spec: ConvSpec, *, symbolic: bool = False, itemsize: int = 8) -> int:
    """Upper bound on the bytes :func:`conv_matrix` would allocate.

    Counts the CSR arrays (values, int32 or int64 column indices, row
    pointers) and, for the first build of a geometry, the tap layout and its
    temporaries (see :func:`~convtheory.taps.channel_layout`).

    Examples
    --------
    >>> spec = ConvSpec((32, 16, 3, 3), (16, 128, 128), padding=1)
    >>> round(estimate_matrix_bytes(spec) / 2**20)
    1044
    """
    spec = as_instance(spec, ConvSpec, "spec")
    symbolic = as_bool(symbolic, "symbolic")
    itemsize = as_itemsize(itemsize)
    nnz = count_taps(spec)  # nnz before folding: an upper bound
    n_rows, n_cols = spec.matrix_shape
    if symbolic:
        return nnz * _SYMBOLIC_BYTES_PER_ENTRY
    index_size = 4 if max(nnz, n_cols) < 2**31 else 8
    # The first build of a geometry also computes its taps: int64 temporaries
    # over every (output position, kernel position) and over one output
    # channel's entries.  They matter when there are few channels.
    taps_grid = int(np.prod(spec.output_spatial)) * int(np.prod(spec.kernel_size))
    layout = (_LAYOUT_BYTES_PER_ENTRY * (nnz // max(spec.out_channels, 1))
              + _LAYOUT_BYTES_PER_GRID_TAP * taps_grid)
    return nnz * (itemsize + index_size) + (n_rows + 1) * index_size + layout


def conv_matrix(weight, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
                padding_mode="zeros", flip=False, max_bytes=DEFAULT_MAX_BYTES):
    r"""The convolution as an explicit sparse matrix.

    ``M @ x.ravel()`` equals the output of ``torch.nn.ConvNd`` (with these
    arguments and ``bias=False``) applied to ``x``, raveled in C order over
    ``(channel, spatial...)``.

    Parameters
    ----------
    weight : (C_out, C_in/groups, k1, ..., kd) array_like, or (k1, ..., kd)
        Numeric weights, or sympy weights (see :func:`kernel_symbols`).  With
        the single-channel shorthand, ``weight.ndim == len(input_shape)``.
    input_shape : tuple of int, or ConvSpec
        ``(C_in, n1, ..., nd)``, or ``(n1, ..., nd)`` with the shorthand.  A
        :class:`ConvSpec` may be given instead of shape and options.
    stride, padding, dilation, groups, padding_mode
        As in ``torch.nn.ConvNd``; ``padding`` also takes ``(lo, hi)`` pairs
        and ``"full"`` (see :func:`resolve_padding`).
    flip : bool
        ``True`` for true convolution (``scipy.signal.convolve``).
    max_bytes : int
        Refuse, before allocating, to build a matrix estimated to need more
        (default :data:`DEFAULT_MAX_BYTES`, 2 GiB).  An int >= 1: a float
        (even ``inf``) is a TypeError.  Symbolic weights are also refused
        above :data:`MAX_SYMBOLIC_TAPS` taps, whatever the budget.

    Returns
    -------
    M : (C_out*prod(o), C_in*prod(n)) scipy.sparse.csr_array or sympy.ImmutableSparseMatrix
        Numeric weights give a ``csr_array`` with canonical (sorted, summed)
        indices, int32 where they fit.  Its pattern is *structural*: an entry
        is stored for every tap, even where the weight value is zero.
        Symbolic weights give an exact sympy sparse matrix.

    Notes
    -----
    Index rule, per spatial axis (cross-correlation, zero padding)::

        M[(c_o, o), (c_i, i)] = w[c_o, c_i - g*C_in/groups, a]  where  i = o*s + a*d - lo

    and summed over ``a`` where a boundary mode sends two positions ``a`` to
    one ``i``.  For a 1-D kernel ``[a, b, c]`` on 5 inputs with ``padding=1``::

        [[b c . . .]
         [a b c . .]
         [. a b c .]
         [. . a b c]
         [. . . a b]]

    Circular padding wraps the corner entries around (a circulant); reflect
    and replicate fold them onto the first and last columns.

    Conventions of other libraries, for a kernel of even length K (for odd K
    they all agree with ``padding="same"``):

    * ``scipy.signal.correlate(x, w, "same")``, ``numpy.correlate`` and
      ``scipy.ndimage.correlate`` put the extra padded element on the low
      side: ``padding=[(K//2, (K-1)//2)]`` (and they conjugate complex ``w``).
      ``scipy.signal.convolve`` and ``numpy.convolve`` are the same padding
      with ``flip=True``.
    * ``scipy.signal.correlate2d(x, w, "same")`` and PyTorch put it on the
      high side: ``padding="same"``.  ``scipy.ndimage.convolve`` is
      ``padding="same", flip=True``.
    * ``padding_mode="reflect"`` is ``scipy.ndimage``'s ``"mirror"`` and
      ``numpy.pad``'s ``"reflect"``; ndimage's ``"reflect"`` (scipy.signal's
      ``"symm"``) repeats the edge sample and has no mode here.

    Examples
    --------
    The textbook example: a 3x3 kernel on a 4x4 image gives a 4x16 matrix
    with 9 nonzeros per row.

    >>> import numpy as np
    >>> from scipy.signal import correlate2d
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((3, 3)), rng.standard_normal((4, 4))
    >>> M = conv_matrix(w, x.shape)
    >>> M.shape, M.nnz
    ((4, 16), 36)
    >>> np.allclose(M @ x.ravel(), correlate2d(x, w, mode="valid").ravel())
    True

    An even kernel in scipy's "same" convention:

    >>> from scipy.signal import correlate
    >>> w4, x9 = rng.standard_normal(4), rng.standard_normal(9)
    >>> np.allclose(conv_matrix(w4, (9,), padding=[(2, 1)]) @ x9, correlate(x9, w4, "same"))
    True

    Symbolic weights, and the sum that replicate padding makes:

    >>> from convtheory import kernel_symbols
    >>> conv_matrix(kernel_symbols((3,)), (3,), padding=1, padding_mode="replicate")
    Matrix([
    [w_0 + w_1,       w_2,         0],
    [      w_0,       w_1,       w_2],
    [        0,       w_0, w_1 + w_2]])
    """
    w, spec = conv_arguments(weight, input_shape, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, padding_mode=padding_mode, flip=flip)
    symbolic = w.dtype == object
    max_bytes = as_max_bytes(max_bytes)
    if symbolic and count_taps(spec) > MAX_SYMBOLIC_TAPS:
        raise ValueError(
            f"conv_matrix would build a sympy matrix with {count_taps(spec):,} taps, over "
            f"MAX_SYMBOLIC_TAPS={MAX_SYMBOLIC_TAPS:,} (sympy needs about a minute per 500,000); "
            f"use numeric weights (conv_taps(...) gives the same structure) or a smaller input")
    needed = estimate_matrix_bytes(spec, symbolic=symbolic, itemsize=w.itemsize if not symbolic else 8)
    check_budget(needed, max_bytes, f"conv_matrix of a {spec.matrix_shape[0]:,} x "
                 f"{spec.matrix_shape[1]:,} matrix",
                 "use conv_operator(...) for a matrix-free operator, or pass a larger max_bytes")
    if symbolic:
        return _symbolic_matrix(w, spec)
    return _csr_matrix(w, spec)


def _csr_matrix(w: np.ndarray, spec: ConvSpec) -> sp.csr_array:
    lay = channel_layout(spec)
    c_out = spec.out_channels
    n_rows, n_cols = spec.matrix_shape
    per_co = len(lay.cols)
    nnz = c_out * per_co
    index_dtype = np.int32 if max(nnz, n_cols) < 2**31 else np.int64
    dtype = w.dtype if np.issubdtype(w.dtype, np.inexact) else np.float64

    indptr = np.empty(n_rows + 1, dtype=index_dtype)
    indptr[0] = 0
    np.cumsum(np.tile(lay.row_nnz, c_out), out=indptr[1:])
    indices = np.empty(nnz, dtype=index_dtype)
    data = np.empty(nnz, dtype=dtype)
    cols = lay.cols.astype(index_dtype)
    block = spec.in_channels_per_group * int(np.prod(spec.input_spatial))
    w2 = w.reshape(c_out, -1)
    values = data.reshape(c_out, per_co)
    runs = _row_runs(spec)
    by_runs = len(runs.entry_start) * _ENTRIES_PER_RUN_CALL <= nnz
    run_list = list(zip(*(a.tolist() for a in runs[:5]))) if by_runs else []

    def channels(c0, c1):
        # Output channels [c0, c1): their rows are one contiguous block of the CSR
        # arrays, so blocks of channels are written side by side by the workers.
        for co in range(c0, c1):
            out = slice(co * per_co, (co + 1) * per_co)
            np.add(cols, (co // spec.out_channels_per_group) * block, out=indices[out])
        vals = values[c0:c1]
        if by_runs:
            # Rows with the same taps (all interior rows, each edge, each corner)
            # hold the same values: compute them once per run and write the run as
            # one broadcast, for every output channel of the block at once.  That is
            # a memset-speed write where a gather would also read an index per entry.
            for es, n, length, ts, nt in run_list:
                taps = w2[c0:c1, lay.tap_weight[ts:ts + nt]]
                if lay.canonical:
                    segment = taps
                else:  # reflect, replicate, wrap: taps that share an input add up
                    segment = np.zeros((c1 - c0, length), dtype=dtype)
                    np.add.at(segment, (slice(None), runs.local_entry[ts:ts + nt]), taps)
                vals[:, es:es + n * length].reshape(c1 - c0, n, length)[...] = segment[:, None, :]
        elif lay.canonical:
            for co in range(c0, c1):
                np.take(w2[co], lay.tap_weight, out=values[co])
        else:
            for co in range(c0, c1):
                values[co] = _fold(w2[co], lay, per_co)

    # Worth a thread only when a block holds enough entries to hide the pool's start-up.
    parallel_blocks(c_out, channels, min_items=max(1, _ENTRIES_PER_THREAD // max(per_co, 1)))
    M = sp.csr_array((data, indices, indptr), shape=(n_rows, n_cols), copy=False)
    # Built sorted and duplicate-free by construction; tell scipy so it does not re-check.
    M.has_sorted_indices = True
    M.has_canonical_format = True
    return M


# A run is written with one numpy call; below this many entries per call the
# per-call overhead outweighs the gather it saves.
_ENTRIES_PER_RUN_CALL = 4096
# Below this many entries per worker, a thread pool costs more than it saves.
_ENTRIES_PER_THREAD = 1 << 20


class _RowRuns(NamedTuple):
    entry_start: np.ndarray   # first entry of the run's first row
    n_rows: np.ndarray        # rows in the run
    n_entries: np.ndarray     # entries per row
    tap_start: np.ndarray     # first tap of the run's first row
    n_taps: np.ndarray        # taps per row
    local_entry: np.ndarray   # entry of each tap within its row (folded layouts only)


@_cached_by_bytes
def _row_runs(spec: ConvSpec) -> _RowRuns:
    """Maximal runs of consecutive rows whose taps carry the same weights.

    Every row of a run has the taps ``tap_weight[tap_start : tap_start +
    n_taps]`` of its first row, landing on the same entries of the row, so
    it holds the same values; the run covers ``n_rows * n_entries`` entries
    from ``entry_start`` of each output channel's CSR values.
    """
    lay = channel_layout(spec)
    n_ent = lay.row_nnz
    # Unchecked: conv_matrix's own estimate (estimate_matrix_bytes) covers the taps.
    n_tap = spec.in_channels_per_group * np.diff(_spatial_taps(spec).indptr)
    n_rows = len(n_ent)
    ent_start = np.concatenate(([0], np.cumsum(n_ent)[:-1])).astype(np.int64)
    tap_start = np.concatenate(([0], np.cumsum(n_tap)[:-1])).astype(np.int64)
    row = np.repeat(np.arange(n_rows), n_tap)
    local = None if lay.canonical else lay.tap_entry - ent_start[row]
    # Row r continues the run of row r-1 when it has as many taps and entries
    # and each tap carries the weight (and lands on the entry) of the tap one
    # row earlier.
    same = np.zeros(n_rows, dtype=bool)
    same[1:] = (n_ent[1:] == n_ent[:-1]) & (n_tap[1:] == n_tap[:-1])
    check = np.flatnonzero(same[row])
    back = check - n_tap[row[check]]
    differs = lay.tap_weight[check] != lay.tap_weight[back]
    if local is not None:
        differs |= local[check] != local[back]
    same &= np.bincount(row[check[differs]], minlength=n_rows) == 0
    first = np.flatnonzero(~same)
    counts = np.diff(np.append(first, n_rows))
    return _RowRuns(ent_start[first], counts, n_ent[first], tap_start[first], n_tap[first],
                    local)


def _fold(w_co: np.ndarray, lay, n_entries: int) -> np.ndarray:
    """Sum the weights of taps that land on the same entry (reflect, replicate, wrap)."""
    values = w_co[lay.tap_weight]
    if np.iscomplexobj(values):
        return (np.bincount(lay.tap_entry, values.real, n_entries)
                + 1j * np.bincount(lay.tap_entry, values.imag, n_entries)).astype(w_co.dtype)
    return np.bincount(lay.tap_entry, values, n_entries).astype(w_co.dtype)


def _symbolic_matrix(w: np.ndarray, spec: ConvSpec) -> sympy.ImmutableSparseMatrix:
    taps = conv_taps(spec)
    flat = w.ravel()
    entries: dict = {}
    for r, c, k in zip(taps.rows.tolist(), taps.cols.tolist(), taps.kernel.tolist()):
        entries[r, c] = entries.get((r, c), 0) + flat[k]
    return sympy.ImmutableSparseMatrix(*spec.matrix_shape, entries)
