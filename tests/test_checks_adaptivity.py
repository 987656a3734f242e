import numpy as np
import pytest

from convtheory import ConvSpec, check_adaptivity, conv_matrix, conv_operator


def test_holds_over_sizes(rng):
    w = rng.standard_normal((2, 3, 3, 2))
    v = check_adaptivity(w, (3, 6, 5), stride=(2, 1), padding=1, padding_mode="replicate")
    assert v
    assert v.evidence["parameters"] == 2 * 3 * 3 * 2
    shapes = [row["input_shape"] for row in v.evidence["sizes"]]
    assert shapes == [(3, 6, 5), (3, 7, 6), (3, 9, 8), (3, 12, 10)]
    for row in v.evidence["sizes"]:
        spec = ConvSpec(w.shape, row["input_shape"], stride=(2, 1), padding=1, padding_mode="replicate")
        assert row["output_shape"] == spec.output_shape


def test_explicit_sizes():
    v = check_adaptivity(np.ones(3), (5,), sizes=[(3,), (50,)])
    assert v and [r["matrix_shape"] for r in v.evidence["sizes"]] == [(1, 3), (48, 50)]


def test_other_weights_at_one_size_fails(rng):
    w = rng.standard_normal(3)

    def builder(size):
        weights = w if size != (9,) else w * 2  # one size gets different weights
        return conv_matrix(weights, size, padding=1)

    v = check_adaptivity(w, (6,), sizes=[(6,), (9,), (12,)], builder=builder, padding=1)
    assert not v and v.counterexample["input_shape"] == (1, 9)


def test_bad_builder():
    with pytest.raises(TypeError, match="builder must be callable"):
        check_adaptivity(np.ones(3), (5,), builder="conv")


def test_wrong_shape_at_one_size_fails():
    def builder(size):
        return conv_matrix(np.ones(3), size if size != (9,) else (10,), padding=1)

    v = check_adaptivity(np.ones(3), (6,), sizes=[(6,), (9,)], builder=builder, padding=1)
    assert not v and v.counterexample == {"input_shape": (1, 9), "matrix_shape": (10, 10),
                                          "expected_shape": (9, 9)}


def test_a_size_where_each_weight_is_used_once_still_adapts():
    v = check_adaptivity(np.ones(3), (5,), sizes=[(3,)])
    assert v and v.evidence["sizes"][0]["matrix_shape"] == (1, 3)


def test_bad_sizes():
    with pytest.raises(TypeError, match=r"sizes must be a list of spatial sizes \(tuples of 1 "
                                        r"ints\), got the entry 5 in sizes=\[5\]"):
        check_adaptivity(np.ones(3), (5,), sizes=[5])
    with pytest.raises(ValueError, match=r"every entry of sizes must be 2 ints .* got \(5,\)"):
        check_adaptivity(np.ones((3, 3)), (5, 5), sizes=[(5,)])
    with pytest.raises(ValueError, match=r"sizes must hold at least one spatial size .* sizes=\[\]"):
        check_adaptivity(np.ones(3), (5,), sizes=[])
    with pytest.raises(TypeError, match="sizes must be a list of spatial sizes"):
        check_adaptivity(np.ones(3), (5,), sizes=5)


def test_operator_that_disagrees_at_one_size_fails(rng):
    w = rng.standard_normal(3)

    def operator(size):
        # Right at every size but one, where the kernel is off by one part in 1e9.
        weights = w if size != (9,) else w * (1 + 1e-9)
        return conv_operator(weights, size, padding=1)

    v = check_adaptivity(w, (6,), sizes=[(6,), (9,)], operator=operator, padding=1)
    assert not v and v.counterexample["input_shape"] == (1, 9)
    assert v.counterexample["sharing_counterexample"] is None
    assert 0 < v.counterexample["operator_max_error"] < 1e-7
    assert check_adaptivity(w, (6,), sizes=[(6,), (9,)], operator=operator, padding=1, rtol=1e-6)


def test_bad_operator_options():
    with pytest.raises(TypeError, match="operator must be callable, got str"):
        check_adaptivity(np.ones(3), (5,), operator="fft")
    with pytest.raises(ValueError, match=r"n_samples must be >= 1 .* got n_samples=0"):
        check_adaptivity(np.ones(3), (5,), n_samples=0)
    with pytest.raises(ValueError, match=r"rtol must be a finite number \(not NaN\) >= 0, got rtol=-1"):
        check_adaptivity(np.ones(3), (5,), rtol=-1)
