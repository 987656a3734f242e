"""im2col and col2im: the gathered form of a convolution, read from the tap tables.

``im2col`` lays out, for every weight, the input values that weight meets at
every output position; a convolution is then one matrix product with the
weights, ``y = W.reshape(C_out, -1) @ cols`` (per group), and its adjoint is
``col2im`` after the transposed product.

Nothing here computes an index from stride, padding or dilation.  The per-axis
tap tables of :class:`~convtheory.spec.ConvSpec` are read once per kernel
position: where a table column is an arithmetic progression over a contiguous
run of outputs (always, for zero padding) it becomes a pair of slices and the
gather is a strided block copy.  Every other boundary mode (circular, reflect,
replicate, ...) first pads the input once into a reused buffer with
:class:`~convtheory.padded.Padder` and then gathers from the buffer through
the tables of the same conv without padding, which are all slices; ``col2im``
then sums into the buffer and folds its border back (the adjoint of the
padding).  So a boundary mode costs one small extra copy, not index-array
gathers and ``np.add.at``.  ``-1`` (zero padding) is never read: those entries
of ``cols`` keep ``fill_value``.

Layout: ``cols`` has shape ``(C_in, prod(k), N, prod(o))`` and row
``(c, j)`` is input channel ``c`` through weight ``j`` (flat C-order index
into the kernel, ``flip`` applied), so ``weight.reshape(C_out, C_in/groups *
prod(k))`` multiplies it directly, group by group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import ConvSpec
from .matrices import DEFAULT_MAX_BYTES
from .validation import as_instance, as_max_bytes, as_real, check_budget
from .padded import Padder

__all__ = ["Im2col", "col2im", "im2col"]


@dataclass(frozen=True)
class _Copy:
    """One kernel position: write ``cols[:, weight]`` at ``dst`` from the input at ``src``."""

    weight: int
    src: tuple
    dst: tuple
    sliced: bool  # True: basic slices (a view); False: outer index arrays (np.ix_)


def _axis_moves(table: np.ndarray) -> list:
    """Per kernel position of one axis: (dst, src) as slices when affine, else index arrays."""
    moves = []
    for a in range(table.shape[1]):
        col = table[:, a]
        out_idx = np.flatnonzero(col >= 0)
        if len(out_idx) == 0:
            moves.append(None)  # this position only ever lands in zero padding
            continue
        src = col[out_idx]
        contiguous = out_idx[-1] - out_idx[0] + 1 == len(out_idx)
        step = int(src[1] - src[0]) if len(src) > 1 else 1
        if contiguous and step > 0 and np.all(np.diff(src) == step):
            moves.append((slice(int(out_idx[0]), int(out_idx[-1]) + 1),
                          slice(int(src[0]), int(src[-1]) + 1, step)))
        else:
            moves.append((out_idx, src))
    return moves


def _length(index, n: int) -> int:
    """Number of positions a slice or an index array selects on an axis of length ``n``."""
    return len(range(*index.indices(n))) if isinstance(index, slice) else len(index)


def _as_index(move) -> np.ndarray:
    return np.arange(move.start, move.stop, move.step) if isinstance(move, slice) else move


def _plan(spec: ConvSpec) -> tuple:
    """The copies that build ``cols``, one per kernel position that touches the input."""
    per_axis = [_axis_moves(spec.axis_table(axis)) for axis in range(spec.ndim)]
    orders = [spec.kernel_order(axis) for axis in range(spec.ndim)]
    copies = []
    for position in np.ndindex(*spec.kernel_size):
        moves = [per_axis[axis][a] for axis, a in enumerate(position)]
        if any(m is None for m in moves):
            continue
        weight = int(np.ravel_multi_index(
            tuple(int(orders[axis][a]) for axis, a in enumerate(position)), spec.kernel_size))
        if all(isinstance(m[0], slice) for m in moves):
            copies.append(_Copy(weight, tuple(m[1] for m in moves), tuple(m[0] for m in moves), True))
        else:
            dst = np.ix_(*[_as_index(m[0]) for m in moves])
            src = np.ix_(*[_as_index(m[1]) for m in moves])
            copies.append(_Copy(weight, src, dst, False))
    return tuple(copies)


class Im2col:
    """The gather of one :class:`ConvSpec`, with reusable buffers.

    ``Im2col(spec)(x)`` returns ``cols``; the buffer is kept and reused for
    the next input of the same batch size and dtype, and only the entries
    that read the input are rewritten (the padding entries keep
    ``fill_value``).  So a returned ``cols`` is valid until the next call.

    Parameters
    ----------
    spec : ConvSpec
    fill_value : float
        Value of entries whose tap lands in zero padding: ``0`` for a
        convolution, ``-inf`` for max pooling.
    max_bytes : int
        Refuse, before allocating, a buffer larger than this (default 2 GiB).

    Examples
    --------
    >>> spec = ConvSpec((1, 1, 2), (1, 3), padding=1)
    >>> Im2col(spec)(np.array([[[1.0, 2.0, 3.0]]]))[0, :, 0]
    array([[0., 1., 2., 3.],
           [1., 2., 3., 0.]])
    """

    def __init__(self, spec: ConvSpec, *, fill_value: float = 0.0, max_bytes: int = DEFAULT_MAX_BYTES):
        if not isinstance(spec, ConvSpec):
            raise TypeError(f"spec must be a ConvSpec, got {type(spec).__name__}")
        self.spec = spec
        self.fill_value = as_real(fill_value, "fill_value", finite=False)
        self.max_bytes = as_max_bytes(max_bytes)
        self._padder = None
        if spec.padding_mode != "zeros" and min(spec.input_spatial) > 0:  # nothing to pad when empty
            padder = Padder(spec)
            if not padder.trivial:
                self._padder = padder
                spec = padder.valid_spec()
        self._gather_spec = spec
        self.copies = _plan(spec)
        self._padded = None
        # The shift-and-add (depthwise) pads even zeros into the buffer: then every
        # tap's block is the whole output, one contiguous pass instead of a
        # trimmed, strided one (twice as fast), and the first tap initialises it.
        shift_padder = self._padder
        if shift_padder is None and min(self.spec.input_spatial) > 0:  # empty: nothing to pad
            shift_padder = Padder(self.spec)
        self._shift_padder = None if shift_padder is None or shift_padder.trivial else shift_padder
        self._shift_copies = (self.copies if self._padder is not None or self._shift_padder is None
                              else _plan(shift_padder.valid_spec()))
        # Entries that no copy writes (taps in zero padding) keep fill_value in the
        # kept buffer; after the buffer served as scratch they must be refilled.
        covered = sum(int(np.prod([_length(d, n) for d, n in zip(cp.dst, spec.output_spatial)]))
                      for cp in self.copies)
        self._has_fill = covered < int(np.prod(spec.kernel_size)) * int(np.prod(spec.output_spatial))
        self._dirty = False
        self.k_vol = int(np.prod(spec.kernel_size))
        self.n_out = int(np.prod(spec.output_spatial))
        self._buffer = None

    def _check(self, x: np.ndarray, name: str, shape: tuple) -> None:
        if x.ndim != len(shape) or x.shape[1:] != shape[1:]:
            raise ValueError(f"{name} must have shape (N,) + {shape[1:]}, got {name}.shape={x.shape}")

    def buffer(self, batch: int, dtype) -> np.ndarray:
        """The ``(C_in, prod(k), N, prod(o))`` buffer for ``batch`` inputs of ``dtype``."""
        spec = self.spec
        shape = (spec.in_channels, self.k_vol, batch, self.n_out)
        buf = self._buffer
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            needed = int(np.prod(shape)) * np.dtype(dtype).itemsize
            check_budget(needed, self.max_bytes, f"im2col of a batch of {batch} inputs of shape "
                         f"{spec.input_shape} (cols {shape})", "process the batch in smaller chunks")
            self._buffer = None  # free the old buffer before allocating the new one
            buf = np.full(shape, self.fill_value, dtype=dtype)
            self._buffer = buf
        return buf

    def scratch(self, batch: int, dtype) -> np.ndarray:
        """The kept buffer, to be overwritten by the caller (e.g. the adjoint's GEMM).

        The next gather restores the padding entries first.
        """
        buf = self.buffer(batch, dtype)
        self._dirty = True
        return buf

    def __call__(self, x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """``cols`` of ``x`` (shape ``(N, C_in, n1, ..., nd)``), in the kept buffer or in ``out``.

        ``out``, when given, must have the shape and dtype of ``cols``; it is
        overwritten entirely (padding entries included, with ``fill_value``).
        """
        spec = self.spec
        self._check(x, "x", (None,) + spec.input_shape)
        c, n = spec.in_channels, x.shape[0]
        if out is None:
            cols = self.buffer(n, x.dtype)
            if self._dirty:
                if self._has_fill:
                    cols.fill(self.fill_value)
                self._dirty = False
        else:
            shape = (c, self.k_vol, n, self.n_out)
            if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != x.dtype:
                raise ValueError(f"out must be an ndarray of shape {shape} and dtype {x.dtype}, "
                                 f"got {_describe(out)}")
            # The copies below skip padding taps: a caller's array holds anything there.
            out.fill(self.fill_value)
            cols = out
        if self._padder is not None:
            x = self._padder.pad(x, out=self._padded_buffer(x.shape[0], x.dtype))
        x_t = x.transpose((1, 0) + tuple(range(2, x.ndim)))  # (C_in, N, n1, ..., nd)
        grid = cols.reshape((c, self.k_vol, n) + spec.output_spatial)
        both = (slice(None), slice(None))  # every channel, every sample
        for cp in self.copies:
            grid[:, cp.weight][both + cp.dst] = x_t[both + cp.src]
        return cols

    def depthwise(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """The conv with one weight per channel and tap, without a ``cols`` buffer.

        ``x`` (N, C, n1, ..., nd) and ``weight`` (C, prod(k)) give ``y``
        (N, C, o1, ..., od) with ``y[:, c] = sum_j weight[c, j] * cols[c, j]``:
        one multiply-add of a strided block per tap (a shift-and-add), which
        for one channel pair per group moves less memory than im2col + GEMM.
        """
        c, n = self.spec.in_channels, x.shape[0]
        dtype = np.result_type(x.dtype, weight.dtype)
        self._check_temporaries(n, dtype)
        padder = self._shift_padder
        if padder is not None:
            x = padder.pad(x, out=self._padded_buffer(n, x.dtype, padder))
        if not self._shift_copies:  # an empty input: no taps, and an empty output
            return np.zeros((n, c) + self.spec.output_spatial, dtype=dtype)
        y = np.empty((n, c) + self.spec.output_spatial, dtype=dtype)
        tmp = np.empty_like(y)
        scale = weight.reshape((c, -1) + (1,) * self.spec.ndim)
        both = (slice(None), slice(None))
        first, *rest = self._shift_copies  # each block is the whole output (valid conv)
        np.multiply(x[both + first.src], scale[:, first.weight], out=y)
        for cp in rest:
            np.multiply(x[both + cp.src], scale[:, cp.weight], out=tmp)
            y += tmp
        return y

    def depthwise_adjoint(self, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """The adjoint of :meth:`depthwise` (``weight`` already conjugated by the caller).

        Each tap's block of ``y``, scaled, is added back where it was read (a
        broadcasted scatter-add), then the padding is folded back.
        """
        c, n = self.spec.in_channels, y.shape[0]
        dtype = np.result_type(y.dtype, weight.dtype)
        self._check_temporaries(n, dtype)
        padder = self._shift_padder
        spatial = padder.padded_spatial if padder is not None else self.spec.input_spatial
        x = np.zeros((n, c) + spatial, dtype=dtype)
        tmp = np.empty(y.shape, dtype=dtype)
        scale = weight.reshape((c, -1) + (1,) * self.spec.ndim)
        both = (slice(None), slice(None))
        for cp in self._shift_copies:
            np.multiply(y, scale[:, cp.weight], out=tmp)
            x[both + cp.src] += tmp
        return x if padder is None else padder.fold(x)

    def _check_temporaries(self, batch: int, dtype) -> None:
        """Refuse a shift-and-add whose two output-sized temporaries and padded input exceed max_bytes."""
        spec = self.spec
        padder = self._shift_padder
        padded = padder.padded_spatial if padder is not None else spec.input_spatial
        elements = spec.in_channels * batch * (2 * self.n_out + int(np.prod(padded)))
        needed = elements * np.dtype(dtype).itemsize
        if needed > self.max_bytes:
            raise ValueError(
                f"the shift-and-add would need {needed / 2**20:,.0f} MiB for a batch of {batch} "
                f"inputs of shape {spec.input_shape}, over max_bytes={self.max_bytes:,}; "
                f"process the batch in smaller chunks"
            )

    def _padded_buffer(self, batch: int, dtype, padder: Padder | None = None) -> np.ndarray:
        """The reused ``(N, C_in, p1, ..., pd)`` buffer of the padded input."""
        padder = padder if padder is not None else self._padder
        shape = (batch, self.spec.in_channels) + padder.padded_spatial
        buf = self._padded
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            self._padded = None
            buf = self._padded = np.empty(shape, dtype=dtype)
        return buf

    def adjoint(self, cols: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """``col2im``: sum every entry of ``cols`` back onto the input it was read from.

        Entries at padding taps are dropped.  Returns ``(N, C_in, n1, ..., nd)``.
        """
        spec = self.spec
        c, _, n, _ = cols.shape
        shape = (n, c) + spec.input_spatial
        if out is not None and (not isinstance(out, np.ndarray) or out.shape != shape
                                or out.dtype != cols.dtype):
            raise ValueError(f"out must be an ndarray of shape {shape} and dtype {cols.dtype}, "
                             f"got {_describe(out)}")
        if self._padder is not None:
            xp = self._padded_buffer(n, cols.dtype)
            xp.fill(0)
            self._scatter(cols, xp)
            return self._padder.fold(xp, out=out)
        if out is None:
            x = np.zeros(shape, dtype=cols.dtype)
        else:
            x = out
            x.fill(0)
        return self._scatter(cols, x)

    def _scatter(self, cols: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Add every entry of ``cols`` onto ``x`` (the input, or the padded buffer) where it was read."""
        spec = self._gather_spec
        c, _, n, _ = cols.shape
        x_t = x.transpose((1, 0) + tuple(range(2, x.ndim)))
        grid = cols.reshape((c, self.k_vol, n) + spec.output_spatial)
        both = (slice(None), slice(None))  # every channel, every sample
        for cp in self.copies:
            block = grid[:, cp.weight][both + cp.dst]
            if cp.sliced:  # an affine, strictly increasing map: no two taps meet
                x_t[both + cp.src] += block
            else:  # a boundary mode may send two taps to one input
                np.add.at(x_t, both + cp.src, block)
        return x


def _describe(arr) -> str:
    if isinstance(arr, np.ndarray):
        return f"shape {arr.shape} and dtype {arr.dtype}"
    return type(arr).__name__


def _batched(x, spec: ConvSpec, name: str) -> np.ndarray:
    spec = as_instance(spec, ConvSpec, "spec")
    x = np.asarray(x)
    if x.dtype.kind not in "biufc":
        raise TypeError(f"{name} must hold numbers, got {name}.dtype={x.dtype}")
    if x.ndim == spec.ndim + 1:
        x = x[None]
    if x.ndim != spec.ndim + 2 or x.shape[1:] != spec.input_shape:
        raise ValueError(
            f"{name} must have shape (N,) + {spec.input_shape} or {spec.input_shape}, "
            f"got {name}.shape={x.shape}"
        )
    return x


def im2col(x, spec: ConvSpec, *, fill_value: float = 0.0) -> np.ndarray:
    """The gathered (im2col) form of ``x`` under the geometry ``spec``.

    Parameters
    ----------
    x : (N, C_in, n1, ..., nd) or (C_in, n1, ..., nd) array_like
    spec : ConvSpec
    fill_value : float
        Value at taps that land in zero padding.

    Returns
    -------
    cols : (C_in, prod(k), N, prod(o)) ndarray
        ``cols[c, j, b, p]`` is the input value that output ``p`` of sample
        ``b`` meets through weight ``j`` of input channel ``c``.

    Examples
    --------
    A convolution is one product with the weights (one group):

    >>> from convtheory import conv_matrix
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((3, 6, 6))
    >>> spec = ConvSpec(w.shape, x.shape, padding=1, stride=2)
    >>> y = w.reshape(4, -1) @ im2col(x, spec).reshape(27, -1)
    >>> np.allclose(y.ravel(), conv_matrix(w, spec) @ x.ravel())
    True
    """
    spec = as_instance(spec, ConvSpec, "spec")
    fill_value = as_real(fill_value, "fill_value", finite=False)
    x = _batched(x, spec, "x")
    return Im2col(spec, fill_value=fill_value)(x).copy()


def col2im(cols, spec: ConvSpec) -> np.ndarray:
    """The adjoint of :func:`im2col`: sum each entry back onto its input.

    Parameters
    ----------
    cols : (C_in, prod(k), N, prod(o)) array_like
    spec : ConvSpec

    Returns
    -------
    (N, C_in, n1, ..., nd) ndarray

    Examples
    --------
    The adjoint identity ``<im2col(x), c> == <x, col2im(c)>``:

    >>> rng = np.random.default_rng(1)
    >>> spec = ConvSpec((1, 2, 3, 3), (2, 5, 5), padding=2, padding_mode="reflect")
    >>> x = rng.standard_normal((2, 2, 5, 5))
    >>> c = rng.standard_normal((2, 9, 2, 49))  # 7x7 outputs
    >>> bool(np.isclose(np.vdot(im2col(x, spec), c), np.vdot(x, col2im(c, spec))))
    True
    """
    spec = as_instance(spec, ConvSpec, "spec")
    cols = np.asarray(cols)
    if cols.dtype.kind not in "biufc":
        raise TypeError(f"cols must hold numbers, got cols.dtype={cols.dtype}")
    k_vol = int(np.prod(spec.kernel_size))
    n_out = int(np.prod(spec.output_spatial))
    if cols.ndim != 4 or cols.shape[0] != spec.in_channels or cols.shape[1] != k_vol \
            or cols.shape[3] != n_out:
        raise ValueError(
            f"cols must have shape ({spec.in_channels}, {k_vol}, N, {n_out}), "
            f"got cols.shape={cols.shape}"
        )
    return Im2col(spec).adjoint(cols)
