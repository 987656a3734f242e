"""Linearity, and convolution as correlation with the flipped kernel."""

from __future__ import annotations

import numpy as np
import sympy

from ..matrices import conv_matrix
from ..operators import conv_operator
from ..taps import count_taps
from ..verdict import Verdict, as_compared, badness, exceeds, within, worst_entry
from ..validation import as_tolerance
from ..weights import conv_arguments, kernel_symbols
from ._common import SYMBOLIC_TAP_LIMIT, as_matrix, describe, positive_int, symbolic_entries

__all__ = ["check_flip_identity", "check_linearity"]


def check_linearity(weight, input_shape, *, layer=None, n_samples: int = 3, seed: int = 0,
                    rtol: float = 1e-10, **conv) -> Verdict:
    """Check ``f(a x + b y) == a f(x) + b f(y)`` (and ``f(0) == 0``) on random inputs.

    Parameters
    ----------
    weight, input_shape, **conv
        As in :func:`convtheory.conv_matrix`, or a ``ConvSpec``.
    layer : callable, optional
        ``x of input_shape -> output array`` to check instead of the conv
        (e.g. a layer with a bias or an activation, which must fail).  It
        must return real numbers, as many as the conv's outputs: None, text
        or another size is a TypeError or ValueError; a NaN or an infinity
        fails the check.
    n_samples : int
        Random ``(x, y, a, b)`` tried, at least 1.
    seed : int
    rtol : float
        Allowed error relative to the size of the outputs.

    Returns
    -------
    Verdict
        Method ``sampled``.  Counterexample: the coefficients and the error.

    Examples
    --------
    >>> w = np.ones((2, 1, 3))
    >>> bool(check_linearity(w, (1, 6)))
    True
    >>> relu_conv = lambda x: np.maximum(conv_operator(w, (1, 6)) @ x.ravel(), 0)
    >>> bool(check_linearity(w, (1, 6), layer=relu_conv))
    False
    """
    w, spec = conv_arguments(weight, input_shape, **conv)
    n_samples = positive_int(n_samples, "n_samples")
    rtol = as_tolerance(rtol, "rtol")
    if layer is None:
        if w.dtype == object:
            raise TypeError("check_linearity needs numeric weights (or a layer)")
        op = conv_operator(w, spec)

        def layer(x):
            return op @ x.ravel()
    elif not callable(layer):
        raise TypeError(f"layer must be callable, got {type(layer).__name__}")
    rng = np.random.default_rng(seed)
    n_out = int(np.prod(spec.output_shape))

    def f(x):
        out = as_compared(layer(x), "layer(x)", real=True)
        if out.size != n_out:
            raise ValueError(f"layer must return the conv's output, {spec.output_shape} "
                             f"({n_out} numbers), got an array of shape {out.shape}")
        return out.astype(float).ravel()

    worst, counterexample = 0.0, None
    zero = f(np.zeros(spec.input_shape))
    scale0, at = worst_entry(zero)
    if not within(zero, 0.0):
        worst, counterexample = np.inf, {"f(0)_max_abs": scale0, "output_index": at}
    for _ in range(n_samples):
        x, y = rng.standard_normal((2,) + spec.input_shape)
        a, b = rng.standard_normal(2)
        with np.errstate(invalid="ignore", over="ignore"):   # inf - inf is NaN: it fails below
            lhs, rhs = f(a * x + b * y), a * f(x) + b * f(y)
            finite = np.isfinite(lhs) & np.isfinite(rhs)
            if finite.all():
                scale = max(float(np.max(np.abs(lhs), initial=0.0)),
                            float(np.max(np.abs(rhs), initial=0.0)), 1e-300)
                err, at = worst_entry((lhs - rhs) / scale)
            else:   # no relative error of a non-finite value: the entry fails as NaN
                err, at = worst_entry(np.where(finite, 0.0, np.nan))
        if badness(err) > badness(worst):
            worst = err
            if not within(err, rtol):
                counterexample = {"a": float(a), "b": float(b), "relative_error": err,
                                  "output_index": at}
    holds = within(worst, rtol)
    return Verdict(
        name="linearity",
        statement="f(a x + b y) = a f(x) + b f(y) and f(0) = 0",
        holds=holds, method="sampled",
        scope=f"{describe(spec)}; {n_samples} random (x, y, a, b), rtol={rtol:g}",
        evidence={"max_relative_error": worst, "f(0)_max_abs": scale0},
        counterexample=None if holds else counterexample,
    )


def check_flip_identity(weight, input_shape, *, matrix=None, symbolic=None, **conv) -> Verdict:
    """Check that convolution is correlation with the flipped kernel.

    Claim: ``conv_matrix(w, flip=True) == conv_matrix(w[..., ::-1, ::-1], flip=False)``,
    entry for entry (the kernel reversed along every spatial axis).

    Parameters
    ----------
    weight, input_shape, **conv
        As in :func:`convtheory.conv_matrix` (``flip`` is ignored: both sides
        are built).
    matrix : optional
        Use this as the convolution (``flip=True``) matrix instead.
    symbolic : bool, optional
        Compare in fresh sympy symbols (every kernel).  Default: when the conv
        has at most 20,000 taps and ``matrix`` is not numeric.

    Returns
    -------
    Verdict
        Method ``symbolic`` or ``exhaustive`` (numeric, exact: both sides
        copy the same floats).

    Examples
    --------
    >>> from scipy.signal import convolve, correlate
    >>> w, x = np.array([1.0, 2.0, 4.0]), np.arange(6.0)
    >>> bool(check_flip_identity(w, (6,)))
    True
    >>> np.allclose(convolve(x, w, mode="valid"), correlate(x, w[::-1], mode="valid"))
    True
    """
    conv = {key: v for key, v in conv.items() if key != "flip"}
    w, spec = conv_arguments(weight, input_shape, **conv)
    spec_conv, spec_corr = spec.replace(flip=True), spec.replace(flip=False)
    if matrix is not None:
        matrix = as_matrix(matrix, spec_conv)
    if symbolic is None:
        numeric_override = matrix is not None and not isinstance(matrix, sympy.MatrixBase)
        symbolic = not numeric_override and count_taps(spec) <= SYMBOLIC_TAP_LIMIT
    spatial = tuple(range(2, w.ndim))
    if symbolic:
        symbols = kernel_symbols(spec.weight_shape)
        left = matrix if matrix is not None else conv_matrix(symbols, spec_conv)
        right = conv_matrix(np.flip(symbols, axis=spatial), spec_corr)
        diff = symbolic_entries(sympy.SparseMatrix(left) - sympy.SparseMatrix(right))
        bad = sorted(diff)
        max_error = None
    else:
        left = matrix if matrix is not None else conv_matrix(w, spec_conv)
        right = conv_matrix(np.flip(w, axis=spatial), spec_corr)
        D = (left - right).tocoo()
        nz = exceeds(D.data, 0.0)   # a NaN entry differs too, though NaN > 0 is False
        bad = sorted(zip(D.row[nz].tolist(), D.col[nz].tolist()))
        max_error, _ = worst_entry(D.data)
    holds = not bad
    return Verdict(
        name="flip_identity",
        statement="convolution = cross-correlation with the kernel flipped on every spatial axis",
        holds=holds, method="symbolic" if symbolic else "exhaustive",
        scope=f"{describe(spec)}; {'every kernel' if symbolic else 'the given kernel'}, every entry",
        evidence={"entries_differing": len(bad), "max_error": max_error},
        counterexample={"entry": bad[0]} if bad else None,
    )
