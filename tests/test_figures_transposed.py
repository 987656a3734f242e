import pytest

from convtheory.figures.transposed import zero_insertion_figure


def test_panels_hold_the_direct_conv_and_m_transpose():
    fig = zero_insertion_figure(3, 2, stride=3, padding=0, output_padding=2)
    z, d, m = fig.axes
    # M^T of 3 inputs, kernel 2, stride 3, output_padding 2: (3-1)*3 + (2-1) + 2 + 1 = 10 rows.
    assert m.images[0].get_array().shape == (10, 3)
    labels = [t.get_text() for t in z.texts]
    assert labels.count("x0") == 1 and labels.count("0") == 4  # 2 zeros between each pair


def test_refuses_a_figure_too_large_to_read():
    with pytest.raises(ValueError, match="keep n\\*stride \\+ k <= 64, got n=40"):
        zero_insertion_figure(40, 3)
    with pytest.raises(ValueError, match="stride must be a positive int, got stride=0"):
        zero_insertion_figure(4, 3, stride=0)
