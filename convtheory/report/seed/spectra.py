"""Section "spectra": singular values of the conv operator, circular against zero padding.

Runs once ``convtheory`` exports ``conv_singular_values`` and
``conv_spectral_norm``; each is compared with the dense SVD of the explicit
matrix, an independent reference.
"""

from __future__ import annotations

import numpy as np

from ..claims import Claim, FigureSpec
from ._common import max_abs, tolerance_verdict

__all__ = ["CLAIMS"]

_REQUIRES = ("convtheory:conv_singular_values", "convtheory:conv_spectral_norm")


def _case(ctx):
    c, n = (2, 6) if ctx.quick else (3, 8)
    return ctx.rng("spectra").standard_normal((c, c, 3, 3)), (c, n, n)


def _dense_svd(w, shape, **conv):
    from ...matrices import conv_matrix

    return np.linalg.svd(conv_matrix(w, shape, **conv).toarray(), compute_uv=False)


def singular_values(ctx):
    import convtheory

    w, shape = _case(ctx)
    fast = np.sort(np.ravel(convtheory.conv_singular_values(w, shape)))[::-1]
    dense = _dense_svd(w, shape, padding=1, padding_mode="circular")
    return tolerance_verdict(
        "fft_singular_values", "the FFT method gives every singular value of the circular conv",
        {"circular": max_abs(fast, dense)}, tol=1e-10, scope=f"kernel {w.shape}, input {shape}")


def spectral_norms(ctx):
    import convtheory

    w, shape = _case(ctx)
    errors = {}
    for mode in ("circular", "zeros"):
        norm = convtheory.conv_spectral_norm(w, shape, padding=1, padding_mode=mode)
        dense = _dense_svd(w, shape, padding=1, padding_mode=mode)[0]
        errors[mode] = abs(norm - dense) / dense
    return tolerance_verdict(
        "spectral_norm", "conv_spectral_norm equals the largest singular value of the dense matrix",
        errors, tol=1e-8, scope=f"kernel {w.shape}, input {shape}, circular and zero padding")


def _figure(ctx):
    from ...figures import new_figure

    w, shape = _case(ctx)
    fig, ax = new_figure(figsize=(6.0, 3.5))
    for mode in ("circular", "zeros"):
        s = _dense_svd(w, shape, padding=1, padding_mode=mode)
        ax.plot(s, label=f"{mode} padding", lw=1.5)
    ax.set_xlabel("index")
    ax.set_ylabel("singular value")
    ax.set_title(f"Singular values, kernel {w.shape} on {shape}")
    ax.legend()
    return fig


CLAIMS = [
    Claim("spectra.singular_values", "spectra",
          "All singular values of a circular conv come from per-frequency C_out x C_in SVDs "
          "(Sedghi et al. 2019).", True, singular_values, requires=_REQUIRES,
          figures=[FigureSpec("spectrum", "Singular values of the same kernel with circular and "
                                          "zero padding.", _figure)]),
    Claim("spectra.spectral_norm", "spectra",
          "The spectral norm is exact for circular and zero padding.", True, spectral_norms,
          requires=_REQUIRES),
]
