"""Composition: two stacked convs are one conv with the composed kernel.

``M(u) M(v) = M(u * v)`` (``*`` the full convolution of the kernels) exactly
for circular padding, "full" zero padding and "valid"; for "same" zero
padding the two differ by a boundary defect confined to the first and last
``p_u`` output rows (the outputs of the second conv that read its padding).
"""

from __future__ import annotations

import numpy as np
import scipy.signal
import sympy

from convtheory import Certificate, ConvSpec, conv_matrix, kernel_symbols

from ._util import differing, entries, stopwatch

__all__ = ["composed_kernel", "defect_entries", "prove", "same_padding_defect"]

STATEMENT = ("Cross-correlating with v and then with u equals cross-correlating once with the full "
             "convolution u * v (the seed's 'composition of filters'): M(u) M(v) = M(u * v) exactly "
             "for circular padding and for 'full' (and 'valid') zero padding; with 'same' zero "
             "padding they differ only in the first and last p_u rows. Multi-channel: the composed "
             "kernel is W[c3, c1] = sum_c2 U[c3, c2] * V[c2, c1].")

ARGUMENT = (
    "All n: z[o] = sum_a u[a] y[o + a] and y[i] = sum_b v[b] x[i + b] give "
    "z[o] = sum_a sum_b u[a] v[b] x[o + a + b] = sum_m (sum_{a+b=m} u[a] v[b]) x[o + m], "
    "provided every y[o + a] that z reads is a value the first conv computed from x.  Circular: "
    "indices are mod n, so always (paddings add: (0, |u|-1) + (0, |v|-1) = (0, |u*v|-1)).  "
    "'full': y is the complete support of the correlation, so reading zeros outside it is exact.  "
    "'valid': z reads only computed y.  'same': z[o] for o < p_u (and the last p_u rows) reads "
    "y in the padding, set to 0 instead of the value the composed kernel sees, which is the defect.  "
    "Checked by sympy with symbolic kernels: M(u) M(v) - M(u*v) expands to 0 for every listed "
    "(n, |u|, |v|) and mode, and for 'same' its nonzero rows are exactly the listed border rows; "
    "multi-channel 2-D composition checked with integer weights (exact in floating point)."
)


def composed_kernel(u, v):
    """The full convolution of two 1-D kernels, exact for sympy entries.

    Examples
    --------
    >>> composed_kernel([1, 2], [1, -1])
    [1, 1, -2]
    """
    out = [0] * (len(u) + len(v) - 1)
    for i, a in enumerate(u):
        for j, b in enumerate(v):
            out[i + j] += a * b
    return out


def _modes(a, b):
    """Conv options of (u, v, u*v) for each exact mode."""
    return {
        "circular": ({"padding": ((0, a - 1),), "padding_mode": "circular"},
                     {"padding": ((0, b - 1),), "padding_mode": "circular"},
                     {"padding": ((0, a + b - 2),), "padding_mode": "circular"}),
        "full": ({"padding": "full"}, {"padding": "full"}, {"padding": "full"}),
        "valid": ({}, {}, {}),
    }


def same_padding_defect(n: int = 5, a: int = 3, b: int = 3) -> dict:
    """The boundary defect ``M_same(u) M_same(v) - M_same(u * v)``, symbolically.

    Returns
    -------
    dict
        ``rows``: the rows where the defect is nonzero; ``entries``: the
        nonzero entries as strings.

    Examples
    --------
    >>> same_padding_defect(5, 3, 3)["entries"]["(0, 0)"]
    '-u_0*v_2'
    """
    u, v = kernel_symbols((a,), "u"), kernel_symbols((b,), "v")
    c = np.array(composed_kernel(list(u), list(v)), dtype=object)
    D = sympy.Matrix(conv_matrix(u, (n,), padding="same")) * sympy.Matrix(
        conv_matrix(v, (n,), padding="same")) - sympy.Matrix(conv_matrix(c, (n,), padding="same"))
    found = entries(D)
    return {"rows": sorted({r for r, _ in found}),
            "entries": {str(k): str(val) for k, val in sorted(found.items())}}


def defect_entries(Mu, Mv, Mc) -> list:
    """Entries where ``Mu Mv`` and ``Mc`` differ (symbolic).

    Examples
    --------
    >>> u, v = kernel_symbols((2,), "u"), kernel_symbols((2,), "v")
    >>> c = np.array(composed_kernel(list(u), list(v)), dtype=object)
    >>> Mv = conv_matrix(v, (4,))
    >>> defect_entries(conv_matrix(u, (3,)), Mv, conv_matrix(c, (4,)))
    []
    """
    return differing(sympy.Matrix(Mu) * sympy.Matrix(Mv), sympy.Matrix(Mc))


def _multichannel(seed=0) -> bool:
    rng = np.random.default_rng(seed)
    U = rng.integers(-3, 4, size=(2, 3, 2, 3)).astype(float)   # (C3, C2, k, k)
    V = rng.integers(-3, 4, size=(3, 2, 3, 2)).astype(float)   # (C2, C1, k, k)
    W = np.zeros((2, 2, 4, 4))
    for c3 in range(2):
        for c1 in range(2):
            W[c3, c1] = sum(scipy.signal.convolve(U[c3, c2], V[c2, c1]) for c2 in range(3))
    shape = (2, 6, 7)
    ok = True
    for kw_u, kw_v, kw_w in (({"padding": "full"},) * 3,
                             ({"padding": ((0, 1), (0, 2)), "padding_mode": "circular"},
                              {"padding": ((0, 2), (0, 1)), "padding_mode": "circular"},
                              {"padding": ((0, 3), (0, 3)), "padding_mode": "circular"})):
        Mv = conv_matrix(V, shape, **kw_v)
        mid_shape = _output_shape(V, shape, kw_v)
        Mu = conv_matrix(U, mid_shape, **kw_u)
        Mw = conv_matrix(W, shape, **kw_w)
        ok &= bool(abs(Mu @ Mv - Mw).max() == 0)
    return ok


def _output_shape(weight, shape, kw):
    return ConvSpec(weight.shape, shape, **kw).output_shape


def prove(sizes=range(3, 9), kernel_lengths=((2, 2), (2, 3), (3, 3))) -> Certificate:
    """Certify ``M(u) M(v) = M(u * v)`` (circular, full, valid) and the 'same' defect.

    Examples
    --------
    >>> c = prove(sizes=(4,), kernel_lengths=((2, 3),))
    >>> bool(c), c.details["exact"]
    (True, {'circular': True, 'full': True, 'valid': True})
    """
    exact = {"circular": True, "full": True, "valid": True}
    defect_rows = {}
    defect_ok = True
    with stopwatch() as elapsed:
        for a, b in kernel_lengths:
            u, v = kernel_symbols((a,), "u"), kernel_symbols((b,), "v")
            c = np.array(composed_kernel(list(u), list(v)), dtype=object)
            for n in sizes:
                for mode, (ku, kv, kc) in _modes(a, b).items():
                    if mode == "valid" and n < a + b - 1:
                        continue
                    Mv = conv_matrix(v, (n,), **kv)
                    Mu = conv_matrix(u, (Mv.shape[0],), **ku)
                    Mc = conv_matrix(c, (n,), **kc)
                    exact[mode] &= not defect_entries(Mu, Mv, Mc)
                if a % 2 and b % 2 and n >= max(a, b):
                    rows = same_padding_defect(n, a, b)["rows"]
                    p_u = (a - 1) // 2
                    expected = sorted(set(range(p_u)) | set(range(n - p_u, n)))
                    defect_rows[f"n={n}, |u|={a}, |v|={b}"] = rows
                    defect_ok &= rows == expected
        multichannel = _multichannel()
        example = same_padding_defect(5, 3, 3)
    details = {"exact": exact, "same_defect_rows": defect_rows,
               "same_defect_example_n5_k3": example["entries"],
               "multichannel_2d_integer_weights": multichannel}
    return Certificate(
        theorem="composition_of_convs",
        statement=STATEMENT,
        assumptions=("stride 1, dilation 1", "cross-correlation (flip=False)",
                     "'same' defect: odd kernel lengths"),
        sizes=f"n = {', '.join(map(str, sizes))}; (|u|, |v|) in {list(kernel_lengths)}; "
              f"multi-channel: 2->3->2 channels, 2-D 6x7, full and circular",
        method="symbolic",
        holds=all(exact.values()) and defect_ok and multichannel,
        details=details, argument=ARGUMENT, seconds=elapsed(),
    )
