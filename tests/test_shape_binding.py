"""Shape propagation must agree with binding: a shape for an input that no conv accepts is a lie."""

import pytest

from convtheory import ConvGeometry, ConvSpec


@pytest.mark.parametrize("kernel, spatial, conv", [
    ((3,), (0,), dict(dilation=3, padding="full", padding_mode="reflect")),
    ((3, 1), (0, 0), dict(stride=(1, 2), dilation=(1, 3), padding=(0, 2), padding_mode="replicate")),
])
def test_output_shape_refuses_what_bind_refuses(kernel, spatial, conv):
    with pytest.raises(ValueError, match=r"cannot extend an empty axis"):
        ConvSpec((1, 1) + kernel, (1,) + spatial, **conv)
    with pytest.raises(ValueError, match=r"cannot extend an empty axis"):
        ConvGeometry(kernel, **conv).output_shape(spatial)


def test_output_shape_of_an_empty_axis_with_zero_padding_is_the_bound_shape():
    conv = dict(padding=2, padding_mode="zeros")
    assert ConvGeometry((3,), **conv).output_shape((0,)) == \
        ConvSpec((1, 1, 3), (1, 0), **conv).output_spatial == (2,)
