"""Section "spectra": singular values of the conv operator, circular against zero padding.

``conv_singular_values`` (FFT, per-frequency SVDs) and ``conv_spectral_norm``
are compared with the dense SVD of the explicit matrix, an independent
reference, and with closed forms.
"""

from __future__ import annotations

import numpy as np

from ... import checks
from ...matrices import conv_matrix
from ..claims import Claim, FigureSpec
from ._common import max_abs, tolerance_verdict

__all__ = ["CLAIMS"]


def _case(ctx):
    c, n = (2, 6) if ctx.quick else (3, 10)
    return ctx.rng("spectra").standard_normal((c, c, 3, 3)), (c, n, n)


def _dense_svd(w, shape, **conv):
    return np.linalg.svd(conv_matrix(w, shape, **conv).toarray(), compute_uv=False)


def singular_values(ctx):
    w, shape = _case(ctx)
    circular = dict(padding=1, padding_mode="circular")
    fast = np.sort(np.ravel(checks.conv_singular_values(w, shape, **circular)))[::-1]
    dense = _dense_svd(w, shape, **circular)
    return tolerance_verdict(
        "fft_singular_values", "the FFT method gives every singular value of the circular conv",
        {"circular": max_abs(fast, dense)}, tol=1e-10,
        scope=f"kernel {w.shape}, input {shape}; against the dense SVD")


def spectral_norms(ctx):
    w, shape = _case(ctx)
    errors, norms = {}, {}
    for mode in ("circular", "zeros"):
        norm = checks.conv_spectral_norm(w, shape, padding=1, padding_mode=mode)
        dense = _dense_svd(w, shape, padding=1, padding_mode=mode)[0]
        errors[mode] = abs(norm - dense) / dense
        norms[mode] = float(norm)
    v = tolerance_verdict(
        "spectral_norm_vs_dense", "conv_spectral_norm equals the largest singular value of the "
                                  "dense matrix", errors, tol=1e-8,
        scope=f"kernel {w.shape}, input {shape}, circular and zero padding",
        extra={"norms": norms})
    return [v, checks.check_spectral_norm_closed_forms((8,) if ctx.quick else (8, 64))]


def _figure(ctx):
    from ...figures.checks import singular_value_figure

    w, shape = _case(ctx)
    return singular_value_figure(w, shape[1])


CLAIMS = [
    Claim("spectra.singular_values", "spectra",
          "All singular values of a circular conv come from per-frequency C_out x C_in SVDs "
          "(Sedghi, Gupta & Long 2019).", True, singular_values,
          figures=[FigureSpec("spectrum", "Singular values of the same kernel with circular and "
                                          "zero padding.", _figure)],
          requires=("convtheory.checks:conv_singular_values",
                    "convtheory.figures.checks:singular_value_figure")),
    Claim("spectra.spectral_norm", "spectra",
          "The spectral norm is exact for circular and zero padding, and matches closed forms "
          "for difference and Laplacian kernels.", True, spectral_norms,
          requires=("convtheory.checks:conv_spectral_norm",
                    "convtheory.checks:check_spectral_norm_closed_forms")),
]
