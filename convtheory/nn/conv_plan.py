"""One convolution geometry's forward and backward pass, with its buffers.

Two backends compute the same map:

* ``"im2col"`` (default): gather the input with :class:`~convtheory.im2col.Im2col`
  (read from the tap tables), one BLAS product per group; the adjoint is the
  transposed product and ``col2im``.  With stride 1 the gather is
  :class:`~convtheory.flat_gather.FlatGather`'s: every tap is one contiguous
  run of the padded input, the output is computed on the padded grid and
  cropped, and the columns are gathered and multiplied block by block (about
  4 MiB each), so they stay in the cache; the backward pass gathers them again
  rather than keeping ``prod(k)`` copies of the input.  With ``C_out <= C_in``
  and a kernel of :data:`CORRELATE_TAPS` taps or more the input gradient is a flat
  gather too: of the output gradient, multiplied by the flipped weight,
  instead of the scatter-add of ``w^T g``.  One channel pair per
  group (depthwise) needs no columns: a shift-and-add of the runs, one BLAS
  ``axpy`` per channel and tap.
* ``"matrix"``: the seed's claim taken literally.  ``y = M x`` with
  ``M = conv_matrix(weight, ...)``, ``grad_x = M^T g``, and the gradient of a
  tied weight is the sum over its taps, ``grad_w[k] = sum g[row] x[col]``
  (from :func:`~convtheory.taps.conv_taps`).

:mod:`convtheory.nn.functional` wraps a cached plan per geometry in
PyTorch's functions; the layers in :mod:`convtheory.nn.layers` own one each.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..flat_gather import SKEW, FlatGather
from ..im2col import Im2col
from ..matrices import conv_matrix
from ..spec import ConvSpec
from ..taps import conv_taps, spatial_taps
from ..threads import blas_threads, gemm_threads
from ..ufunc_buffer import short_rows
from ..validation import as_instance
from ._backend import BACKENDS, _cached

__all__ = ["CORRELATE_TAPS", "ConvPlan"]

_TAPS: OrderedDict = OrderedDict()


def _taps(spec: ConvSpec):
    return _cached(_TAPS, spec, lambda: conv_taps(spec), size=8)


class ConvPlan:
    """Forward and backward of one convolution geometry, with its buffers.

    ``forward`` keeps what ``backward`` needs (the gathered input, the
    padded input for stride 1, or the matrix and the input), so call
    ``backward`` after the ``forward`` whose gradient you want.

    Parameters
    ----------
    spec : ConvSpec
        The geometry of one sample: ``input_shape`` is ``(C_in, n1, ..., nd)``.
    backend : {"im2col", "matrix"}

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((2, 1, 3)), rng.standard_normal((4, 1, 8))
    >>> plan = ConvPlan(ConvSpec(w.shape, x.shape[1:], padding="same"))
    >>> y = plan.forward(x, w)
    >>> gx, gw, gb = plan.backward(np.ones_like(y), w)
    >>> gx.shape, gw.shape, gb.tolist()
    ((4, 1, 8), (2, 1, 3), [32.0, 32.0])
    """

    def __init__(self, spec: ConvSpec, backend: str = "im2col"):
        spec = as_instance(spec, ConvSpec, "spec")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got backend={backend!r}")
        self.spec = spec
        self.backend = backend
        self.k_vol = int(np.prod(spec.kernel_size))
        self.n_out = int(np.prod(spec.output_spatial))
        self._gather = Im2col(spec) if backend == "im2col" else None
        # Stride 1: every tap is one contiguous run of the padded input (no short
        # inner loops in the gather, its adjoint or the depthwise shift-and-add).
        self._flat = FlatGather(spec) if backend == "im2col" and FlatGather.applies(spec) else None
        self._depthwise = spec.out_channels_per_group == spec.in_channels_per_group == 1
        self._buffers: dict = {}
        self._saved = None

    def _buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = np.empty(shape, dtype=dtype)
            self._buffers[name] = buf
        return buf

    # The crops, pads and bias adds run over short strided rows (ufunc_buffer).  A nan or
    # inf propagates as in torch (inf * 0 = nan), silently: on the flat path the spill
    # columns meet inputs that no true output meets, and a warning there would speak of
    # values that are thrown away.
    @short_rows()
    @np.errstate(invalid="ignore", over="ignore")
    def forward(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
        """``y = conv(x, weight) + bias`` for a batch ``x`` of shape ``(N,) + spec.input_shape``."""
        spec = self.spec
        n = x.shape[0]
        out = np.empty((n,) + spec.output_shape, dtype=x.dtype)
        out3 = out.reshape(n, spec.out_channels, self.n_out)
        if self.backend == "matrix":
            M = conv_matrix(weight, spec)
            # Explicit sizes: reshape(n, -1) is ambiguous for an empty batch (n = 0).
            X = x.reshape(n, M.shape[1])
            out.reshape(n, M.shape[0])[...] = (M @ X.T).T
            self._saved = (M, X)
            if bias is not None:
                out3 += bias[:, None]
            return out
        if self._flat is not None:
            return self._forward_flat(x, weight, bias, out)
        g = spec.groups
        ck = spec.in_channels_per_group * self.k_vol
        cols = self._gather(x).reshape(g, ck, n * self.n_out)
        y = self._buffer("y", (g, spec.out_channels_per_group, n * self.n_out), x.dtype)
        with gemm_threads(g, spec.out_channels_per_group * ck * n * self.n_out):
            np.matmul(weight.reshape(g, -1, ck), cols, out=y)
        # One pass from the (C_out, N, P) product to the (N, C_out, P) output, bias included.
        y_t = y.reshape(spec.out_channels, n, self.n_out).transpose(1, 0, 2)
        if bias is None:
            out3[...] = y_t
        else:
            np.add(y_t, bias[:, None], out=out3)
        self._saved = cols
        return out

    @short_rows()
    @np.errstate(invalid="ignore", over="ignore")
    def backward(self, grad_output: np.ndarray, weight: np.ndarray, *, input_grad: bool = True):
        """Gradients ``(grad_input, grad_weight, grad_bias)`` of the last ``forward``.

        ``grad_input`` is None when ``input_grad=False`` (a first layer needs
        no gradient with respect to the data).
        """
        if self._saved is None:
            raise RuntimeError("ConvPlan.backward needs a forward pass first")
        spec = self.spec
        n = grad_output.shape[0]
        G3 = grad_output.reshape(n, spec.out_channels, self.n_out)
        grad_bias = G3.sum(axis=(0, 2))
        if self.backend == "matrix":
            M, X = self._saved
            G = grad_output.reshape(n, M.shape[0])
            grad_input = (M.T @ G.T).T.reshape((n,) + spec.input_shape) if input_grad else None
            taps = _taps(spec)
            # A tied weight's gradient is the sum over its taps of g[row] * x[col].
            per_tap = np.einsum("nt,nt->t", G[:, taps.rows], X[:, taps.cols])
            grad_weight = np.bincount(taps.kernel, weights=per_tap, minlength=spec.n_weights)
            grad_weight = grad_weight.reshape(spec.weight_shape).astype(weight.dtype)
            if not np.isfinite(G).all():
                _padding_products(spec, G, grad_weight)
            return grad_input, grad_weight, grad_bias
        if isinstance(self._saved, tuple) and self._saved[0] == "flat":
            return self._backward_flat(grad_output, weight, grad_bias, input_grad)
        cols = self._saved
        g = spec.groups
        ck = spec.in_channels_per_group * self.k_vol
        G2 = self._buffer("g", (g, spec.out_channels_per_group, n * self.n_out), grad_output.dtype)
        G2.reshape(spec.out_channels, n, self.n_out)[...] = G3.transpose(1, 0, 2)
        threads = gemm_threads(g, spec.out_channels_per_group * ck * n * self.n_out)
        with threads:
            # (cols @ G^T)^T rather than G @ cols^T: the same sums, but OpenBLAS runs the
            # long reduction over N * P about twice as fast with cols as the row-major A.
            grad_weight = np.matmul(cols, G2.transpose(0, 2, 1)).transpose(0, 2, 1)
            grad_weight = np.ascontiguousarray(grad_weight).reshape(spec.weight_shape)
        if not input_grad:
            return None, grad_weight, grad_bias
        if spec.out_channels_per_group == spec.in_channels_per_group == 1:
            # Depthwise: the broadcasted scatter-add of each tap's block; no gcols
            # buffer of prod(k) times the input, no col2im pass over it.
            grad_input = self._gather.depthwise_adjoint(
                grad_output.reshape((n,) + spec.output_shape), weight.reshape(g, self.k_vol))
            return grad_input, grad_weight, grad_bias
        gcols = self._buffer("gcols", (g, ck, n * self.n_out), grad_output.dtype)
        w_t = weight.reshape(g, -1, ck).transpose(0, 2, 1)
        if spec.out_channels_per_group == 1:
            # An outer product: GEMM with an inner dimension of 1 is several times
            # slower than the broadcast multiply, which only writes gcols once.
            np.multiply(w_t, G2, out=gcols)
        else:
            with gemm_threads(g, spec.out_channels_per_group * ck * n * self.n_out):
                np.matmul(w_t, G2, out=gcols)
        grad_input = self._gather.adjoint(
            gcols.reshape(spec.in_channels, self.k_vol, n, self.n_out))
        return grad_input, grad_weight, grad_bias

    # ---- stride 1: the flat gather, block by block ----------------------------
    def _forward_flat(self, x, weight, bias, out):
        spec, flat = self.spec, self._flat
        n, g = x.shape[0], spec.groups
        if self._depthwise:
            xc = flat.pad_channels(x)
            self._saved = ("flat", xc)
            with blas_threads(1):  # one axpy per channel and tap: many small calls
                y_c = flat.depthwise(xc, weight.reshape(g, self.k_vol))
            y = flat.crop_channels(y_c).swapaxes(0, 1)
        else:
            xp = flat.pad(x)
            self._saved = ("flat", xp)
            ck = spec.in_channels_per_group * self.k_vol
            # Rows skewed off a power of two bytes, as the gather's (flat_gather.SKEW).
            y_ext = flat.buffer("y", (g, spec.out_channels_per_group, n * flat.length + SKEW),
                                x.dtype)[..., :n * flat.length]
            w = weight.reshape(g, -1, ck)
            # Gather a block, multiply it while it is in the cache: cols never reach
            # memory.  Many mid-sized products: one BLAS thread (see _backward_flat).
            with blas_threads(1):
                for block in flat.blocks(n, x.dtype.itemsize):
                    cols = flat.gather(xp, block)
                    np.matmul(w, cols.reshape(g, ck, -1), out=y_ext[..., _columns(flat, block)])
            y = flat.crop(y_ext.reshape(spec.out_channels, n, flat.length)).swapaxes(0, 1)
        # One pass from the flat grid to the output, cropping the spill, bias included.
        if bias is None:
            out[...] = y
        else:
            np.add(y, bias.reshape((-1,) + (1,) * spec.ndim), out=out)
        return out

    def _backward_flat(self, grad_output, weight, grad_bias, input_grad):
        spec, flat = self.spec, self._flat
        n, g = grad_output.shape[0], spec.groups
        xp = self._saved[1]
        finite_weight = bool(np.isfinite(weight).all())
        if self._depthwise:
            # The gradient on the channel-major grid; its spill positions stay zero
            # (only the outputs' positions are ever written).
            grad_c = flat.buffer("grad_channels", xp.shape, grad_output.dtype, zero=True)
            flat.crop_channels(grad_c)[...] = grad_output.swapaxes(0, 1)
            with blas_threads(1):
                grad_weight = flat.depthwise_weight_grad(xp, grad_c)
            if not np.isfinite(grad_weight).all():
                # A spill column may hold an inf of the input: 0 * inf would be nan
                # where the true sum is not.  Sum over the outputs only.
                grad_weight = flat.depthwise_weight_grad(xp, grad_c, spill=False)
            grad_weight = grad_weight.reshape(spec.weight_shape)
            if not input_grad:
                return None, grad_weight, grad_bias
            w = weight.reshape(g, self.k_vol)
            if finite_weight:
                with blas_threads(1):
                    grad_input = flat.depthwise_adjoint(grad_c, w)
            else:  # 0 * inf on the spill: take the exact scatter-add of the true outputs
                grad_input = self._gather.depthwise_adjoint(grad_output, w)
            return grad_input, grad_weight, grad_bias
        ck = spec.in_channels_per_group * self.k_vol
        cpo = spec.out_channels_per_group
        grad_ext = flat.buffer("grad_ext", (g, cpo, n * flat.length + SKEW), grad_output.dtype,
                               zero=True)[..., :n * flat.length]
        flat.crop(grad_ext.reshape(spec.out_channels, n, flat.length))[...] = \
            grad_output.swapaxes(0, 1)
        # The input gradient is either a correlation of the output gradient with the flipped
        # weight (after the loop: its gather copies C_out * prod(k) rows per column) or the
        # scatter-add of the columns (C_in * prod(k) rows, each an add: dearer than a copy).
        # With an infinite weight only the scatter-add can skip the spill (inf * 0 there).
        scatter = input_grad and (not finite_weight or not _correlate(spec))
        gxp = flat.buffer("grad_padded", xp.shape, grad_output.dtype) if scatter else None
        if scatter:
            gxp.fill(0)
        w_t = weight.reshape(g, -1, ck).transpose(0, 2, 1)
        grad_w = np.zeros((g, ck, cpo), dtype=grad_output.dtype)
        # Serial, on one BLAS thread, at any thread count.  Samples could go to two
        # workers (their input gradients are disjoint), but on a machine whose cores
        # are busy that measured 1.1-1.4x slower than one thread; and one order of
        # the sums gives the same gradient at every thread count.
        widest = flat.widest(n, grad_output.dtype.itemsize)
        with blas_threads(1):
            for block in flat.blocks(n, grad_output.dtype.itemsize):
                cols = flat.gather(xp, block).reshape(g, ck, -1)
                gb = grad_ext[..., _columns(flat, block)]
                # (cols @ G^T), accumulated over the blocks; the transpose comes at the end.
                part = np.matmul(cols, gb.transpose(0, 2, 1))
                if not np.isfinite(part).all():
                    # An inf of the input in a spill column: 0 * inf = nan where the true
                    # sum (over the outputs only) is not.  Zero the spill and sum again.
                    keep = flat.keep(block)
                    part = np.matmul(np.where(keep, cols, 0), gb.transpose(0, 2, 1))
                grad_w += part
                if scatter:
                    gcols = flat.buffer("gcols_block", (g, ck, widest + SKEW), grad_output.dtype)
                    gcols = gcols[..., :gb.shape[-1]]
                    if cpo > 1:
                        np.matmul(w_t, gb, out=gcols)
                    else:  # an outer product: the broadcast multiply writes it once
                        np.multiply(w_t, gb, out=gcols)
                    if not finite_weight:
                        gcols = np.where(flat.keep(block), gcols, 0)  # no gradient on the spill
                    flat.scatter(gcols.reshape(spec.in_channels, self.k_vol, -1), gxp, block)
        grad_weight = np.ascontiguousarray(grad_w.transpose(0, 2, 1)).reshape(spec.weight_shape)
        if scatter:
            return flat.fold(gxp), grad_weight, grad_bias
        if not input_grad:
            return None, grad_weight, grad_bias
        return self._input_grad_flat(grad_output, weight), grad_weight, grad_bias

    def _input_grad_flat(self, grad_output, weight):
        """The input gradient as one more flat gather: of the output gradient, with the
        flipped weight (one product and one gather per block, where the scatter-add of the
        columns needs a product and an add per tap)."""
        spec, flat = self.spec, self._flat
        n, g = grad_output.shape[0], spec.groups
        cpo, cpi = spec.out_channels_per_group, spec.in_channels_per_group
        gp = flat.grad_padded(grad_output)
        span = flat.grad_span[1] - flat.grad_span[0]
        gx = flat.buffer("grad_x", (g, cpi, n * span + SKEW), grad_output.dtype)[..., :n * span]
        # w_f[g, i, (o, j)] = w[g, o, i, j]: the rows of the gradient gather are (o, j).
        w_f = np.ascontiguousarray(
            weight.reshape(g, cpo, cpi, self.k_vol).transpose(0, 2, 1, 3)).reshape(g, cpi, -1)
        with blas_threads(1):
            for block in flat.grad_blocks(n, grad_output.dtype.itemsize):
                cols = flat.grad_gather(gp, block).reshape(g, cpo * self.k_vol, -1)
                n0, n1, s, e = block
                np.matmul(w_f, cols, out=gx[..., n0 * span + s:(n1 - 1) * span + e])
        return flat.grad_input(gx.reshape(spec.in_channels, n, span))


#: Taps of the kernel from which the input gradient is a correlation rather than a
#: scatter-add, when also C_out <= C_in per group.  The scatter-add pays one add per tap
#: and input channel of each column; the correlation one copy per tap and output channel,
#: plus two passes over the volume (the margin and the crop).  Measured on the layer's
#: forward and backward pass, one thread, with the scatter's adds on numpy's short-row
#: buffer (``ufunc_buffer.short_rows``): 3x3x3 kernels, the correlation 2-6% faster
#: (float32 and float64, 8, 16 and 32 channels); 3x3 and shorter, the scatter-add 0-7%
#: faster in all but float64 at 32 -> 32 channels (the correlation 8% faster).
CORRELATE_TAPS = 27


def _correlate(spec: ConvSpec) -> bool:
    """Whether the flat path takes the input gradient as a correlation (see above)."""
    k_vol = int(np.prod(spec.kernel_size))
    return spec.out_channels_per_group <= spec.in_channels_per_group and k_vol >= CORRELATE_TAPS


def _padding_products(spec: ConvSpec, G: np.ndarray, grad_weight: np.ndarray) -> None:
    """The products with zero padding that ``M`` has no entry for, where they are not zero.

    torch (and the im2col path) sums ``g * 0`` over the padded positions as well:
    a nan or inf of the output gradient there makes the weight's gradient nan,
    which the matrix's missing entries would skip.  Sets those weights to nan.
    """
    n_out = int(np.prod(spec.output_spatial))
    st = spatial_taps(spec)
    present = np.zeros((n_out, int(np.prod(spec.kernel_size))), dtype=bool)
    present[np.repeat(np.arange(n_out), np.diff(st.indptr)), st.kernel] = True
    o, p = np.divmod(np.nonzero(~np.isfinite(G).all(axis=0))[0], n_out)
    row, a = np.nonzero(~present[p])       # kernel positions output p reads from padding
    grad_weight.reshape(spec.out_channels, spec.in_channels_per_group, -1)[o[row], :, a] = np.nan


def _columns(flat, block) -> slice:
    """The slice of the flat ``(N * length)`` axis that ``block`` covers."""
    n0, n1, s, e = block
    return slice(n0 * flat.length + s, (n1 - 1) * flat.length + e)
