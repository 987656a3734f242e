"""Section "equivariance": translations commute with the conv; rotations and scalings do not.

The checks (:mod:`convtheory.checks.translation`, ``rotation``, ``scale``) are matrix identities
``M @ T_in == T_out @ M`` between the conv matrix and the 0/1 matrix of the
transform, so a pass covers every input x, not a sample.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ... import checks
from ...verdict import Verdict
from ..claims import Claim, FigureSpec

__all__ = ["CLAIMS"]

SHIFT = (1, 2)


def _size(ctx) -> int:
    return 8 if ctx.quick else 12


def _kernel(ctx) -> np.ndarray:
    return ctx.rng("equivariance.kernel").standard_normal((3, 3))


def translation_circular(ctx) -> Verdict:
    # Symbolic weights: the identity is proved for every 3x3 kernel at this size.
    n = _size(ctx)
    return checks.check_translation_equivariance(np.zeros((3, 3)), (n, n), SHIFT, symbolic=True,
                                          padding=1, padding_mode="circular")


def _zero_padded(ctx) -> Verdict:
    n = _size(ctx)
    return ctx.cached("equivariance.zeros", lambda: checks.check_translation_equivariance(
        _kernel(ctx), (n, n), SHIFT, padding=1))


def translation_zero_padding(ctx) -> Verdict:
    return _zero_padded(ctx)


def translation_interior(ctx) -> Verdict:
    v = _zero_padded(ctx)
    e = v.evidence
    n_out = int(np.size(e["error_map"]))
    return Verdict(
        "translation_interior",
        "with zero padding the error of conv(shift x) - shift conv(x) is zero on every output "
        "whose receptive field (and its preimage's) stays inside the image",
        e["error_confined_to_border"], v.method, v.scope,
        {"interior_max_error": e["interior_max_error"], "max_error": e["max_error"],
         "outputs_with_error": len(e["outputs_with_error"]),
         "border_outputs": len(e["border_outputs"]), "outputs": n_out})


def stride_multiple(ctx) -> Verdict:
    n = _size(ctx)
    return checks.check_translation_equivariance(_kernel(ctx), (n, n), (2, 4), stride=2, padding=1,
                                          padding_mode="circular")


def stride_off_grid(ctx) -> Verdict:
    n = _size(ctx)
    # A shift that is not a multiple of the stride: the check holds only if
    # some output shift matches, which fails for a generic kernel.
    return checks.check_translation_equivariance(
        _kernel(ctx), (n, n), (1, 0), stride=2, padding=1, padding_mode="circular")


def _max_pool(x):
    return x.reshape(-1, 2).max(axis=1)


def pooling_off_stride(ctx) -> Verdict:
    return checks.check_pooling_equivariance(_max_pool, (16,), 1, stride=2, seed=ctx.seed)


def pooling_aliasing(ctx) -> Verdict:
    return checks.pooling_aliasing_example()


def rotation_sobel(ctx) -> Verdict:
    n = _size(ctx)
    return checks.check_rotation_equivariance(checks.SOBEL_X, (n, n), padding=1)


def rotation_laplacian(ctx) -> Verdict:
    n = _size(ctx)
    return checks.check_rotation_equivariance(checks.LAPLACIAN, (n, n), padding=1)


def rotation_constraint(ctx) -> Verdict:
    return checks.rotation_kernel_constraint((3, 3))


def scale(ctx) -> Verdict:
    n = _size(ctx)
    return checks.check_scale_equivariance(_kernel(ctx), (n, n), padding=1, padding_mode="circular")


def scale_dilated(ctx) -> Verdict:
    n = _size(ctx)
    return checks.check_scale_equivariance(_kernel(ctx), (n, n), padding=1, padding_mode="circular",
                                    fine=dict(dilation=2, padding=2))


def _assertion(name: str, statement: str, scope: str, assertion) -> Verdict:
    """A verdict from a ``convtheory.testing`` assertion: holds unless it raises."""
    try:
        assertion()
    except AssertionError as failure:
        first = str(failure).strip().splitlines()[0]
        return Verdict(name, statement, False, "sampled", scope, {"failure": first},
                       {"transform": getattr(failure, "transform", None),
                        "position": getattr(failure, "position", None)})
    return Verdict(name, statement, True, "sampled", scope)


def _ndimage(mode: str, w):
    import scipy.ndimage

    return lambda x: scipy.ndimage.correlate(x, w, mode=mode)


def third_party_wrap(ctx):
    from ...testing import assert_is_convolution, assert_translation_equivariant

    n, w = _size(ctx), _kernel(ctx)
    f = _ndimage("wrap", w)
    scope = f"scipy.ndimage.correlate(mode='wrap'), random 3x3 kernel, {n}x{n}"
    equivariant = _assertion(
        "ndimage_wrap_translation", "a third-party conv with wrap-around borders is "
        "translation equivariant (black-box test)", scope + ", 3 random inputs per shift",
        lambda: assert_translation_equivariant(f, (n, n), seed=ctx.seed))
    found = {}

    def recover():
        found["kernel"] = assert_is_convolution(f, (n, n), (3, 3), padding="same",
                                                padding_mode="circular")
        if not np.allclose(found["kernel"], w, rtol=0, atol=1e-12):
            raise AssertionError(f"recovered kernel {found['kernel'].tolist()} is not w")

    recovered = _assertion(
        "ndimage_wrap_is_circular_conv", "its probed matrix is a circular conv and the kernel "
        "recovered from it is w", scope + ", probed with every basis input", recover)
    return [equivariant, recovered]


def _third_party_zero_padded(ctx, mode: str):
    """The black-box translation test on scipy.ndimage's zero-padded correlation.

    ``mode="circular"`` tests every output (the border must fail); ``"interior"``
    only the outputs whose receptive field stays inside the image.
    """
    from ...testing import assert_translation_equivariant

    n = _size(ctx)
    f = _ndimage("constant", _kernel(ctx))
    if mode == "circular":
        name, where = "ndimage_constant_translation", "on every output"
        scope = "3 random inputs per shift"
    else:
        name, where = "ndimage_constant_interior", \
            "on the outputs whose receptive field stays inside"
        scope = "receptive fields found by probing"
    return _assertion(
        name, f"a third-party zero-padded conv is translation equivariant {where} (black-box "
        f"test)", f"scipy.ndimage.correlate(mode='constant'), {n}x{n}, {scope}",
        lambda: assert_translation_equivariant(f, (n, n), mode=mode, seed=ctx.seed))


def third_party_constant(ctx):
    return _third_party_zero_padded(ctx, "circular")


def third_party_interior(ctx):
    return _third_party_zero_padded(ctx, "interior")


def _border_map(ctx):
    from ...figures.checks import border_error_figure

    n = _size(ctx)
    return border_error_figure(_kernel(ctx), (n, n), SHIFT)


def _rotation_figure(ctx):
    from ...figures.checks import rotation_counterexample_figure

    # The verdict's own input size and kernel, on its worst input: the figure's maximum
    # difference is the verdict's max_error.
    n = _size(ctx)
    return rotation_counterexample_figure(checks.SOBEL_X, input_shape=(n, n), padding=1)


_TESTING = ("convtheory.testing:assert_translation_equivariant",
            "convtheory.testing:assert_is_convolution")

CLAIMS = [
    Claim("equivariance.circular", "equivariance",
          "With circular padding a conv commutes with every cyclic shift (proved for every 3x3 "
          "kernel at this size).", True, translation_circular),
    Claim("equivariance.zero_padding_border", "equivariance",
          "Zero padding breaks translation equivariance at the border.", False,
          translation_zero_padding,
          figures=[FigureSpec("border", "Where zero padding breaks equivariance: the error "
                                        "max |conv(shift x) - shift conv(x)| of each output lives "
                                        "on the predicted border outputs (outlined); circular "
                                        "padding has none.", _border_map)],
          requires=("convtheory.figures.checks:border_error_figure",)),
    Claim("equivariance.zero_padding_interior", "equivariance",
          "Away from the border, a zero-padded conv is still translation equivariant.", True,
          translation_interior),
    Claim("equivariance.stride_multiple", "equivariance",
          "A stride-2 conv is equivariant to shifts by multiples of the stride (output shift "
          "= shift / stride).", True, stride_multiple),
    Claim("equivariance.stride_off_grid", "equivariance",
          "A stride-2 conv is not equivariant to a one-pixel shift: no output shift matches.",
          False, stride_off_grid),
    Claim("equivariance.pooling_off_stride", "equivariance",
          "Max pooling (window and stride 2) is not equivariant to a one-sample shift.",
          False, pooling_off_stride),
    Claim("equivariance.pooling_aliasing", "equivariance",
          "Aliasing: a one-sample shift of a periodic signal changes its pooled output into "
          "something that is no shift of the original.", True, pooling_aliasing),
    Claim("equivariance.rotation_sobel", "equivariance",
          "A generic kernel (Sobel x) is not rotation equivariant.", False, rotation_sobel,
          figures=[FigureSpec("rotation", "The rotation counterexample: for Sobel x, "
                                          "conv(rot90 x) and rot90 conv(x) differ. The input is "
                                          "the one pixel where they differ most, so the "
                                          "difference panel's maximum is the verdict's max "
                                          "error.",
                              _rotation_figure)],
          requires=("convtheory.figures.checks:rotation_counterexample_figure",)),
    Claim("equivariance.rotation_laplacian", "equivariance",
          "A kernel invariant under 90-degree rotation (the Laplacian) is rotation equivariant.",
          True, rotation_laplacian),
    Claim("equivariance.rotation_constraint", "equivariance",
          "A 3x3 conv commutes with rot90 exactly when its kernel is rot90-invariant: a "
          "3-dimensional space (centre, edges, corners).", True, rotation_constraint),
    Claim("equivariance.third_party_wrap", "equivariance",
          "A convolution this package did not write (scipy.ndimage, wrap) passes the black-box "
          "translation test, and its kernel is recovered from its probed matrix.", True,
          third_party_wrap, requires=_TESTING),
    Claim("equivariance.third_party_zero_border", "equivariance",
          "The same black-box test catches zero padding (scipy.ndimage, constant) at the border.",
          False, third_party_constant, requires=_TESTING),
    Claim("equivariance.third_party_interior", "equivariance",
          "... and passes it on the interior, where receptive fields stay inside the image.",
          True, third_party_interior, requires=_TESTING),
    Claim("equivariance.scale", "equivariance",
          "Convolution does not commute with downsampling by 2 (no scale equivariance).",
          False, scale),
    Claim("equivariance.scale_dilated", "equivariance",
          "It does when the fine-scale kernel is the coarse one dilated by 2.", True,
          scale_dilated),
]

# Every claim here reads convtheory.checks: without it, each is reported as not available.
_REQUIRES = tuple(f"convtheory.checks:{name}" for name in (
    "check_translation_equivariance", "check_pooling_equivariance", "pooling_aliasing_example",
    "check_rotation_equivariance", "rotation_kernel_constraint", "check_scale_equivariance",
    "SOBEL_X", "LAPLACIAN"))
CLAIMS = [replace(claim, requires=claim.requires + _REQUIRES) for claim in CLAIMS]
