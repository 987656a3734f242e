"""The transposed convolution as an explicit matrix and as a matrix-free operator.

A transposed conv (``torch.nn.ConvTransposeNd``, Dumoulin & Visin's
"fractionally strided" conv) of an input of size ``n`` is the adjoint of the
conv, with the same weight tensor, whose input has the transposed output size
(:class:`~convtheory.transposed_spec.ConvTransposeSpec`).  So both builders here read
that conv's taps: the matrix is ``conv_matrix(...)`` transposed, entry for
entry, and the operator swaps ``matvec`` and ``rmatvec`` of ``conv_operator``.
Output positions that ``output_padding`` adds beyond every tap's reach are
zero rows.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import sympy
from scipy.sparse.linalg import LinearOperator

from .transposed_spec import ConvTransposeSpec
from .matrices import DEFAULT_MAX_BYTES, conv_matrix, estimate_matrix_bytes
from .operators import conv_operator, estimate_operator_bytes
from .weights import as_weight

__all__ = ["ConvTransposeOperator", "conv_transpose_arguments", "conv_transpose_matrix",
           "conv_transpose_operator"]


def _check_max_bytes(max_bytes) -> int:
    if not isinstance(max_bytes, (int, np.integer)) or isinstance(max_bytes, bool):
        raise TypeError(f"max_bytes must be an int, got max_bytes={max_bytes!r}")
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive number of bytes, got max_bytes={max_bytes!r}")
    return int(max_bytes)


_DEFAULTS = dict(stride=1, padding=0, output_padding=0, dilation=1, groups=1, flip=False)


def conv_transpose_arguments(weight, input_shape, **options):
    """Validate a transposed conv's arguments: ``(weight, ConvTransposeSpec)``.

    ``input_shape`` may be a :class:`ConvTransposeSpec` (then no options).

    Examples
    --------
    >>> w, t = conv_transpose_arguments(np.ones((2, 3, 3)), (2, 4), stride=2)
    >>> w.shape, t.output_shape
    ((2, 3, 3), (3, 9))
    """
    w = as_weight(weight)
    if isinstance(input_shape, ConvTransposeSpec):
        given = sorted(k for k, v in options.items()
                       if not (type(v) is type(_DEFAULTS[k]) and v == _DEFAULTS[k]))
        if given:
            raise TypeError(f"options {given} conflict with the ConvTransposeSpec "
                            f"given as input_shape")
        spec = input_shape
    else:
        # As conv_matrix does: (N, C_in, n...) beside a (C_in, C_out/g, k...) weight has the
        # axes of a single-channel conv of one more dimension, which the shorthand would build.
        if isinstance(input_shape, (tuple, list)) and len(input_shape) == w.ndim >= 4 \
                and input_shape[1] == w.shape[0]:
            raise ValueError(
                f"input_shape={tuple(input_shape)} looks batched: input_shape is (C_in, n1, ...) "
                f"without the batch axis, here {tuple(input_shape[1:])} for weight.shape="
                f"{w.shape}; for a single-channel transposed conv with {w.ndim} spatial axes, "
                f"pass weight[None, None] and input_shape (1,) + input_shape")
        spec = ConvTransposeSpec(w.shape, input_shape, **options)
    if w.shape != spec.weight_shape and w.shape != spec.weight_shape[2:]:
        raise ValueError(f"weight.shape={w.shape} does not match the spec's "
                         f"weight_shape={spec.weight_shape}")
    return w.reshape(spec.weight_shape), spec


def conv_transpose_matrix(weight, input_shape, *, stride=1, padding=0, output_padding=0,
                          dilation=1, groups=1, flip=False, max_bytes=DEFAULT_MAX_BYTES):
    r"""The transposed convolution as an explicit sparse matrix.

    ``M @ x.ravel()`` equals ``torch.nn.functional.conv_transposeNd(x, weight,
    stride=..., padding=..., output_padding=..., groups=..., dilation=...)``
    raveled in C order over ``(channel, spatial...)``.

    Parameters
    ----------
    weight : (C_in, C_out/groups, k1, ..., kd) array_like, or (k1, ..., kd)
        PyTorch's ``ConvTranspose`` layout; numeric, or sympy (exact).
    input_shape : tuple of int, or ConvTransposeSpec
        ``(C_in, n1, ..., nd)`` (or ``(n1, ..., nd)`` with the shorthand).
    stride, padding, output_padding, dilation, groups
        As in ``torch.nn.ConvTransposeNd``.  ``output_padding`` must be
        smaller than the stride or the dilation on each axis.
    flip : bool
        The transpose of the ``flip=True`` (true convolution) matrix.
    max_bytes : int
        Refuse, before allocating, a matrix estimated to need more: the
        estimate of :func:`~convtheory.matrices.estimate_matrix_bytes` for the
        conv, twice (the conv's CSR and its transpose).

    Returns
    -------
    M : (C_out*prod(o), C_in*prod(n)) scipy.sparse.csr_array or sympy.ImmutableSparseMatrix
        ``o = (n - 1)*s - 2p + d*(k - 1) + output_padding + 1`` per axis.

    Notes
    -----
    ``M`` is, entry for entry, ``conv_matrix(weight, (C_out, o...), stride=s,
    padding=p, dilation=d, groups=g).T`` when ``output_padding`` does not
    exceed ``p`` (a conv's weight ``(C_out, C_in/g, k)`` read as ``(C_in,
    C_out/g, k)`` maps ``C_out`` channels of size ``o`` back to ``C_in`` of
    size ``n``).  Beyond that, the extra high positions are zero rows.  For
    ``[a, b, c]``, stride 2, on 3 inputs::

        [[a . .]
         [b . .]
         [c a .]
         [. b .]
         [. c a]
         [. . b]
         [. . c]]

    Examples
    --------
    >>> from convtheory import conv_matrix, kernel_symbols
    >>> w = kernel_symbols((3,), "w")
    >>> conv_transpose_matrix(w, (3,), stride=2).T == conv_matrix(w, (7,), stride=2)
    True
    >>> M = conv_transpose_matrix(np.ones((2, 1, 3, 3)), (2, 4, 4), stride=2, padding=1,
    ...                           output_padding=1, groups=2)
    >>> M.shape
    (128, 32)
    """
    w, spec = conv_transpose_arguments(weight, input_shape, stride=stride, padding=padding,
                                       output_padding=output_padding, dilation=dilation,
                                       groups=groups, flip=flip)
    max_bytes = _check_max_bytes(max_bytes)
    symbolic = w.dtype == object
    needed = estimate_matrix_bytes(spec.adjoint, symbolic=symbolic,
                                   itemsize=8 if symbolic else w.itemsize)
    needed = needed if symbolic else 2 * needed
    # The transpose's row pointers (and the spread counts): one index per output
    # position, however few entries there are (a stride of 10**6 leaves most rows empty).
    needed += 2 * 8 * (spec.matrix_shape[0] + 1)
    if needed > max_bytes:
        raise ValueError(
            f"conv_transpose_matrix would need about {needed / 2**20:,.0f} MiB for a "
            f"{spec.matrix_shape[0]} x {spec.matrix_shape[1]} matrix, over "
            f"max_bytes={max_bytes:,}; use conv_transpose_operator(...) for a matrix-free "
            f"operator, or pass a larger max_bytes"
        )
    C = conv_matrix(w, spec.adjoint, max_bytes=max_bytes)
    n_rows, n_cols = spec.matrix_shape
    rows = None if spec.is_covered else spec.covered_index()
    if symbolic:
        entries = {(int(c) if rows is None else int(rows[c]), int(r)): v
                   for (r, c), v in C.todok().items()}
        return sympy.ImmutableSparseMatrix(n_rows, n_cols, entries)
    T = C.T.tocsr()  # CSC -> CSR: a counting sort, indices stay sorted and distinct
    if rows is not None:
        # Uncovered output positions are empty rows: spread the row pointers.
        counts = np.zeros(n_rows, dtype=T.indptr.dtype)
        counts[rows] = np.diff(T.indptr)
        indptr = np.concatenate(([0], np.cumsum(counts))).astype(T.indptr.dtype)
        T = sp.csr_array((T.data, T.indices, indptr), shape=(n_rows, n_cols))
    T.has_sorted_indices = True
    T.has_canonical_format = True
    return T


class ConvTransposeOperator(LinearOperator):
    """A transposed convolution as a ``LinearOperator``; see :func:`conv_transpose_operator`.

    ``matvec`` is the conv operator's ``rmatvec`` (col2im after the
    transposed weight product) written into the covered output region;
    ``rmatvec`` crops and applies the conv.

    Attributes
    ----------
    spec : ConvTransposeSpec
    conv : ConvOperator
        The conv whose adjoint this is.

    Examples
    --------
    >>> A = conv_transpose_operator(np.array([1.0, 2.0]), (2,), stride=2)
    >>> A
    <4x2 ConvTransposeOperator weight=(1, 1, 2) input=(1, 2) dtype=float64>
    >>> A @ np.array([1.0, 10.0])
    array([ 1.,  2., 10., 20.])
    """

    def __init__(self, conv, spec: ConvTransposeSpec):
        if not isinstance(spec, ConvTransposeSpec):
            raise TypeError(f"spec must be a ConvTransposeSpec, got {type(spec).__name__}")
        if not isinstance(conv, LinearOperator) or conv.shape != spec.adjoint.matrix_shape:
            raise TypeError(f"conv must be the LinearOperator of spec.adjoint, of shape "
                            f"{spec.adjoint.matrix_shape}, got {type(conv).__name__}"
                            f"{'' if not hasattr(conv, 'shape') else f' of shape {conv.shape}'}; "
                            f"conv_transpose_operator(...) builds both")
        super().__init__(dtype=conv.dtype, shape=spec.matrix_shape)
        self.spec = spec
        self.conv = conv

    def _matmat(self, X):
        X = np.asarray(X)
        b = X.shape[1]
        Y = self.conv.rmatmat(X)  # (C_out * prod(covered), b)
        if self.spec.is_covered:
            return Y
        out = np.zeros(self.spec.output_shape + (b,), dtype=Y.dtype)
        out[self.spec.covered_slices() + (slice(None),)] = Y.reshape(
            self.spec.adjoint.input_shape + (b,))
        return out.reshape(-1, b)

    def _rmatmat(self, Y):
        Y = np.asarray(Y)
        b = Y.shape[1]
        if not self.spec.is_covered:
            Y = Y.reshape(self.spec.output_shape + (b,))[self.spec.covered_slices()
                                                          + (slice(None),)].reshape(-1, b)
        return self.conv.matmat(Y)

    def _matvec(self, x):
        return self._matmat(np.asarray(x).reshape(-1, 1)).ravel()

    def _rmatvec(self, y):
        return self._rmatmat(np.asarray(y).reshape(-1, 1)).ravel()

    def __repr__(self):
        s = self.spec
        return (f"<{self.shape[0]}x{self.shape[1]} ConvTransposeOperator weight={s.weight_shape} "
                f"input={s.input_shape} dtype={self.dtype}>")


def conv_transpose_operator(weight, input_shape, *, stride=1, padding=0, output_padding=0,
                            dilation=1, groups=1, flip=False,
                            max_bytes=DEFAULT_MAX_BYTES) -> ConvTransposeOperator:
    """The transposed convolution as a matrix-free ``LinearOperator``.

    Same arguments and semantics as :func:`conv_transpose_matrix` (numeric
    weights only), never materialising the matrix; its ``rmatvec`` is the
    conv.  The memory estimate and refusal are :func:`conv_operator`'s for
    the conv whose adjoint this is.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((3, 2, 3, 3))
    >>> A = conv_transpose_operator(w, (3, 5, 5), stride=2, output_padding=1)
    >>> M = conv_transpose_matrix(w, (3, 5, 5), stride=2, output_padding=1)
    >>> x = rng.standard_normal(A.shape[1])
    >>> A.shape, bool(np.allclose(A @ x, M @ x))
    ((288, 75), True)
    """
    w, spec = conv_transpose_arguments(weight, input_shape, stride=stride, padding=padding,
                                       output_padding=output_padding, dilation=dilation,
                                       groups=groups, flip=flip)
    if w.dtype == object:
        raise TypeError("conv_transpose_operator needs numeric weights; use "
                        "conv_transpose_matrix for sympy weights")
    max_bytes = _check_max_bytes(max_bytes)
    itemsize = np.result_type(w.dtype, np.float32).itemsize
    needed = estimate_operator_bytes(spec.adjoint, "direct", itemsize=itemsize)
    if needed > max_bytes:
        raise ValueError(
            f"conv_transpose_operator would need about {needed / 2**20:,.0f} MiB for weight "
            f"{spec.weight_shape} on input {spec.input_shape}, over max_bytes={max_bytes:,}; "
            f"use a smaller input, or pass a larger max_bytes"
        )
    conv = conv_operator(w, spec.adjoint, method="direct", max_bytes=max_bytes)
    return ConvTransposeOperator(conv, spec)
