"""Receptive field, jump, equivariance period and border band of every node of a graph.

Per spatial axis and per node: the receptive field (in input pixels), the
jump (input pixels between neighbouring outputs, a fraction after a
transposed conv), the period (the input shifts the node commutes with: every
stride on the way must divide them) and the border mask (which output
positions read, directly or through earlier layers, a padded position).  The
masks come from the geometry core's tap tables, so they are exact for any
padding, stride, dilation and ``ceil_mode``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ..geometry import axis_taps, kernel_extent
from .graph import INPUT, NetworkGraph
from .layers import node_spec

__all__ = ["NodeGeometry", "propagate"]


class NodeGeometry(NamedTuple):
    """Per-axis geometry of one node's output (``jump`` and ``period`` None after a flatten)."""

    rf: tuple
    jump: tuple | None
    period: tuple | None
    border: tuple


def _lcm(a: Fraction, b: Fraction) -> Fraction:
    a, b = Fraction(a), Fraction(b)
    return Fraction(math.lcm(a.numerator * b.denominator, b.numerator * a.denominator),
                    a.denominator * b.denominator)


def _int(v):
    return int(v) if Fraction(v).denominator == 1 else Fraction(v)


def _conv_axis(spec, axis, rf, jump, period, border):
    table = axis_taps(spec.input_spatial[axis], spec.kernel_size[axis], stride=spec.stride[axis],
                      padding=spec.padding[axis], dilation=spec.dilation[axis])
    k_eff = kernel_extent(spec.kernel_size[axis], spec.dilation[axis])
    pads = (table < 0).any(axis=1)
    inner = np.where(table >= 0, border[np.maximum(table, 0)], False).any(axis=1)
    return (rf + (k_eff - 1) * jump, jump * spec.stride[axis],
            _lcm(period, jump * spec.stride[axis]), pads | inner)


def _transpose_axis(spec, axis, rf, jump, period, border):
    """The transposed conv reads its input through the forward conv's table, backwards."""
    table = axis_taps(spec.input_spatial[axis], spec.kernel_size[axis], stride=spec.stride[axis],
                      padding=spec.padding[axis], dilation=spec.dilation[axis])
    n_out, s = spec.input_spatial[axis], spec.stride[axis]
    rows = np.broadcast_to(np.arange(table.shape[0])[:, None], table.shape)
    hit = table >= 0
    count = np.bincount(table[hit], minlength=n_out)
    lo = np.full(n_out, np.iinfo(np.int64).max)
    hi = np.full(n_out, -1)
    np.minimum.at(lo, table[hit], rows[hit])
    np.maximum.at(hi, table[hit], rows[hit])
    span = int((hi - lo)[count > 0].max()) if count.any() else 0
    bad = np.zeros(n_out, dtype=bool)
    np.logical_or.at(bad, table[hit], border[rows[hit]])
    residue = np.arange(n_out) % s
    full = np.array([count[residue == r].max() for r in range(s)])[residue]
    return rf + span * jump, jump / s, _lcm(period, jump), bad | (count < full)


def propagate(graph: NetworkGraph) -> dict:
    """``{node name: NodeGeometry}`` for every node, from the input forwards.

    Examples
    --------
    >>> from convtheory.network.graph import Node
    >>> g = NetworkGraph((Node("c", "conv", ("input",), ((1, 6),), (1, 6),
    ...                        {"weight": np.ones((1, 1, 3)), "padding": ((1, 1),)}),),
    ...                  (1, 6), ("c",))
    >>> geo = propagate(g)["c"]
    >>> geo.rf, geo.jump, geo.border[0].tolist()
    ((3,), (1,), [True, False, False, False, False, True])
    """
    d = graph.ndim
    one = Fraction(1)
    geo = {INPUT: NodeGeometry((1,) * d, (one,) * d, (one,) * d,
                               tuple(np.zeros(n, dtype=bool) for n in graph.input_shape[1:]))}
    for node in graph:
        ins = [geo[i] for i in node.inputs]
        first = ins[0]
        kind = node.kind
        if first.jump is None or kind in ("flatten", "linear"):
            if first.jump is None:
                rf = first.rf
            else:  # every output sees the union of all positions' fields
                rf = tuple(_int(r + (n - 1) * j) for r, j, n in
                           zip(first.rf, first.jump, node.input_shapes[0][1:]))
            geo[node.name] = NodeGeometry(rf, None, None, ())
            continue
        if kind in ("conv", "max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                    "conv_transpose"):
            spec = node_spec(node)
            step = _transpose_axis if kind == "conv_transpose" else _conv_axis
            axes = [step(spec, a, Fraction(first.rf[a]), first.jump[a], first.period[a],
                         first.border[a]) for a in range(d)]
            geo[node.name] = NodeGeometry(tuple(_int(a[0]) for a in axes),
                                          tuple(Fraction(a[1]) for a in axes),
                                          tuple(a[2] for a in axes), tuple(a[3] for a in axes))
        elif kind in ("add", "concat"):
            if any(g.jump is None for g in ins):
                geo[node.name] = NodeGeometry(first.rf, None, None, ())
                continue
            geo[node.name] = NodeGeometry(
                tuple(max(g.rf[a] for g in ins) for a in range(d)), first.jump,
                tuple(_lcm_list([g.period[a] for g in ins]) for a in range(d)),
                tuple(np.logical_or.reduce([g.border[a] for g in ins]) for a in range(d)))
        else:  # pointwise: activation, batch norm, identity
            geo[node.name] = first
    del geo[INPUT]
    return {name: NodeGeometry(g.rf, None if g.jump is None else tuple(_int(j) for j in g.jump),
                               g.period, g.border) for name, g in geo.items()}


def _lcm_list(values):
    out = Fraction(1)
    for v in values:
        out = _lcm(out, v)
    return out
