"""Section "sparsity": each output reads a small neighbourhood, its receptive field.

Within one layer the receptive field is a row of the matrix
(:func:`~convtheory.checks.check_sparsity`); through a network it is the
closed form of Araujo, Norris & Sim (Distill 2019), which must agree with
ancestry in the stacked layer graph and reproduce published numbers.
"""

from __future__ import annotations

from ... import checks
from ...verdict import Verdict
from ..claims import Claim

__all__ = ["CLAIMS"]


def local_rows(ctx):
    rng = ctx.rng("sparsity.local")
    n = 8 if ctx.quick else 16
    return [
        checks.check_sparsity(rng.standard_normal((3, 3)), (n, n), padding=1),
        checks.check_sparsity(rng.standard_normal((4, 3, 3, 3)), (3, n, n), stride=2, dilation=2,
                       padding=2),
    ]


def nnz_formula(ctx):
    if ctx.quick:
        return checks.check_nnz_formula(sizes=range(1, 6), kernels=range(1, 4))
    return checks.check_nnz_formula()


# A small network that mixes kernel sizes, strides, dilation and a pool.
_NET = [dict(kernel_size=3, padding=1), dict(kernel_size=3, stride=2),
        dict(kernel_size=2, stride=2), dict(kernel_size=3, dilation=2, padding=2)]

# VGG-16 up to pool5: five blocks of 3x3 convs (padding 1) each closed by a
# 2x2 max pool with stride 2.
_VGG16 = [dict(kernel_size=3, padding=1)] * 2 + [dict(kernel_size=2, stride=2)] \
    + [dict(kernel_size=3, padding=1)] * 2 + [dict(kernel_size=2, stride=2)] \
    + ([dict(kernel_size=3, padding=1)] * 3 + [dict(kernel_size=2, stride=2)]) * 3

#: Published receptive field of VGG-16 at pool5: size, jump, effective padding
#: (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
#: Networks", Distill 2019, table of classic networks).
VGG16_PUBLISHED = (212, 32, 90)


def _triple(rf):
    return rf.size, rf.stride, rf.padding


def receptive_field_exact(ctx):
    from ...receptive_field import receptive_field

    n = 40 if ctx.quick else 64
    closed = receptive_field(_NET, (n, n))
    exact = receptive_field(_NET, (n, n), method="exact")
    holds = _triple(closed) == _triple(exact)
    return Verdict(
        "receptive_field_closed_vs_exact",
        "the closed form (size, jump, padding) equals the graph ancestry of the stacked layers",
        holds, "exhaustive", f"4-layer network (conv, strided conv, pool, dilated conv) on {n}x{n}",
        {"closed": _triple(closed), "exact": _triple(exact)},
        None if holds else {"closed": _triple(closed), "exact": _triple(exact)})


def receptive_field_vgg16(ctx):
    from ...receptive_field import receptive_field

    rf = receptive_field(_VGG16)
    got = (rf.size[0], rf.stride[0], rf.padding[0])
    return Verdict(
        "receptive_field_vgg16",
        "the closed form reproduces VGG-16's published receptive field at pool5",
        got == VGG16_PUBLISHED, "exhaustive", "VGG-16, 13 convs and 5 pools",
        {"size_jump_padding": got, "published": VGG16_PUBLISHED})


_RF = ("convtheory.receptive_field:receptive_field",)

CLAIMS = [
    Claim("sparsity.local", "sparsity",
          "Each output unit reads only its receptive field (C_in k x k inputs, clipped at "
          "zero-padded borders): the matrix is sparse.", True, local_rows,
          requires=("convtheory.checks:check_sparsity",)),
    Claim("sparsity.nnz_formula", "sparsity",
          "The number of nonzeros has a closed form in n, k, stride, dilation and padding, "
          "equal to the tap count.", True, nnz_formula,
          requires=("convtheory.checks:check_nnz_formula",)),
    Claim("sparsity.receptive_field_exact", "sparsity",
          "Through a network, the receptive field's closed form equals graph ancestry.",
          True, receptive_field_exact, requires=_RF),
    Claim("sparsity.receptive_field_vgg16", "sparsity",
          "The closed form gives VGG-16's published receptive field: 212 pixels, jump 32, "
          "padding 90.", True, receptive_field_vgg16, requires=_RF),
]
