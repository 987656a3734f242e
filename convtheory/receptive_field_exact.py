"""Exact receptive fields: input ancestry in the stacked layer graph of one spatial axis.

The connectivity of a conv or pool is a product over axes, so per axis the
stacked graph has one node per (layer, position) and one edge per tap, read
from the geometry core (:func:`~convtheory.taps.spatial_taps`); the field of
an output unit is its set of input ancestors.  Small inputs only: the graph
is built.
"""

from __future__ import annotations

import math
from fractions import Fraction

import networkx as nx
import numpy as np

from .spec import ConvGeometry
from .taps import spatial_taps
from .transposed_spec import ConvTransposeSpec

_INPUT = "<input>"  # the stacked graph's input layer; never a user node


def _axis_stack(dag, parsed, source, sink, input_shape, axis, inputs):
    """The stacked layer graph of one spatial axis, from the layers' taps.

    Nodes are ``(layer node, position)`` plus ``(_INPUT, position)``; the
    edges of a layer are the taps of a single-channel 1-D conv with its
    geometry (:func:`spatial_taps`), so no index is recomputed here.
    """
    S = nx.DiGraph()
    length = {}
    S.add_nodes_from((_INPUT, i) for i in range(input_shape[axis]))
    for node in nx.topological_sort(dag):
        preds = list(dag.predecessors(node)) or [_INPUT]
        n = input_shape[axis] if preds == [_INPUT] else length[preds[0]]
        layer = parsed[node]
        if layer is None:
            rows = cols = np.arange(n)
            length[node] = n
        elif layer.output_padding is not None:
            # The taps of the conv it is the adjoint of, read backwards.
            g = layer.geometry
            t = ConvTransposeSpec((g.kernel_size[axis],), (n,), stride=g.stride[axis],
                                  padding=(g.padding[axis],), dilation=g.dilation[axis],
                                  output_padding=layer.output_padding[axis])
            st = spatial_taps(t.adjoint)
            rows, cols = st.cols, st.rows
            length[node] = t.output_spatial[0]
        else:
            g = layer.geometry
            spec = ConvGeometry((g.kernel_size[axis],), stride=g.stride[axis],
                                padding=(g.pads(inputs[node])[axis],),
                                dilation=g.dilation[axis]).bind((n,))
            st = spatial_taps(spec)
            rows, cols = st.rows, st.cols
            length[node] = spec.output_spatial[0]
        S.add_nodes_from((node, o) for o in range(length[node]))
        S.add_edges_from(((p, c), (node, r)) for p in preds
                         for r, c in zip(rows.tolist(), cols.tolist()))
    return S, length[sink]


def _exact(dag, parsed, source, sink, input_shape, ndim, closed, inputs):
    size, stride, padding = [], [], []
    linear = True
    for axis in range(ndim):
        S, n_out = _axis_stack(dag, parsed, source, sink, input_shape, axis, inputs)
        spans = {}
        for o in range(n_out):
            reach = [i for layer, i in nx.ancestors(S, (sink, o)) if layer == _INPUT]
            if reach:
                spans[o] = (min(reach), max(reach) - min(reach) + 1)
        r = max((extent for _, extent in spans.values()), default=0)
        if isinstance(closed.stride[axis], Fraction):
            # Upsampled by a transposed conv: fields are real intervals, o*S - P + [0, r - 1],
            # and the exact field of output o is the input units inside, clipped to the input.
            S, P, R = closed.stride[axis], closed.padding[axis], closed.size[axis]
            n_in = input_shape[axis]
            for o, (start, extent) in spans.items():
                lo = max(math.ceil(o * S - P), 0)
                hi = min(math.floor(o * S - P + R - 1), n_in - 1)
                linear &= (start, start + extent - 1) == (lo, hi)
            size.append(r)
            stride.append(S)
            padding.append(P)
            continue
        full = sorted(o for o, (_, extent) in spans.items() if extent == r)
        if len(full) < 2:
            need = closed.size[axis] + 2 * closed.stride[axis] + 2 * closed.padding[axis]
            raise ValueError(
                f"input_shape={input_shape} is too small for method='exact': on axis {axis} "
                f"fewer than two output units have a field that the border does not clip; "
                f"use at least {need} input units on that axis"
            )
        o1, o2 = full[0], full[1]
        jump, rem = divmod(spans[o2][0] - spans[o1][0], o2 - o1)
        offset = o1 * jump - spans[o1][0]
        linear &= rem == 0 and all(spans[o][0] == o * jump - offset for o in full)
        size.append(r)
        stride.append(jump)
        padding.append(offset)
    return tuple(size), tuple(stride), tuple(padding), linear
