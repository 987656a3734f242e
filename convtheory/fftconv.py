"""The convolution by FFT, for every boundary mode, stride and dilation.

A conv is "pad, then take a valid, strided, dilated correlation" (PyTorch's
definition).  This module does exactly that:

1. pad the input once (:class:`~convtheory.padded.Padder`, from the geometry
   core's table of padded positions);
2. embed the kernel at the positions its taps read in the padded buffer (row
   0 of the tap table of the valid conv on the buffer), zero elsewhere, in an
   array of ``L = next_fast_len(p)`` per axis;
3. correlate circularly over ``L`` by ``scipy.fft`` (a product per
   frequency, a ``C_out/g x C_in/g`` matrix per frequency for several
   channels).  ``L >= p`` is enough: a valid output never reads past the end
   of the padded buffer, so nothing wraps round;
4. read the outputs at the positions of column 0 of the same tap table (the
   stride).

The adjoint is the transpose of each step, in reverse order: place the output
gradient at those positions in zeros, multiply by the conjugate transposed
kernel spectrum, keep the first ``p`` entries, fold the padding back.  It costs
the same as the forward pass.  Nothing here computes an index from stride,
padding or dilation.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from .spec import ConvSpec
from .padded import Padder
from .threads import fft_workers, gemm_threads

__all__ = ["FFTConv", "fft_sizes"]


def _as_slice(idx: np.ndarray) -> slice | np.ndarray:
    """An index array as a slice when it is an increasing arithmetic progression."""
    if len(idx) == 1:
        return slice(int(idx[0]), int(idx[0]) + 1)
    step = int(idx[1] - idx[0])
    if step > 0 and np.all(np.diff(idx) == step):
        return slice(int(idx[0]), int(idx[-1]) + 1, step)
    return idx


def fft_sizes(spec: ConvSpec) -> tuple:
    """``(padded, L)``: the padded spatial shape and the transform size per axis.

    ``L`` is ``scipy.fft.next_fast_len`` of the padded length: a valid
    output never reads past the padded input, so no larger size is needed.

    Examples
    --------
    >>> fft_sizes(ConvSpec((31, 31), (512, 512), padding="same"))
    ((542, 542), (576, 576))
    """
    padded = Padder(spec).padded_spatial
    return padded, tuple(scipy.fft.next_fast_len(p, real=True) for p in padded)


class FFTConv:
    """Forward and adjoint of one conv by FFT; see the module docstring.

    Parameters
    ----------
    spec : ConvSpec
    weight : (groups, C_out/g, C_in/g, prod(k)) ndarray
        Weights in the flat C-order kernel index (before ``flip``).
    sizes : tuple of int, optional
        The transform size per axis; by default :func:`fft_sizes`.  A
        smaller size (at least the kernel's extent) serves the blocks of
        :class:`~convtheory.overlap_add.OverlapAddConv`.

    Examples
    --------
    >>> from convtheory import conv_matrix
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal((1, 3, 7, 7))
    >>> spec = ConvSpec(w.shape, (3, 7, 7), padding=2, stride=2, padding_mode="reflect")
    >>> y = FFTConv(spec, w.reshape(1, 2, 3, 9)).forward(x)
    >>> np.allclose(y.ravel(), conv_matrix(w, spec) @ x.ravel())
    True
    """

    def __init__(self, spec: ConvSpec, weight: np.ndarray, sizes: tuple | None = None):
        self.spec = spec
        self.padder = Padder(spec)
        valid = self.padder.valid_spec()
        self.padded, self.sizes = fft_sizes(spec)
        if sizes is not None:
            self.sizes = tuple(int(s) for s in sizes)
        self.axes = tuple(range(2, 2 + spec.ndim))
        # Column 0 of each valid tap table: where outputs are read (the stride);
        # row 0: where the kernel's taps sit relative to output 0 (the dilation).
        tables = [valid.axis_table(axis) for axis in range(spec.ndim)]
        self.read = tuple(_as_slice(t[:, 0]) for t in tables)
        taps = [t[0, :] for t in tables]
        # The kernel's extent per axis in the padded buffer: (k - 1) * dilation + 1.
        self.extent = tuple(int(t.max()) + 1 if len(t) else 1 for t in taps)
        if any(n < e for n, e in zip(self.sizes, self.extent)):
            raise ValueError(f"sizes must be at least the kernel's extent {self.extent} per "
                             f"axis, got sizes={self.sizes}")
        g, c_out_g, c_in_g, _ = weight.shape
        wk = weight.reshape((g, c_out_g, c_in_g) + spec.kernel_size)
        for axis in range(spec.ndim):  # weight carried by each kernel position (flip)
            wk = np.take(wk, spec.kernel_order(axis), axis=3 + axis)
        h = np.zeros((g, c_out_g, c_in_g) + self.sizes, dtype=weight.dtype)
        h[(Ellipsis,) + np.ix_(*taps)] = wk
        kaxes = tuple(range(3, 3 + spec.ndim))
        self.real = not np.iscomplexobj(h)
        if self.real:
            # y[o] = sum_m h[m] x[o+m]  <->  Y = conj(rfft(h)) * X for real h.
            hf = np.conj(scipy.fft.rfftn(h, axes=kaxes))
        else:
            hf = scipy.fft.ifftn(h, axes=kaxes) * math.prod(self.sizes)
        self.freq_shape = hf.shape[3:]
        self.scalar = c_out_g == 1 and c_in_g == 1
        if self.scalar:  # one channel pair per group: a product, no matmul
            self.hf = hf.reshape((g,) + self.freq_shape)
        else:  # (g, F, C_out/g, C_in/g): a small matrix per frequency
            self.hf = np.ascontiguousarray(hf.reshape(g, c_out_g, c_in_g, -1).transpose(0, 3, 1, 2))
            self.hf_h = np.ascontiguousarray(np.conj(self.hf).transpose(0, 1, 3, 2))

    def _mix(self, xf: np.ndarray, adjoint: bool) -> np.ndarray:
        """Channel mixing per frequency: ``xf`` (N, C_from, F...) -> (N, C_to, F...)."""
        spec = self.spec
        b = xf.shape[0]
        g = spec.groups
        if self.scalar:
            hf = np.conj(self.hf) if adjoint else self.hf
            return xf * hf  # (N, g, F...) * (g, F...)
        c_from = xf.shape[1] // g
        x = xf.reshape(b, g, c_from, -1).transpose(1, 3, 2, 0)  # (g, F, C_from/g, N)
        with gemm_threads(2, 0):  # one small product per frequency: one BLAS thread
            y = (self.hf_h if adjoint else self.hf) @ x  # (g, F, C_to/g, N)
        return y.transpose(3, 0, 2, 1).reshape((b, -1) + self.freq_shape)

    def _workers(self, x: np.ndarray) -> int:
        # pocketfft splits each axis' batch of 1-D transforms over the workers: the
        # thread limit in force (threadpoolctl), for a batch large enough to gain.
        return fft_workers(x.shape[0] * x.shape[1] * math.prod(self.sizes))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` (N, C_in, n1, ..., nd) -> ``y`` (N, C_out, o1, ..., od)."""

        with scipy.fft.set_workers(self._workers(x)):
            return self._forward(x)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        """``y`` (N, C_out, o1, ..., od) -> ``x`` (N, C_in, n1, ..., nd): the transposed conv."""
        with scipy.fft.set_workers(self._workers(y)):
            return self._adjoint(y)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        xp = x if self.padder.trivial else self.padder.pad(x)
        if self.real and np.iscomplexobj(xp):
            return self._forward(x.real) + 1j * self._forward(x.imag)
        transform = scipy.fft.rfftn if self.real else scipy.fft.fftn
        yf = self._mix(transform(xp, s=self.sizes, axes=self.axes), adjoint=False)
        if self.real:
            y = scipy.fft.irfftn(yf, s=self.sizes, axes=self.axes)
        else:
            y = scipy.fft.ifftn(yf, axes=self.axes)
        return y[(Ellipsis,) + np.ix_(*self._index(self.read))] if not self._sliced else \
            y[(Ellipsis,) + self.read]

    @property
    def _sliced(self) -> bool:
        return all(isinstance(r, slice) for r in self.read)

    @staticmethod
    def _index(read):
        return [np.arange(r.start, r.stop, r.step) if isinstance(r, slice) else r for r in read]

    def _adjoint(self, y: np.ndarray) -> np.ndarray:
        if self.real and np.iscomplexobj(y):
            return self._adjoint(y.real) + 1j * self._adjoint(y.imag)
        up = np.zeros(y.shape[:2] + self.sizes, dtype=y.dtype)
        if self._sliced:
            up[(Ellipsis,) + self.read] = y
        else:
            up[(Ellipsis,) + np.ix_(*self._index(self.read))] = y
        transform = scipy.fft.rfftn if self.real else scipy.fft.fftn
        xf = self._mix(transform(up, axes=self.axes), adjoint=True)
        if self.real:
            xp = scipy.fft.irfftn(xf, s=self.sizes, axes=self.axes)
        else:
            xp = scipy.fft.ifftn(xf, axes=self.axes)
        xp = xp[(Ellipsis,) + tuple(slice(0, p) for p in self.padded)]
        if self.padder.trivial:
            return np.ascontiguousarray(xp)
        return self.padder.fold(xp)  # xp is a fresh array: its border may be overwritten
