"""Receptive fields and graphs of networks with transposed convs, read from the same taps."""

import itertools
import math

import numpy as np
import pytest

from convtheory import (ConvTransposeSpec, conv_graph, conv_matrix, conv_transpose_matrix,
                        receptive_field)
from convtheory.nn import Conv1d, ConvTranspose1d
from tests.conftest import requires_torch, torch


def _net_pattern(layers, n):
    """Exact ancestry of a 1-D single-channel chain: the support of the product of matrices."""
    P = None
    for layer in layers:
        kw = dict(stride=layer.get("stride", 1), padding=layer.get("padding", 0),
                  dilation=layer.get("dilation", 1))
        k = np.ones(layer["kernel_size"])
        if "output_padding" in layer:
            M = conv_transpose_matrix(k, (n,), output_padding=layer["output_padding"], **kw)
        else:
            M = conv_matrix(k, (n,), **kw)
        n = M.shape[0]
        P = M if P is None else M @ P
    return P.toarray() != 0


LAYERS = [  # conv (k, s, p), then transposed (k, s, p, op, d)
    [dict(kernel_size=k1, stride=s1, padding=p1),
     dict(kernel_size=k2, stride=s2, padding=p2, output_padding=op, dilation=d2)]
    for k1, s1, p1, k2, s2, p2, op, d2 in itertools.product(
        (1, 3), (1, 2), (0, 1), (2, 3, 4), (1, 2, 3), (0, 1), (0, 1), (1, 2))
    if op < max(s2, d2)
]


@pytest.mark.parametrize("layers", LAYERS, ids=str)
def test_closed_form_box_contains_every_exact_field(layers):
    n = 12
    rf = receptive_field(layers, (n,))
    pattern = _net_pattern(layers, n)
    assert rf.output_shape == (pattern.shape[0],)
    S, P, R = rf.stride[0], rf.padding[0], rf.size[0]
    for o, row in enumerate(pattern):
        cols = np.flatnonzero(row)
        if len(cols):
            assert o * S - P <= cols.min() and cols.max() <= o * S - P + R - 1, (o, cols)


@pytest.mark.parametrize("k, s, p", [(3, 2, 0), (4, 2, 1), (5, 3, 2), (2, 2, 0)])
def test_a_transposed_conv_field_is_its_box_exactly(k, s, p):
    # dilation 1: output j reads every input in [ceil((j + p - k + 1)/s), floor((j + p)/s)]
    layer = dict(kernel_size=k, stride=s, padding=p, output_padding=0)
    rf = receptive_field([layer], (9,))
    assert rf.stride == (type(rf.stride[0])(1) / s if s > 1 else 1,)
    pattern = _net_pattern([layer], 9)
    for o, row in enumerate(pattern):
        lo = max(math.ceil(o * rf.stride[0] - rf.padding[0]), 0)
        hi = min(math.floor(o * rf.stride[0] - rf.padding[0] + rf.size[0] - 1), 8)
        assert np.flatnonzero(row).tolist() == list(range(lo, hi + 1))
    exact = receptive_field([layer], (9,), method="exact")
    assert exact.aligned and exact.stride == rf.stride and exact.padding == rf.padding


def test_layer_objects_are_read_as_transposed():
    up = ConvTranspose1d(2, 2, 4, stride=2, padding=1, seed=0)
    rf = receptive_field([Conv1d(2, 2, 3, stride=2, padding=1, seed=0), up], (16,))
    assert rf.output_shape == (16,) and rf.stride == (1,)
    with pytest.raises(ValueError, match="layer 0: output_padding must be smaller than either "
                                         "stride or dilation"):
        receptive_field([dict(kernel_size=3, stride=2, output_padding=2)])
    with pytest.raises(TypeError, match="layer 0: transposed must be a bool"):
        receptive_field([dict(kernel_size=3, transposed="yes")])


@requires_torch
def test_torch_transposed_layers_are_accepted():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, stride=2, padding=1),
                              torch.nn.ReLU(),
                              torch.nn.ConvTranspose2d(2, 1, 3, stride=2, padding=1,
                                                       output_padding=1))
    rf = receptive_field(net, (16, 16))
    assert rf.output_shape == tuple(net(torch.zeros(1, 1, 16, 16)).shape[2:])


@pytest.mark.parametrize("options", [dict(stride=2), dict(stride=2, padding=1, output_padding=1,
                                                          groups=2),
                                     dict(dilation=3, output_padding=2)])
def test_graph_of_a_transposed_conv_is_its_matrix(options, rng):
    w = rng.standard_normal((2, 2, 3))
    M = conv_transpose_matrix(w, (2, 4), **options)
    G = conv_graph(w, (2, 4), transposed=True, **options)
    assert G.number_of_edges() == M.nnz
    dense = np.zeros(M.shape)
    for u, v, d in G.edges(data=True):
        assert d["value"] == w.flat[d["k"]]
        dense[G.nodes[v]["index"], G.nodes[u]["index"]] += d["value"]
    assert np.array_equal(dense, M.toarray())
    spec = ConvTransposeSpec(w.shape, (2, 4), **options)
    assert conv_graph(w, spec).number_of_edges() == M.nnz


def test_graph_refuses_bad_transposed_arguments():
    with pytest.raises(ValueError, match="conv_graph would build 27 edges .*max_edges=3"):
        conv_graph(np.ones((1, 1, 3)), (1, 9), transposed=True, max_edges=3)
    with pytest.raises(TypeError, match="transposed must be a bool, got transposed='yes'"):
        conv_graph(np.ones(3), (4,), transposed="yes")
