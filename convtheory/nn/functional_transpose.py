"""Transposed convolution as functions, each next to its gradient.

``conv_transpose1d``/``2d``/``3d`` have ``torch.nn.functional.conv_transpose2d``'s
semantics: weight ``(C_in, C_out/groups, k...)``, output size
``(n - 1)*s - 2p + d*(k - 1) + output_padding + 1``.  A transposed conv is
the adjoint of a conv (:class:`~convtheory.transposed_spec.ConvTransposeSpec`), so
the forward pass here is that conv's input gradient and the backward pass is
that conv's forward pass and weight gradient, on the same taps:

* ``"im2col"`` (default): forward is one BLAS product per group then
  ``col2im``; backward gathers the output gradient with ``im2col`` (read from
  the conv's tap tables) and takes two products.
* ``"matrix"``: ``y = M x`` with ``M = conv_transpose_matrix(...)``,
  ``grad_x = M^T g``, and ``grad_w[k] = sum over the taps of k of x[row] g[col]``.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..transposed_spec import ConvTransposeSpec
from ..im2col import Im2col
from ..taps import conv_taps
from ..transposed import conv_transpose_matrix
from ._backend import BACKENDS, _cached, _conv_call, _conv_call_backward

__all__ = [
    "ConvTransposePlan",
    "conv_transpose1d",
    "conv_transpose1d_backward",
    "conv_transpose2d",
    "conv_transpose2d_backward",
    "conv_transpose3d",
    "conv_transpose3d_backward",
]


class ConvTransposePlan:
    """Forward and backward of one transposed-conv geometry, with its buffers.

    ``forward`` keeps the input, which ``backward`` needs for the weight
    gradient, so call ``backward`` after the ``forward`` it differentiates.

    Parameters
    ----------
    spec : ConvTransposeSpec
        The geometry of one sample.
    backend : {"im2col", "matrix"}

    Examples
    --------
    >>> plan = ConvTransposePlan(ConvTransposeSpec((1, 1, 2), (1, 2), stride=2))
    >>> w = np.array([[[1.0, 2.0]]])
    >>> plan.forward(np.array([[[1.0, 10.0]]]), w)
    array([[[ 1.,  2., 10., 20.]]])
    >>> gx, gw, gb = plan.backward(np.ones((1, 1, 4)), w)
    >>> gx.tolist(), gw.tolist(), gb.tolist()
    ([[[3.0, 3.0]]], [[[11.0, 11.0]]], [4.0])
    """

    def __init__(self, spec: ConvTransposeSpec, backend: str = "im2col"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got backend={backend!r}")
        self.spec = spec
        self.backend = backend
        conv = spec.adjoint
        self.k_vol = int(np.prod(spec.kernel_size))
        self.n_in = int(np.prod(spec.input_spatial))
        # Explicit sizes in every reshape: -1 is ambiguous for an empty batch.
        self.n_out = int(np.prod(spec.output_spatial))
        self._gather = Im2col(conv) if backend == "im2col" else None
        self._saved = None

    def _embed(self, covered: np.ndarray, bias) -> np.ndarray:
        """The ``(N, C_out, covered...)`` result in the full output, plus bias."""
        spec = self.spec
        if spec.is_covered:
            out = covered
        else:
            out = np.zeros((covered.shape[0],) + spec.output_shape, dtype=covered.dtype)
            out[spec.covered_slices()] = covered
        if bias is not None:
            out.reshape(out.shape[0], spec.out_channels, self.n_out)[...] += bias[:, None]
        return out

    def forward(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
        """``y = conv_transpose(x, weight) + bias`` for ``x`` of shape ``(N,) + spec.input_shape``."""
        spec = self.spec
        n = x.shape[0]
        self._saved = x
        if self.backend == "matrix":
            M = conv_transpose_matrix(weight, spec)
            X = x.reshape(n, int(np.prod(spec.input_shape)))
            y = np.asarray(M @ X.T).T.reshape((n,) + spec.output_shape).astype(x.dtype, copy=False)
            if bias is not None:
                y.reshape(n, spec.out_channels, self.n_out)[...] += bias[:, None]
            return y
        g = spec.groups
        c_in_g = spec.in_channels // g
        ck = spec.weight_shape[1] * self.k_vol
        # (C_in, N, P) = (g, C_in/g, N*P): the conv's output layout, one product per group.
        xt = x.reshape(n, spec.in_channels, self.n_in).transpose(1, 0, 2).reshape(
            g, c_in_g, n * self.n_in)
        w_t = weight.reshape(g, c_in_g, ck).transpose(0, 2, 1)
        gcols = np.matmul(w_t, xt)  # (g, C_out/g * K, N*P)
        covered = self._gather.adjoint(gcols.reshape(spec.out_channels, self.k_vol, n, self.n_in))
        return self._embed(covered, bias)

    def backward(self, grad_output: np.ndarray, weight: np.ndarray, *, input_grad: bool = True):
        """Gradients ``(grad_input, grad_weight, grad_bias)`` of the last ``forward``."""
        if self._saved is None:
            raise RuntimeError("ConvTransposePlan.backward needs a forward pass first")
        spec = self.spec
        x = self._saved
        n = grad_output.shape[0]
        grad_bias = grad_output.reshape(n, spec.out_channels, self.n_out).sum(axis=(0, 2))
        # Positions no tap reaches do not depend on x or w: drop their gradient.
        g_cov = np.ascontiguousarray(grad_output[spec.covered_slices()])
        if self.backend == "matrix":
            M = conv_transpose_matrix(weight, spec)
            G = grad_output.reshape(n, int(np.prod(spec.output_shape)))
            X = x.reshape(n, int(np.prod(spec.input_shape)))
            grad_input = (np.asarray(M.T @ G.T).T.reshape(x.shape).astype(x.dtype, copy=False)
                          if input_grad else None)
            taps = _taps(spec)
            # A tied weight's gradient: the sum over its taps of x[row] * g[col].
            Gc = g_cov.reshape(n, int(np.prod(spec.adjoint.input_shape)))
            per_tap = np.einsum("nt,nt->t", X[:, taps.rows], Gc[:, taps.cols])
            grad_weight = np.bincount(taps.kernel, weights=per_tap,
                                      minlength=int(np.prod(spec.weight_shape)))
            return grad_input, grad_weight.reshape(spec.weight_shape).astype(weight.dtype), grad_bias
        g = spec.groups
        c_in_g = spec.in_channels // g
        ck = spec.weight_shape[1] * self.k_vol
        cols = self._gather(g_cov).reshape(g, ck, n * self.n_in)  # the conv's gather
        xt = x.reshape(n, spec.in_channels, self.n_in).transpose(1, 0, 2).reshape(
            g, c_in_g, n * self.n_in)
        grad_weight = np.matmul(xt, cols.transpose(0, 2, 1)).reshape(spec.weight_shape)
        if not input_grad:
            return None, grad_weight, grad_bias
        gx = np.matmul(weight.reshape(g, c_in_g, ck), cols)  # (g, C_in/g, N*P)
        grad_input = gx.reshape(spec.in_channels, n, self.n_in).transpose(1, 0, 2).reshape(x.shape)
        return grad_input, grad_weight, grad_bias


_TAPS: OrderedDict = OrderedDict()
_PLANS: OrderedDict = OrderedDict()


def _taps(spec: ConvTransposeSpec):
    return _cached(_TAPS, spec, lambda: conv_taps(spec.adjoint), size=8)


def _inputs(ndim, input, weight, bias, options, backend):
    """Validate a functional call; return (x, w, b, plan, unbatched)."""
    groups = options.get("groups", 1)
    return _conv_call(
        ndim, input, weight, bias, options, backend, what="transposed conv",
        weight_layout="C_in, C_out/groups",
        c_out=lambda w: w.shape[1] * groups if isinstance(groups, (int, np.integer)) else None,
        c_out_note=" (C_out = weight.shape[1] * groups)", plans=_PLANS,
        make_plan=lambda w_shape, x_shape: ConvTransposePlan(
            ConvTransposeSpec(w_shape, x_shape, **options), backend))


def _forward(ndim, input, weight, bias, backend, **options):
    x, w, b, plan, unbatched = _inputs(ndim, input, weight, bias, options, backend)
    y = plan.forward(x, w, b)
    return y[0] if unbatched else y


def _backward(ndim, grad_output, input, weight, bias, backend, **options):
    # The weight gradient reads only the input: keep it, without a forward pass.
    return _conv_call_backward(_inputs(ndim, input, weight, bias, options, backend),
                               grad_output, bias, _keep_input)


def _keep_input(plan, x, w, b):
    plan._saved = x


_DOC = """{d}-D transposed convolution, as ``torch.nn.functional.conv_transpose{d}d``.

    Parameters
    ----------
    input : (N, C_in, {n}) or (C_in, {n}) ndarray of float32 or float64
    weight : (C_in, C_out/groups, {k}) ndarray of the same dtype
    bias : (C_out,) ndarray, optional
    stride, padding, output_padding, groups, dilation
        As in PyTorch (and in its argument order); ``padding`` also takes
        ``(lo, hi)`` pairs.  ``output_padding`` must be smaller than the
        stride or the dilation.
    backend : {{"im2col", "matrix"}}
        BLAS and col2im, or ``y = M x`` with :func:`convtheory.conv_transpose_matrix`.

    Returns
    -------
    (N, C_out, {o}) or (C_out, {o}) ndarray
        ``o = (n - 1)*s - 2p + d*(k - 1) + output_padding + 1`` per axis.

    Examples
    --------
    {example}
    """

_BACKWARD_DOC = """Gradients of :func:`conv_transpose{d}d` given the gradient at its output.

    Parameters
    ----------
    grad_output : ndarray shaped like ``conv_transpose{d}d(input, weight, ...)``
    input, weight, bias, stride, padding, output_padding, groups, dilation, backend
        As in :func:`conv_transpose{d}d`.

    Returns
    -------
    grad_input, grad_weight, grad_bias : ndarray (``grad_bias`` is None without a bias)

    Examples
    --------
    {example}
    """


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, backend="im2col"):
    return _forward(1, input, weight, bias, backend, stride=stride, padding=padding,
                    output_padding=output_padding, groups=groups, dilation=dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, backend="im2col"):
    return _forward(2, input, weight, bias, backend, stride=stride, padding=padding,
                    output_padding=output_padding, groups=groups, dilation=dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, backend="im2col"):
    return _forward(3, input, weight, bias, backend, stride=stride, padding=padding,
                    output_padding=output_padding, groups=groups, dilation=dilation)


def conv_transpose1d_backward(grad_output, input, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1, backend="im2col"):
    return _backward(1, grad_output, input, weight, bias, backend, stride=stride, padding=padding,
                     output_padding=output_padding, groups=groups, dilation=dilation)


def conv_transpose2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1, backend="im2col"):
    return _backward(2, grad_output, input, weight, bias, backend, stride=stride, padding=padding,
                     output_padding=output_padding, groups=groups, dilation=dilation)


def conv_transpose3d_backward(grad_output, input, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1, backend="im2col"):
    return _backward(3, grad_output, input, weight, bias, backend, stride=stride, padding=padding,
                     output_padding=output_padding, groups=groups, dilation=dilation)


conv_transpose1d.__doc__ = _DOC.format(d=1, n="n", k="k", o="o", example="""\
>>> conv_transpose1d(np.array([[[1.0, 10.0]]]), np.array([[[1.0, 2.0, 3.0]]]), stride=2)
    array([[[ 1.,  2., 13., 20., 30.]]])""")
conv_transpose2d.__doc__ = _DOC.format(d=2, n="H, W", k="kH, kW", o="oH, oW", example="""\
>>> rng = np.random.default_rng(0)
    >>> x, w = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    >>> y = conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    >>> y.shape       # the decoder's 2x upsampling
    (2, 3, 10, 10)
    >>> np.allclose(y, conv_transpose2d(x, w, stride=2, padding=1, output_padding=1,
    ...                                 backend="matrix"))
    True""")
conv_transpose3d.__doc__ = _DOC.format(d=3, n="D, H, W", k="kD, kH, kW", o="oD, oH, oW",
                                       example="""\
>>> conv_transpose3d(np.ones((2, 2, 2, 2)), np.ones((2, 3, 2, 2, 2)), stride=2).shape
    (3, 4, 4, 4)""")
conv_transpose1d_backward.__doc__ = _BACKWARD_DOC.format(d=1, example="""\
>>> gx, gw, gb = conv_transpose1d_backward(np.ones((1, 1, 4)), np.array([[[1.0, 10.0]]]),
    ...                                        np.array([[[1.0, 2.0]]]), stride=2)
    >>> gx.tolist(), gw.tolist()
    ([[[3.0, 3.0]]], [[[11.0, 11.0]]])""")
conv_transpose2d_backward.__doc__ = _BACKWARD_DOC.format(d=2, example="""\
>>> rng = np.random.default_rng(0)
    >>> x, w = rng.standard_normal((2, 4, 3, 3)), rng.standard_normal((4, 2, 3, 3))
    >>> g = rng.standard_normal((2, 2, 7, 7))
    >>> fast = conv_transpose2d_backward(g, x, w, stride=2)
    >>> exact = conv_transpose2d_backward(g, x, w, stride=2, backend="matrix")
    >>> all(np.allclose(a, b) for a, b in zip(fast[:2], exact[:2]))
    True""")
conv_transpose3d_backward.__doc__ = _BACKWARD_DOC.format(d=3, example="""\
>>> gx, gw, gb = conv_transpose3d_backward(np.ones((1, 2, 2, 2)), np.ones((1, 1, 1, 1)),
    ...                                        np.ones((1, 1, 2, 2, 2)))
    >>> gx.ravel().tolist(), float(gw.sum())
    ([8.0], 8.0)""")
