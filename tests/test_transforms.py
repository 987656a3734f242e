import numpy as np
import pytest

from convtheory.transforms import cyclic_shift, downsample, flip, rot90, transform_matrix, upsample


@pytest.mark.parametrize("transform, shape", [
    (lambda x: cyclic_shift(x, (1, -2)), (3, 4, 5)),
    (lambda x: rot90(x), (2, 4, 4)),
    (lambda x: rot90(x, 3), (4, 4)),
    (lambda x: flip(x, -2), (2, 3, 3)),
    (lambda x: downsample(x, (2, 2)), (2, 6, 6)),
    (lambda x: upsample(x, (2, 3)), (2, 2, 3)),
])
def test_transform_matrix_matches_transform(transform, shape, rng):
    x = rng.standard_normal(shape)
    T = transform_matrix(transform, shape)
    assert np.array_equal(T @ x.ravel(), transform(x).ravel())


def test_shift_convention():
    # y[i] = x[i - shift]: the content moves forward.
    assert cyclic_shift(np.array([1, 0, 0]), 1).tolist() == [0, 1, 0]


def test_arithmetic_transform_refused():
    with pytest.raises(ValueError, match="transform must only move entries"):
        transform_matrix(lambda x: x * 0.5, (3,))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"rot90 needs at least 2 axes, got x.shape=\(3,\)"):
        rot90(np.zeros(3))
    with pytest.raises(ValueError, match=r"shift has 2 entries but x has only 1 axes"):
        cyclic_shift(np.zeros(3), (1, 1))
    with pytest.raises(ValueError, match=r"factor\[0\] must be >= 1"):
        downsample(np.zeros(4), 0)


def test_downsample_keeps_every_factor_th_sample():
    # ceil(n / f) samples: what a stride-f conv reads, also when f does not divide n.
    assert downsample(np.arange(5), 2).tolist() == [0, 2, 4]
    assert downsample(np.arange(7).reshape(1, 7), (3,)).tolist() == [[0, 3, 6]]
    assert downsample(np.arange(6), 2, strict=True).tolist() == [0, 2, 4]


@pytest.mark.parametrize("shape, factor, shown", [
    ((5,), 2, r"x.shape=\(5,\) and factor=\(2,\)"),
    ((2, 4, 6), (2, 4), r"x.shape=\(2, 4, 6\) and factor=\(2, 4\)"),
])
def test_downsample_strict_refuses_a_remainder(shape, factor, shown):
    with pytest.raises(ValueError, match=r"downsample\(strict=True\) needs every axis divisible "
                                         r"by its factor, got " + shown + "; crop or pad x first"):
        downsample(np.ones(shape), factor, strict=True)


@pytest.mark.parametrize("strict", ["yes", 1, None])
def test_downsample_strict_must_be_a_bool(strict):
    with pytest.raises(TypeError, match=r"strict must be True or False, got strict=" + repr(strict)):
        downsample(np.arange(6), 2, strict=strict)
    assert downsample(np.arange(6), 2, strict=np.True_).tolist() == [0, 2, 4]
