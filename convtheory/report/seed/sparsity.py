"""Section "sparsity": each output reads a small neighbourhood, its receptive field.

Interim: counts read from the CSR pattern.  When ``convtheory.checks``
provides ``check_sparsity`` its verdict replaces :func:`local_rows`; the
receptive-field claims run once ``convtheory.receptive_field`` is importable.
"""

from __future__ import annotations

import numpy as np

from ...checks.verdict import Verdict
from ...matrices import conv_matrix
from ..claims import Claim

__all__ = ["CLAIMS"]


def local_rows(ctx) -> Verdict:
    n = 8 if ctx.quick else 16
    M = conv_matrix(np.ones((3, 3)), (n, n), padding=1)
    per_row = np.diff(M.indptr).reshape(n, n)
    interior = per_row[1:-1, 1:-1]
    corners = per_row[[0, 0, -1, -1], [0, -1, 0, -1]]
    density = M.nnz / (M.shape[0] * M.shape[1])
    holds = bool((interior == 9).all() and (corners == 4).all() and per_row.max() == 9)
    return Verdict(
        "local_rows", "each output reads at most k x k = 9 inputs: 9 inside, fewer where the "
                      "window leaves a zero-padded image (4 at corners, 6 on edges)",
        holds, "exhaustive", f"3x3 kernel on {n}x{n}, zero padding 1, every row",
        {"nnz": M.nnz, "density": density, "nnz_per_row_min": int(per_row.min()),
         "nnz_per_row_max": int(per_row.max())})


def nnz_formula(ctx) -> Verdict:
    top = 10 if ctx.quick else 24
    wrong = []
    count = 0
    for n in range(1, top + 1):
        for k in range(1, n + 1):
            count += 1
            nnz = conv_matrix(np.ones(k), (n,)).nnz
            if nnz != k * (n - k + 1):
                wrong.append({"n": n, "k": k, "nnz": nnz, "formula": k * (n - k + 1)})
    return Verdict(
        "nnz_1d_valid", "a 1-D valid conv has exactly k (n - k + 1) nonzeros",
        not wrong, "exhaustive", f"every 1 <= k <= n <= {top} ({count} sizes)",
        {"sizes": count, "formula": "k*(n - k + 1)"}, wrong[0] if wrong else None)


CLAIMS = [
    Claim("sparsity.local", "sparsity",
          "Each output unit reads only its k x k receptive field; the matrix is sparse.",
          True, local_rows),
    Claim("sparsity.nnz_formula", "sparsity",
          "The number of nonzeros has a closed form: k (n - k + 1) for a 1-D valid conv.",
          True, nnz_formula),
]
