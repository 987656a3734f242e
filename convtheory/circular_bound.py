"""The circular embedding: an upper bound on a conv layer's norm by the DFT, and its top vector.

Any padding is a linear padding operator ``P`` (zero embedding, or the copies
of reflect, replicate, circular) followed by the *valid* conv ``V`` on the
padded grid, so ``||M|| <= ||V|| ||P||`` with ``||P|| = sqrt(max copies of one
input)`` (``P^T P`` is diagonal; 1 for zero padding).  ``V`` is a compression
(rows and columns subset) of the circular conv of the same stride on any grid
``m >= n + lo + hi`` divisible by the stride, so ``||V|| <= ||C_m||`` for
*every* such grid: the least of several is kept.  A stride-``s`` circular conv
is a stride-1 conv of the ``s^d`` polyphase components of its input
(Vaidyanathan, *Multirate Systems and Filter Banks*, 1993, ch. 4), which the
DFT block-diagonalises into one ``C_out/g x (C_in/g s^d)`` matrix per frequency
(Sedghi, Gupta & Long, ICLR 2019), so ``||C_m|| = max_f sigma_max(H(f))``.

The top right singular vector of ``H(f*)`` at the maximising frequency,
modulated by the smooth window ``prod sin(pi (j+1) / (n+1))``, is a start
vector whose Rayleigh quotient loses only ``O(1/n^2)``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .geometry import axis_taps, polyphase_grids, polyphase_split
from .gram_certificate import top_eigenpair
from .operators import _fft_eligible
from .spec import ConvSpec
from .threads import blas_threads, parallel_blocks

__all__ = []  # private to convtheory.spectral_bounds

_EPS = np.finfo(np.float64).eps
_CHUNK_BYTES = 64 * 2**20      # frequency matrices are built in chunks of this size
# Estimated flops after which no further embedding grid is tried (about a second
# on one core).  A count, not a clock, so that the bound a layer gets does not
# depend on how busy the machine was.
_GRID_FLOPS = 2e9
_GRIDS = 4                     # embedding grids tried while cheap


def _padding_tables(spec: ConvSpec) -> list:
    """Per axis, the input index each padded position copies (-1: a zero)."""
    return [axis_taps(n, 1, padding=p, padding_mode=spec.padding_mode)[:, 0]
            for n, p in zip(spec.input_spatial, spec.padding)]


def _valid_spec(spec: ConvSpec) -> ConvSpec:
    """The valid conv on the padded grid: ``M = V P``."""
    padded = tuple(len(t) for t in _padding_tables(spec))
    return ConvSpec(spec.weight_shape, (spec.in_channels,) + padded, stride=spec.stride,
                    padding=0, dilation=spec.dilation, groups=spec.groups, flip=spec.flip)


def _padding_norm(spec: ConvSpec) -> float:
    """``||P||``: ``P^T P`` is diagonal with the number of copies of each input."""
    copies = 1
    for table in _padding_tables(spec):
        copies *= int(np.bincount(table[table >= 0]).max())
    return math.sqrt(copies)


class _Polyphase:
    """The stride-``s`` circular conv of one grid, block-diagonalised by the DFT.

    With ``c_a`` the position tap ``a`` reads for output 0, ``c_a = s u_a + p_a``,
    ``y[o] = sum_a w_a x_{p_a}[o + u_a]`` on the grid ``q = m / s``, so
    ``H(theta) = sum_a w_a exp(i theta u_a) e_{p_a}^T``.
    """

    def __init__(self, w, spec: ConvSpec, offsets, grid):
        self.spec, self.grid = spec, tuple(grid)
        s = spec.stride
        # polyphase component length on each axis (the grids are multiples of the stride)
        self.q = tuple(int(polyphase_split(m, si)[1]) for m, si in zip(grid, s))
        g = spec.groups
        self.wg = w.reshape(g, spec.out_channels_per_group, spec.in_channels_per_group, -1)
        # per-axis polyphase class and shift of each kernel position, in weight order
        cls, shifts = [], []
        for ax, (c, si) in enumerate(zip(offsets, s)):
            phase, shift = polyphase_split(np.asarray(c)[np.argsort(spec.kernel_order(ax))], si)
            cls.append(phase)
            shifts.append(shift)
        grids = np.meshgrid(*cls, indexing="ij")
        self.cls = np.ravel_multi_index([a.ravel() for a in grids], s)  # (A,)
        self.shifts = [a.ravel() for a in np.meshgrid(*shifts, indexing="ij")]
        self.n_phases = int(np.prod(s))
        co, ci = self.wg.shape[1:3]
        sel = np.zeros((g, co, ci, self.n_phases, self.cls.size), dtype=self.wg.dtype)
        sel[..., self.cls, np.arange(self.cls.size)] = self.wg
        self.sel = sel.reshape(g, co * ci * self.n_phases, -1)
        self.real = not np.iscomplexobj(w)

    def frequencies(self) -> np.ndarray:
        """Frequency indices; for real weights ``H(-f) = conj H(f)``: half the last axis."""
        ranges = [np.arange(q) for q in self.q]
        if self.real:
            ranges[-1] = np.arange(self.q[-1] // 2 + 1)
        mesh = np.meshgrid(*ranges, indexing="ij")
        return np.stack([a.ravel() for a in mesh], axis=1)

    def matrices(self, group: int, freqs: np.ndarray) -> np.ndarray:
        theta = 2 * np.pi * freqs / np.array(self.q)  # (F, d)
        phase = np.exp(1j * sum(theta[:, [ax]] * self.shifts[ax][None, :]
                                for ax in range(len(self.q))))  # (F, A)
        co, ci = self.wg.shape[1:3]
        H = phase @ self.sel[group].T  # (F, co*ci*P)
        return H.reshape(-1, co, ci * self.n_phases)

    def norm(self, max_bytes: int):
        """``max_f sigma_max(H(f))`` over groups, with the maximiser ``(group, f)``."""
        freqs = self.frequencies()
        co, cip = self.wg.shape[1], self.wg.shape[2] * self.n_phases
        per = 16 * co * cip * 3
        if per > max_bytes:
            raise ValueError(
                f"conv_spectral_norm_bounds: one frequency matrix needs about {per / 2**20:,.0f} "
                f"MiB, over max_bytes={max_bytes:,}; pass a larger max_bytes")
        chunk = max(1, min(len(freqs), min(_CHUNK_BYTES, max_bytes) // per))
        best, arg = -1.0, None
        for g in range(self.wg.shape[0]):
            found = []  # (first index, lambda, frequency) per block; appends are atomic

            def scan(lo, hi, g=g, found=found):
                top, where = -1.0, None
                for start in range(lo, hi, chunk):
                    f = freqs[start:min(start + chunk, hi)]
                    H = self.matrices(g, f)
                    # sigma_max^2 is the top eigenvalue of the smaller Gram matrix: one
                    # batched GEMM and eigvalsh, several times cheaper than the SVD
                    Hh = H.conj().transpose(0, 2, 1)
                    lam = np.linalg.eigvalsh(H @ Hh if H.shape[1] <= H.shape[2] else Hh @ H)[:, -1]
                    i = int(np.argmax(lam))
                    if lam[i] > top:
                        top, where = float(lam[i]), f[i]
                found.append((lo, top, where))

            parallel_blocks(len(freqs), scan, min_items=chunk)
            # In the frequencies' order, not the blocks' finishing order: of equal maxima
            # (a 1x1 kernel has the same matrix at every frequency) the first is kept, as
            # one worker keeps it, so the start vector and the lower bound do not vary.
            for _, lam, f in sorted(found, key=lambda item: item[0]):
                if lam > best:
                    best, arg = lam, (g, f)
        # The Gram's rounding (Higham eq. 3.13: gamma_k |H|^* |H|, whose norm is at
        # most ||H||_F^2 <= k sigma_max^2) is folded into the caller's allowance.
        return math.sqrt(max(best, 0.0)), arg


def _candidate_grids(base, stride, exact: bool) -> list:
    """Grids ``m >= base`` divisible by the stride; each gives a valid bound, the least is kept."""
    return polyphase_grids(base, stride, count=1 if exact else _GRIDS)


def _grid_flops(spec: ConvSpec, grid) -> float:
    """Flops of one embedding grid: a Gram product and ``eigvalsh`` per frequency and group."""
    phases = int(np.prod(spec.stride))
    rows, cols = spec.out_channels_per_group, spec.in_channels_per_group * phases
    small, large = min(rows, cols), max(rows, cols)
    return float(np.prod(grid)) / phases * spec.groups * (small * small * large + small ** 3)


def circular_upper(w, spec: ConvSpec, deadline, max_bytes):
    """``||P|| min_m ||C_m||`` over a few grids ``m``, and the data for the lower bound.

    Returns ``(upper, where, poly, arg, exact)``: the bound, its description,
    the :class:`_Polyphase` of the best grid with its maximising
    ``(group, frequency)``, and whether the embedding is exact (a circular
    stride-1 conv with output size = input size).
    """
    exact = _fft_eligible(spec)
    vspec = spec if exact else _valid_spec(spec)
    offsets = [vspec.axis_table(ax)[0] for ax in range(spec.ndim)]
    base = spec.input_spatial if exact else vspec.input_spatial
    s = spec.stride
    grids = _candidate_grids(base, s, exact)
    gain = 1.0 if exact else _padding_norm(spec)
    best, spent = None, 0.0
    for grid in grids:
        # Each further grid may only shave the O(1/n^2) excess; try them while cheap.
        spent += _grid_flops(vspec, grid)
        if best is not None and spent > _GRID_FLOPS:
            break
        poly = _Polyphase(w, vspec, offsets, grid)
        bound, arg = poly.norm(max_bytes)
        # rounding of the DFT sums, the Gram product and eigvalsh: a few eps per term
        k = poly.cls.size + max(poly.sel.shape[1], 1)
        bound *= 1 + 16 * _EPS * (k + poly.wg.shape[1] * poly.wg.shape[2] * poly.n_phases)
        if best is None or bound < best[0]:
            best = (bound, poly, arg)
        if deadline is not None and time.perf_counter() > deadline:
            break
    bound, poly, arg = best
    upper = bound * gain
    where = ("exact: circular stride-1 conv, DFT block-diagonalisation (Sedghi et al. 2019)"
             if exact else
             f"circular embedding: ||P||={gain:.6g} x max_f sigma_max(H(f)) of the stride-"
             f"{tuple(s)} circular conv on grid {poly.grid} (polyphase DFT; Sedghi et al. 2019)")
    return upper, where, poly, arg, exact


def circular_conv_norm(w, spec: ConvSpec, max_bytes: int) -> float:
    """The largest singular value of a circular stride-1 conv whose output has the input's size.

    ``max_f sigma_max(H(f))`` by the DFT (Sedghi et al. 2019), top eigenvalue
    of each frequency's Gram matrix only: the value the full spectrum
    (:func:`convtheory.conv_singular_values`) would put first, to rounding.
    """
    if not _fft_eligible(spec):
        raise ValueError(f"circular_conv_norm needs a circular stride-1 conv whose output has "
                         f"the input's size, got {spec!r}")
    offsets = [spec.axis_table(ax)[0] for ax in range(spec.ndim)]
    return _Polyphase(w, spec, offsets, spec.input_spatial).norm(max_bytes)[0]


def modulated_vector(spec: ConvSpec, poly: _Polyphase, arg, exact: bool) -> np.ndarray:
    """``x[c, j] = v[c, p(t)] exp(i theta . tau(t)) window(j)`` at padded position ``t`` of ``j``."""
    g, f = arg
    H = poly.matrices(g, f[None, :])[0]
    # the top right singular vector, (ci * P,): the top eigenvector of H^* H, or H^* u for
    # the top eigenvector u of the smaller H H^*, without the full SVD
    wide = H.shape[0] < H.shape[1]
    G = H @ H.conj().T if wide else H.conj().T @ H
    with blas_threads(1):
        top = top_eigenpair(G)[1]
    v = H.conj().T @ top if wide else top
    ci = spec.in_channels_per_group
    v = v.reshape(ci, poly.n_phases)
    if exact:
        positions = [np.arange(n) for n in spec.input_spatial]
    else:
        # the padded-grid position of each input sample
        positions = [np.flatnonzero(np.asarray(axis_taps(n, 1, padding=p)[:, 0]) >= 0)
                     for n, p in zip(spec.input_spatial, spec.padding)]
    mesh = np.meshgrid(*positions, indexing="ij")
    s = spec.stride
    split = [polyphase_split(t, si) for t, si in zip(mesh, s)]
    phase_idx = np.ravel_multi_index([p for p, _ in split], s)
    theta = 2 * np.pi * f / np.array(poly.q)
    wave = np.exp(1j * sum(th * u for th, (_, u) in zip(theta, split)))
    if not exact:
        for ax, n in enumerate(spec.input_spatial):
            shape = [1] * spec.ndim
            shape[ax] = n
            wave = wave * np.sin(np.pi * (np.arange(n) + 1) / (n + 1)).reshape(shape)
    x = np.zeros(spec.input_shape, dtype=complex)
    x[g * ci:(g + 1) * ci] = v[:, phase_idx] * wave[None]
    return x
