"""Every view reads the same taps, so every view must tell the same story.

The graph's metrics, the sharing and sparsity checks, the matrix-free
operator, the structure recogniser and the black-box testing API were written
as separate views; here they are held to agree on the same geometries.
"""

import numpy as np
import pytest

from convtheory import (
    check_pooling_equivariance,
    check_sharing,
    check_sparsity,
    check_translation_equivariance,
    conv_graph,
    conv_matrix,
    conv_operator,
    graph_metrics,
    recover_kernel,
)
from convtheory.testing import assert_translation_equivariant

GEOMETRIES = [
    ((3, 3), (6, 5), dict(padding=1)),
    ((4, 2, 3, 3), (4, 7, 6), dict(padding=1, groups=2, stride=2, padding_mode="reflect")),
    ((2, 1, 2), (1, 7), dict(padding="same", padding_mode="replicate")),
    ((3, 2, 3), (2, 6), dict(padding=2, dilation=2, padding_mode="circular")),
    ((2, 2, 2, 2, 2), (2, 4, 3, 3), dict(padding=((1, 0), 1, (0, 1)), flip=True)),
]


@pytest.mark.parametrize("weight_shape, input_shape, conv", GEOMETRIES)
def test_graph_metrics_agree_with_sharing_and_sparsity(weight_shape, input_shape, conv):
    w = np.random.default_rng(20260511).standard_normal(weight_shape)
    metrics = graph_metrics(conv_graph(w, input_shape, **conv))
    sharing = check_sharing(w, input_shape, **conv)
    sparsity = check_sparsity(w, input_shape, **conv)
    assert sharing and sparsity
    assert metrics.n_edges == sparsity.evidence["nnz"] == conv_matrix(w, input_shape, **conv).nnz
    assert metrics.density == pytest.approx(sparsity.evidence["density"], rel=0, abs=0)
    assert metrics.n_dense_edges == sharing.evidence["dense_parameters"]
    assert np.array_equal(metrics.tie_counts.reshape(w.shape),
                          np.asarray(sharing.evidence["positions_per_weight"]).reshape(w.shape))
    assert metrics.in_degree.max() == sparsity.evidence["row_nnz_max"]
    assert metrics.in_degree.min() == sparsity.evidence["row_nnz_min"]


@pytest.mark.parametrize("weight_shape, input_shape, conv", GEOMETRIES)
def test_structure_recovers_what_the_matrix_holds(weight_shape, input_shape, conv):
    w = np.random.default_rng(7).standard_normal(weight_shape)
    M = conv_matrix(w, input_shape, **conv)
    kernel_size = weight_shape[2:] if len(weight_shape) > len(input_shape) else weight_shape
    recovered = recover_kernel(M, input_shape, kernel_size, **conv)
    assert recovered
    assert np.allclose(conv_matrix(recovered.kernel.reshape(w.shape), input_shape, **conv).toarray(),
                       M.toarray(), rtol=0, atol=1e-12)
    # A broken tie must be found by the same recogniser.
    broken = M.tolil()
    r, c = M.nonzero()[0][0], M.nonzero()[1][0]
    broken[r, c] += 1.0
    assert not recover_kernel(broken.tocsr(), input_shape, kernel_size, **conv)


@pytest.mark.parametrize("padding_mode, shift, expected", [
    ("circular", (1, 2), True),
    ("zeros", (1, 0), False),
])
def test_black_box_and_matrix_checks_agree(padding_mode, shift, expected):
    w = np.array([[0.0, 1, 0], [2, -4, 1], [0, 3, 0]])
    shape = (7, 6)
    verdict = check_translation_equivariance(w, shape, shift, padding=1, padding_mode=padding_mode)
    A = conv_operator(w, shape, padding=1, padding_mode=padding_mode)

    def layer(x):
        return (A @ x.ravel()).reshape(shape)

    assert bool(verdict) is expected
    if expected:
        assert_translation_equivariant(layer, shape, [shift], seed=3)
    else:
        with pytest.raises(AssertionError):
            assert_translation_equivariant(layer, shape, [shift], seed=3)
        # ...but both views agree that the interior is untouched.
        assert verdict.evidence["interior_max_error"] == 0.0
        assert_translation_equivariant(layer, shape, [shift], mode="interior", seed=3)


@pytest.mark.parametrize("pool_name", ["max_pool2d", "avg_pool2d"])
def test_layer_pools_alias_under_off_stride_shifts(pool_name):
    # The layer's own pools, fed to the property check: equivariant for shifts
    # that are multiples of the stride, not for a one-sample shift.
    from convtheory.nn import functional as F

    pool = getattr(F, pool_name)

    def pool_2x2(x):
        return pool(x, 2)

    assert check_pooling_equivariance(pool_2x2, (1, 8, 8), (2, 4), stride=2)
    assert not check_pooling_equivariance(pool_2x2, (1, 8, 8), (1, 0), stride=2)
