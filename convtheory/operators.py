"""The convolution as a matrix-free ``scipy.sparse.linalg.LinearOperator``.

Two paths, both derived from the taps:

* **direct**: :class:`~convtheory.im2col.Im2col` gathers the input into its
  im2col form (block copies; a boundary mode pads once into a buffer first);
  one GEMM per group with the weights gives the output.  The adjoint is the
  transposed GEMM followed by col2im (the same copies, summed back), so the
  transposed convolution needs no index arithmetic of its own.
* **overlap_add**: the padded-input FFT in short blocks
  (:class:`~convtheory.overlap_add.OverlapAddConv`), for a long input and a
  mid-sized kernel; the adjoint is overlap-add proper.
* **fft**: every geometry.  Circular padding with stride 1 and an output the
  size of the input is a sum of circulant blocks, diagonalised by the DFT of
  the input's size (the kernel's circular embedding is read from the taps of
  the first output position).  Any other geometry is an FFT of the padded
  input, cropped and read at the stride (:class:`~convtheory.fftconv.FFTConv`).
  The adjoint is the same transforms with the conjugate transposed spectrum.

``method="auto"`` picks the cheaper by the cost model of :func:`method_costs`.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.fft
from scipy.sparse.linalg import LinearOperator

from .cost_model import (PATHS, _cheapest, _fft_eligible, _operator_bytes,
                         estimate_operator_bytes, method_costs)
from .fftconv import FFTConv
from .im2col import Im2col
from .matrices import DEFAULT_MAX_BYTES
from .overlap_add import OverlapAddConv
from .spec import ConvSpec
from .taps import spatial_taps
from .threads import fft_workers, gemm_threads, parallel_matmul
from .validation import BudgetError, as_choice, as_instance, as_max_bytes, check_budget
from .weights import conv_arguments

__all__ = ["ConvOperator", "conv_operator", "estimate_operator_bytes", "method_costs"]

METHODS = ("auto",) + PATHS


class ConvOperator(LinearOperator):
    """A convolution as a ``LinearOperator``; see :func:`conv_operator`.

    Attributes
    ----------
    spec : ConvSpec
    method : {"direct", "fft", "overlap_add"}
        The forward pass's path.
    adjoint_method : {"direct", "fft", "overlap_add"}
        The adjoint's path (``method`` unless ``conv_operator(method="auto")``
        chose otherwise).
    weight : ndarray

    Examples
    --------
    >>> A = conv_operator(np.array([1.0, 2.0]), (4,))
    >>> A
    <3x4 ConvOperator weight=(1, 1, 2) input=(1, 4) method='direct' dtype=float64>
    >>> A @ np.array([1.0, 0.0, 0.0, 1.0]), A.H @ np.ones(3)
    (array([1., 0., 2.]), array([1., 3., 3., 2.]))
    """

    def __init__(self, weight: np.ndarray, spec: ConvSpec, method: str, *,
                 adjoint_method: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES):
        spec = as_instance(spec, ConvSpec, "spec")
        max_bytes = as_max_bytes(max_bytes)
        weight = as_instance(weight, np.ndarray, "weight")
        if weight.shape != spec.weight_shape or weight.dtype.kind not in "iufc":
            raise ValueError(f"weight must be a numeric array of shape spec.weight_shape="
                             f"{spec.weight_shape}, got shape {weight.shape} and dtype "
                             f"{weight.dtype}; conv_operator(...) converts any weight")
        adjoint_method = method if adjoint_method is None else adjoint_method
        method = as_choice(method, "method", PATHS)
        adjoint_method = as_choice(adjoint_method, "adjoint_method", PATHS)
        dtype = np.result_type(weight.dtype, np.float32)
        super().__init__(dtype=dtype, shape=spec.matrix_shape)
        self.spec = spec
        self.method = method
        self.adjoint_method = adjoint_method
        self.weight = weight
        self.max_bytes = max_bytes
        g, c_out_g, c_in_g = spec.groups, spec.out_channels_per_group, spec.in_channels_per_group
        # (groups, C_out/g, C_in/g, K): one block of weights per group.
        self._w = weight.reshape(g, c_out_g, c_in_g, -1)
        self._n_in = int(np.prod(spec.input_spatial))
        self._n_out = int(np.prod(spec.output_spatial))
        self._real = not np.iscomplexobj(weight)
        self._lock = threading.Lock()
        self._bytes = {}  # method -> (kept, per column), for the products' budget
        # Each path's precomputed state (im2col tables, kernel spectra), built when a
        # side first needs it: the forward and the adjoint may take different paths.
        self._paths = {}
        for m in dict.fromkeys((method, adjoint_method)):
            self._path(m)

    def _path(self, method: str):
        """The state of ``method``'s path, built on first use."""
        if method not in self._paths:
            if method == "direct":
                self._init_direct()
                self._paths[method] = self._im2col
            elif method == "overlap_add":
                self._paths[method] = OverlapAddConv(self.spec, self._w)
            elif _fft_eligible(self.spec):
                self._paths[method] = self._init_fft()
            else:
                self._paths[method] = FFTConv(self.spec, self._w)
        return self._paths[method]

    # ---- direct path ----------------------------------------------------
    def _init_direct(self):
        # im2col and col2im with slice copies where the tap tables are affine;
        # the buffer is reused between calls of the same batch size (a third
        # faster than a fresh one), so calls from several threads take turns.
        # An FFT operator builds it on its first non-finite input, perhaps in two threads
        # at once: under the lock, so that they share one buffer and take turns with it.
        if "_im2col" not in self.__dict__:
            with self._lock:
                if "_im2col" not in self.__dict__:
                    self._im2col = Im2col(self.spec, max_bytes=self.max_bytes)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_lock", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _direct(self, X: np.ndarray) -> np.ndarray:
        g, c_out_g, c_in_g, k = self._w.shape
        b = X.shape[1]
        # (C_in * n, b) -> (b, C_in, n1, ..., nd), a view.
        x = X.reshape((self.spec.in_channels, self._n_in, b)).transpose(2, 0, 1)
        x = x.reshape((b,) + self.spec.input_shape)
        if c_out_g == c_in_g == 1:  # one channel pair per group: shift-and-add, no GEMM
            with self._lock:
                y = self._im2col.depthwise(x, self._w.reshape(g, k))
            return y.reshape(b, -1).T
        # cols (C_in, K, b, P) is (g, C_in/g * K, b * P) in C order: one GEMM per group.
        with self._lock:
            cols = self._im2col(x).reshape(g, c_in_g * k, b * self._n_out)
            # (g, C_out/g, b * P), in column blocks on the workers: BLAS's own threads
            # spin while they wait, which made this 3x slower at 2 threads under load.
            out = parallel_matmul(self._w.reshape(g, c_out_g, c_in_g * k), cols)
        # Explicit sizes: an empty spatial axis makes every one of them 0.
        return out.reshape(self.spec.out_channels, b, self._n_out).transpose(0, 2, 1).reshape(
            self.shape[0], b)

    def _direct_adjoint(self, Y: np.ndarray) -> np.ndarray:
        g, c_out_g, c_in_g, k = self._w.shape
        b = Y.shape[1]
        if c_out_g == c_in_g == 1:  # the transposed shift-and-add: a broadcasted scatter-add
            y = Y.reshape(g, self._n_out, b).transpose(2, 0, 1)
            y = y.reshape((b, g) + self.spec.output_spatial)
            with self._lock:
                x = self._im2col.depthwise_adjoint(y, self._w.reshape(g, k).conj())
            return x.reshape(b, -1).T
        y = Y.reshape(g, c_out_g, self._n_out, b).transpose(0, 1, 3, 2)
        y = y.reshape(g, c_out_g, b * self._n_out)
        w_h = self._w.reshape(g, c_out_g, c_in_g * k).conj().transpose(0, 2, 1)
        with self._lock:
            # The product goes into the forward's im2col buffer (same shape): a fresh
            # array of this size per call costs more in page faults than the GEMM.
            buf = self._im2col.scratch(b, np.result_type(w_h.dtype, y.dtype))
            parallel_matmul(w_h, y, out=buf.reshape(g, c_in_g * k, b * self._n_out))
            x = self._im2col.adjoint(buf)  # (b, C_in, n1, ..., nd): col2im sums shared inputs
        return x.reshape(b, self.shape[1]).T

    # ---- FFT path -------------------------------------------------------
    def _init_fft(self):
        spec = self.spec
        st = spatial_taps(spec, max_bytes=self.max_bytes)
        first = slice(st.indptr[0], st.indptr[1])
        # Output 0 reads input cols[t] through kernel[t]; output o reads the
        # same positions cyclically shifted by o.  So y = sum_m h[m] x[o + m].
        g, c_out_g, c_in_g, k = self._w.shape
        h = np.zeros((g, c_out_g, c_in_g, self._n_in), dtype=self._w.dtype)
        np.add.at(h, (Ellipsis, st.cols[first]), self._w[..., st.kernel[first]])
        h = h.reshape(h.shape[:3] + spec.input_spatial)
        axes = tuple(range(3, 3 + spec.ndim))
        if self._real:
            # sum_m h[m] x[o+m]  <->  conj(rfft(h)) * rfft(x) for real h.
            hf = np.conj(scipy.fft.rfftn(h, axes=axes))
        else:
            hf = scipy.fft.ifftn(h, axes=axes) * self._n_in
        # (groups, F, C_out/g, C_in/g): a small matrix per frequency, for batched matmul.
        return np.ascontiguousarray(hf.reshape(g, c_out_g, c_in_g, -1).transpose(0, 3, 1, 2))

    def _fft_apply(self, hf: np.ndarray, X: np.ndarray, adjoint: bool) -> np.ndarray:
        spec = self.spec
        g, f = hf.shape[:2]
        c_from = spec.out_channels if adjoint else spec.in_channels
        b = X.shape[1]
        shape = spec.input_spatial
        axes = tuple(range(1, 1 + spec.ndim))
        xs = X.reshape((c_from,) + shape + (b,))
        transform = scipy.fft.rfftn if self._real else scipy.fft.fftn
        xf = transform(xs, axes=axes).reshape(g, -1, f, b).transpose(0, 2, 1, 3)  # (g, F, C/g, B)
        with gemm_threads(g * f, 0):  # one small product per frequency: one BLAS thread
            if adjoint:
                # hf^H x as conj(x^H hf)^T: conjugates the (small) vectors, not the spectrum.
                yf = np.conj(np.conj(xf).transpose(0, 1, 3, 2) @ hf).transpose(0, 3, 1, 2)
            else:
                yf = (hf @ xf).transpose(0, 2, 1, 3)  # (g, C/g, F, B)
        c_to = spec.in_channels if adjoint else spec.out_channels
        yf = yf.reshape((c_to,) + _xf_shape(shape, self._real) + (b,))
        if self._real:
            y = scipy.fft.irfftn(yf, s=shape, axes=axes)
        else:
            y = scipy.fft.ifftn(yf, axes=axes)
        return y.reshape(-1, b)

    def _padded_apply(self, fc: FFTConv, X: np.ndarray, adjoint: bool) -> np.ndarray:
        spec = self.spec
        b = X.shape[1]
        shape = spec.output_shape if adjoint else spec.input_shape
        x = X.reshape((shape[0], -1, b)).transpose(2, 0, 1).reshape((b,) + shape)
        y = fc.adjoint(x) if adjoint else fc.forward(x)
        return y.reshape(b, -1).T

    # ---- LinearOperator protocol ---------------------------------------
    def _prepare(self, X):
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[:, None]
        return X.astype(np.result_type(X.dtype, self.dtype), copy=False)

    def _apply(self, X, adjoint: bool):
        X = self._prepare(X)
        method = self.adjoint_method if adjoint else self.method
        if method == "direct":
            return self._direct_apply(X, adjoint)
        if not np.all(np.isfinite(X)):
            # An FFT spreads one NaN or inf to every output; the direct path keeps it to the
            # outputs that read it, as the matrix does.
            return self._direct_apply(X, adjoint, why="it holds NaN or inf",
                                      advice="replace the non-finite values")
        path = self._path(method)
        self._check_columns(method, X.shape[1], adjoint)
        # Spectra of finite inputs may overflow in their product: the result is checked
        # below and taken again on the direct path, so numpy's RuntimeWarning says nothing.
        with np.errstate(over="ignore", invalid="ignore"):
            if isinstance(path, FFTConv):
                Y = self._padded_apply(path, X, adjoint)
            else:
                # The thread limit in force (threadpoolctl), for transforms large enough to gain.
                with scipy.fft.set_workers(fft_workers(X.shape[1] * self.shape[1])):
                    if self._real and np.iscomplexobj(X):
                        # The real FFT path drops imaginary parts; a real operator is applied
                        # to each.
                        Y = (self._fft_apply(path, X.real, adjoint)
                             + 1j * self._fft_apply(path, X.imag, adjoint))
                    else:
                        Y = self._fft_apply(path, X, adjoint)
        if not np.all(np.isfinite(Y)):
            # Finite inputs whose spectra overflowed: the transform spread that inf or NaN
            # over outputs the matrix keeps finite; the direct path overflows only where it must.
            return self._direct_apply(X, adjoint, why="its transform overflowed",
                                      advice="scale the input down")
        return Y

    def _direct_apply(self, X, adjoint: bool, why: str = "", advice: str = ""):
        """The direct path; ``why`` says why an FFT operator takes it (its budget may not fit)."""
        try:
            self._init_direct()
            # inf - inf and 0 * inf give NaN, and huge sums overflow, exactly where the matrix's
            # product does; like ``conv_matrix(...) @ x``, without numpy's RuntimeWarning.
            with np.errstate(invalid="ignore", over="ignore"):
                return self._direct_adjoint(X) if adjoint else self._direct(X)
        except BudgetError as err:
            if not why:
                raise
            # The side that fell back: an auto operator's adjoint may take the FFT while
            # its forward is direct.
            who = (f"this operator's {self.adjoint_method!r} adjoint" if adjoint
                   else f"this {self.method!r} operator")
            raise ValueError(
                f"{who} applies an input on its direct path when "
                f"{why} (an FFT would spread it to every output), and that path is over "
                f"budget: {err}; or pass a larger max_bytes, or {advice}") from None

    def _check_columns(self, method: str, b: int, adjoint: bool):
        # The spectra of all b columns are in memory at once (im2col checks its own buffer).
        if method not in self._bytes:
            self._bytes[method] = _operator_bytes(self.spec, method, self.dtype.itemsize)
        kept, per_vector = self._bytes[method]
        s = self.spec
        check_budget(kept + b * per_vector, self.max_bytes,
                     f"the {'adjoint' if adjoint else 'forward'} product on the {method!r} path "
                     f"of {b} columns (weight {s.weight_shape}, input {s.input_shape})",
                     "apply it to fewer columns at a time, or pass a larger max_bytes")

    def _matmat(self, X):
        return self._apply(X, adjoint=False)

    def _rmatmat(self, Y):
        return self._apply(Y, adjoint=True)

    def _matvec(self, x):
        return self._matmat(x).ravel()

    def _rmatvec(self, y):
        return self._rmatmat(y).ravel()

    def _adjoint(self):
        return _AdjointConv(self)

    def __repr__(self):
        s = self.spec
        adjoint = "" if self.adjoint_method == self.method else \
            f" adjoint_method={self.adjoint_method!r}"
        return (f"<{self.shape[0]}x{self.shape[1]} ConvOperator weight={s.weight_shape} "
                f"input={s.input_shape} method={self.method!r}{adjoint} dtype={self.dtype}>")


def _xf_shape(shape: tuple, real: bool) -> tuple:
    """Shape of the (r)fftn of an array with spatial ``shape``."""
    return shape[:-1] + (shape[-1] // 2 + 1,) if real else shape


class _AdjointConv(LinearOperator):
    """``A.H`` of a :class:`ConvOperator`: the transposed convolution."""

    def __init__(self, op: ConvOperator):
        super().__init__(dtype=op.dtype, shape=(op.shape[1], op.shape[0]))
        self.op = op

    def _matmat(self, X):
        return self.op._rmatmat(X)

    def _rmatmat(self, Y):
        return self.op._matmat(Y)

    def _matvec(self, x):
        return self.op._rmatvec(x)

    def _rmatvec(self, y):
        return self.op._matvec(y)

    def _adjoint(self):
        return self.op


def _auto_path(spec: ConvSpec, adjoint: bool, max_bytes: int, itemsize: int) -> str:
    """The path ``method="auto"`` takes: the cheapest by :func:`method_costs` among those
    whose buffers fit ``max_bytes``; if none does, the one that needs least (refused after,
    with the least any path needs)."""
    best = _cheapest(spec, adjoint)
    if min(spec.input_spatial) == 0:  # an empty input: only the direct path applies
        return best
    need = {best: estimate_operator_bytes(spec, best, itemsize=itemsize)}
    if need[best] <= max_bytes:  # the others are estimated only when the cheapest does not fit
        return best
    need.update({m: estimate_operator_bytes(spec, m, itemsize=itemsize) for m in PATHS})
    fits = [m for m in PATHS if need[m] <= max_bytes]
    if not fits:
        return min(PATHS, key=need.get)
    costs = method_costs(spec, adjoint=adjoint)
    return min(fits, key=costs.get)


def conv_operator(weight, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
                  padding_mode="zeros", flip=False, method="auto",
                  max_bytes=DEFAULT_MAX_BYTES) -> ConvOperator:
    """The convolution as a matrix-free ``LinearOperator``.

    Same arguments and semantics as :func:`conv_matrix`, without ever
    materialising the matrix: a 64->64-channel 3x3 layer on 56x56 (113 M
    virtual nonzeros) applies in milliseconds.

    Parameters
    ----------
    weight, input_shape, stride, padding, dilation, groups, padding_mode, flip
        As in :func:`conv_matrix` (numeric weights only).
    method : {"auto", "direct", "fft", "overlap_add"}
        ``"direct"`` gathers (im2col) and contracts with BLAS.  ``"fft"``
        multiplies spectra: of the input's size for a circular conv with
        stride 1 and output size equal to input size, else of the padded
        input (any boundary mode, stride and dilation; no im2col buffer, so
        large kernels fit in memory).  ``"overlap_add"`` multiplies spectra of
        short overlapping blocks of the padded input (as
        ``scipy.signal.oaconvolve`` does, for every boundary mode, stride and
        dilation): cheaper than one transform of a long input with a
        mid-sized kernel.  ``"auto"`` takes the path that the cost model of
        :func:`method_costs` says is cheapest, for the forward pass and for
        the adjoint apart (``A.method``, ``A.adjoint_method``), among the
        paths whose buffers fit ``max_bytes``; when the two
        paths' buffers together exceed ``max_bytes``, or the weights are in single
        precision (whose kernel spectra the FFT paths round to 1e-7), the
        forward's serves both.
    max_bytes : int
        Refuse, before allocating anything, an operator whose buffers
        (:func:`estimate_operator_bytes`) exceed this (default
        :data:`~convtheory.matrices.DEFAULT_MAX_BYTES`, 2 GiB).  A ``matmat``
        whose im2col buffer, or whose columns' spectra on an FFT path, would
        exceed it is refused too, with the advice to apply it to fewer columns
        at a time.

    Returns
    -------
    ConvOperator
        A ``LinearOperator`` with ``matvec``, ``rmatvec`` (the adjoint: the
        transposed convolution), ``matmat`` and ``.H``.

    Notes
    -----
    The adjoint of a cross-correlation is a convolution with the same kernel
    (equivalently, correlation with the flipped kernel), with the stride
    becoming a dilation of the input.  Each path computes it as the exact
    transpose of its forward steps, so it costs what the forward costs:
    ``"direct"`` as col2im (the transpose of the im2col gather,
    :class:`~convtheory.im2col.Im2col`) after the transposed weight
    contraction, or, with one channel pair per group, as a broadcasted
    scatter-add of each tap's block; ``"fft"`` with the conjugate transposed
    kernel spectrum.  The direct adjoint's scatter-add costs more than the
    forward's gather, so ``"auto"`` may send the adjoint to the FFT while the
    forward stays direct (a strided 7x7 conv of 8 channels on 64x64, for
    example); both sides are the same linear map, to rounding.

    An FFT spreads one NaN or inf over every output.  So an input that is
    not finite, or whose transform overflows (finite values near the top of
    the float64 range), is applied on the direct path whatever ``method``
    says: an inf or NaN reaches exactly the outputs that the matrix gives it
    (a zero weight in the window included: ``0 * nan`` is NaN).  Where a
    boundary mode reads one input through two taps (reflect, symmetric,
    replicate), the matrix holds the sum of their weights and this path
    applies them one by one, so an inf there may come out NaN (``inf - inf``)
    where the matrix gives inf; the same outputs are non-finite either way.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((4, 3, 3, 3))
    >>> A = conv_operator(w, (3, 8, 8), padding=1)
    >>> M = conv_matrix(w, (3, 8, 8), padding=1)
    >>> x = rng.standard_normal(A.shape[1])
    >>> np.allclose(A @ x, M @ x)
    True
    >>> from convtheory.checks import dot_test   # the adjoint is exact
    >>> bool(dot_test(A))
    True

    The forward and the adjoint may take different paths:

    >>> S = conv_operator(rng.standard_normal((8, 8, 7, 7)), (8, 64, 64), padding=3, stride=2)
    >>> S.method, S.adjoint_method
    ('direct', 'fft')
    >>> bool(dot_test(S))
    True
    """
    method = as_choice(method, "method", METHODS)
    w, spec = conv_arguments(weight, input_shape, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, padding_mode=padding_mode, flip=flip)
    if w.dtype == object:
        raise TypeError("conv_operator needs numeric weights; use conv_matrix for sympy weights")
    max_bytes = as_max_bytes(max_bytes)
    itemsize = np.result_type(w.dtype, np.float32).itemsize
    adjoint_method = method
    if method == "auto":
        method = _auto_path(spec, False, max_bytes, itemsize)
        adjoint_method = _auto_path(spec, True, max_bytes, itemsize)
        if np.finfo(np.result_type(w.dtype, np.float32)).bits < 64:
            # The FFT paths keep the kernel's spectrum in the weight's precision (1e-7 off
            # in single precision), the direct path the weights themselves: split, A.H
            # would be the adjoint of another operator than A, to float64 vectors.
            adjoint_method = method
    needed = sum(estimate_operator_bytes(spec, m, itemsize=itemsize)
                 for m in {method, adjoint_method})
    if adjoint_method != method and needed > max_bytes:
        # Two paths' buffers do not fit: the forward's serves both.
        adjoint_method = method
        needed = estimate_operator_bytes(spec, method, itemsize=itemsize)
    check_budget(needed, max_bytes, f"conv_operator(method={method!r}) with weight "
                 f"{spec.weight_shape} on input {spec.input_shape}",
                 "use a smaller input (e.g. crop it to the region of interest), or pass a "
                 "larger max_bytes")
    return ConvOperator(w, spec, method, adjoint_method=adjoint_method, max_bytes=int(max_bytes))
