"""A multi-channel conv is a ``C_out x C_in`` block matrix of single-channel convs.

Block ``(c_out, c_in)`` of ``conv_matrix(W, (C_in, n...))`` (rows
``c_out*P : (c_out+1)*P``, columns ``c_in*N : (c_in+1)*N``) is
``conv_matrix(W[c_out, c_in - g*C_in/groups], (n...))`` when ``c_in`` is in
``c_out``'s group ``g``, and zero otherwise: block-diagonal with ``groups``
diagonal blocks of size ``(C_out/groups * P) x (C_in/groups * N)``.
"""

from __future__ import annotations

import sympy

from convtheory import Certificate, ConvSpec, conv_matrix, kernel_symbols

from ._util import differing, stopwatch

__all__ = ["prove"]

STATEMENT = ("conv_matrix(W) for W of shape (C_out, C_in/groups, k...) is the C_out x C_in block "
             "matrix whose (c_out, c_in) block is the single-channel conv with W[c_out, c_in'] "
             "when c_in is input channel c_in' of c_out's group, and zero otherwise "
             "(block-diagonal for groups > 1): y[c_out] = sum_{c_in in group} W[c_out, c_in'] * x[c_in].")

ARGUMENT = (
    "All sizes: with C-order flattening over (channel, spatial...), output unit (c_out, o) is "
    "row c_out P + o and input unit (c_in, i) is column c_in N + i; the conv reads "
    "y[c_out, o] = sum_{c_in in group(c_out)} sum_a W[c_out, c_in', a] x[c_in, tap(o, a)] with "
    "the same spatial taps for every channel pair, so the (c_out, c_in) block is the spatial "
    "conv matrix of W[c_out, c_in'] and blocks outside the group vanish.  Checked by sympy "
    "block by block, with a symbolic W, for every listed configuration."
)

CONFIGS = (
    ((2, 3, 3), (3, 5), {"padding": 1}),
    ((4, 1, 2), (2, 5), {"groups": 2, "stride": 2}),
    ((3, 1, 2, 2), (3, 3, 4), {"groups": 3, "padding_mode": "circular", "padding": 1}),
    ((2, 2, 2, 3), (2, 4, 4), {"padding": ((1, 0), (1, 1)), "padding_mode": "reflect"}),
    ((4, 2, 2, 2), (4, 3, 3), {"groups": 2, "dilation": (1, 2), "padding": (0, 1)}),
)


def _check(weight_shape, input_shape, conv) -> bool:
    spec = ConvSpec(weight_shape, input_shape, **conv)
    W = kernel_symbols(spec.weight_shape)
    M = sympy.Matrix(conv_matrix(W, spec))
    P = M.shape[0] // spec.out_channels
    N = M.shape[1] // spec.in_channels
    single = ConvSpec((1, 1) + spec.kernel_size, (1,) + spec.input_spatial, stride=spec.stride,
                      padding=spec.padding, dilation=spec.dilation,
                      padding_mode=spec.padding_mode, flip=spec.flip)
    for co in range(spec.out_channels):
        group = co // spec.out_channels_per_group
        for ci in range(spec.in_channels):
            block = M[co * P:(co + 1) * P, ci * N:(ci + 1) * N]
            local = ci - group * spec.in_channels_per_group
            if 0 <= local < spec.in_channels_per_group:
                w1 = W[co, local].reshape((1, 1) + spec.kernel_size)
                expected = sympy.Matrix(conv_matrix(w1, single))
            else:
                expected = sympy.zeros(P, N)
            if differing(block, expected):
                return False
    return True


def prove(configs=CONFIGS) -> Certificate:
    """Certify the block structure for each configuration.

    Examples
    --------
    >>> c = prove(CONFIGS[:2])
    >>> bool(c), list(c.details["configs"].values())
    (True, [True, True])
    """
    results = {}
    with stopwatch() as elapsed:
        for wshape, ishape, conv in configs:
            results[f"weight {wshape}, input {ishape}, {conv}"] = _check(wshape, ishape, conv)
    return Certificate(
        theorem="multichannel_block_matrix",
        statement=STATEMENT,
        assumptions=("C-order flattening over (channel, spatial...)",),
        sizes=f"{len(configs)} configurations (1-D and 2-D, groups 1..3, all padding modes)",
        method="symbolic", holds=all(results.values()), details={"configs": results},
        argument=ARGUMENT, seconds=elapsed(),
    )
