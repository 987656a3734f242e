"""Receptive field, jump, equivariance period and border band of every node of a graph.

Per spatial axis and per node: the receptive field (in input pixels), the
jump (input pixels between neighbouring outputs, a fraction after a
transposed conv), the period (the input shifts the node commutes with: every
stride on the way must divide them) and the border mask (which output
positions read, directly or through earlier layers, a padded position).  The
masks come from the geometry core's tap tables, so they are exact for any
padding, stride, dilation and ``ceil_mode``.

Two conventions, one per kind of node:

* a *spatial* node (its outputs have positions and a jump) has Araujo et
  al.'s theoretical field size :math:`r_0`, the span of one output unit's
  field, padding included: it may exceed the input (ResNet-18's last block
  has 435 on a 224 input), as :func:`convtheory.receptive_field` reports;
* a node that *mixes every position* (``flatten``, ``linear``, a global pool
  to one unit per axis, and everything after them) has no positions and no
  jump (None).  Its receptive field is the number of input pixels per axis
  between the first and the last one that reach it, the extent of its
  gradient support, so it never exceeds the input: after ResNet-18's global
  average pool it is 224 on a 224 input, not the 627 that Araujo's closed
  form would give, whose extra 403 units are padding.  This extent is read
  from the same tap tables, so it is exact for any padding and rounding.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ..geometry import axis_taps, kernel_extent
from .fields import mixes_every_position
from .graph import INPUT, NetworkGraph
from .layers import node_spec

__all__ = ["NodeGeometry", "propagate"]


class NodeGeometry(NamedTuple):
    """Per-axis geometry of one node's output.

    ``jump`` and ``period`` are None, and ``border`` is empty, for a node that
    mixes every position (see the module docstring for ``rf`` there).
    """

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


# The reach of an axis is a pair of arrays (first, last): per output position, the first and
# the last input pixel with a path to it; _NONE marks a position that no input pixel reaches.
_NONE = (np.iinfo(np.int64).max, -1)


def _reach_through(table, reach):
    """The reach after a layer whose output ``o`` reads input ``table[o, k]`` (-1: padding)."""
    hit = table >= 0
    at = np.maximum(table, 0)
    return (np.where(hit, reach[0][at], _NONE[0]).min(axis=1, initial=_NONE[0]),
            np.where(hit, reach[1][at], _NONE[1]).max(axis=1, initial=_NONE[1]))


def _reach_back(table, n_out, reach):
    """The reach after a transposed conv: output ``t`` reads input ``o`` where ``table[o, k] == t``."""
    rows = np.broadcast_to(np.arange(table.shape[0])[:, None], table.shape)
    hit = table >= 0
    first, last = np.full(n_out, _NONE[0]), np.full(n_out, _NONE[1])
    np.minimum.at(first, table[hit], reach[0][rows[hit]])
    np.maximum.at(last, table[hit], reach[1][rows[hit]])
    return first, last


def _reach_union(reaches):
    """One position reached by everything that reaches any of ``reaches``' positions."""
    first = min((int(r[0].min(initial=_NONE[0])) for r in reaches), default=_NONE[0])
    last = max((int(r[1].max(initial=_NONE[1])) for r in reaches), default=_NONE[1])
    return np.array([first]), np.array([last])


def _axis_table(spec, axis):
    """The core's tap table of one axis: output ``o`` reads input ``table[o, k]`` (-1: padding)."""
    return axis_taps(spec.input_spatial[axis], spec.kernel_size[axis], stride=spec.stride[axis],
                     padding=spec.padding[axis], dilation=spec.dilation[axis])


def _conv_axis(spec, axis, table, rf, jump, period, border):
    k_eff = kernel_extent(spec.kernel_size[axis], spec.dilation[axis])
    pads = (table < 0).any(axis=1)
    inner = np.where(table >= 0, border[np.maximum(table, 0)], False).any(axis=1)
    return (rf + (k_eff - 1) * jump, jump * spec.stride[axis],
            _lcm(period, jump * spec.stride[axis]), pads | inner)


def _transpose_axis(spec, axis, table, rf, jump, period, border, n_out):
    """The transposed conv reads its input through the forward conv's table, backwards.

    ``n_out`` is the node's output length: ``output_padding`` adds positions past
    the forward conv's input that no input reaches (the bias alone), so border ones.
    """
    s = spec.stride[axis]
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

    After a flatten every output may read every position: no jump, and the
    field is the extent of the input pixels that reach it.  Padding adds
    nothing (6, not 3 + 5 = 8), and a pixel that a stride skips is not in it
    (a stride-2 conv of kernel 2 on 7 pixels never reads the last one):

    >>> f = Node("f", "flatten", ("c",), ((1, 6),), (6,), {})
    >>> propagate(NetworkGraph(g.nodes + (f,), (1, 6), ("f",)))["f"][:2]
    ((6,), None)
    >>> s = NetworkGraph((
    ...     Node("c", "conv", ("input",), ((1, 7),), (1, 3),
    ...          {"weight": np.ones((1, 1, 2)), "stride": (2,)}),
    ...     Node("f", "flatten", ("c",), ((1, 3),), (3,), {})), (1, 7), ("f",))
    >>> propagate(s)["f"][:2]
    ((6,), None)
    """
    d = graph.ndim
    one = Fraction(1)
    geo = {INPUT: NodeGeometry((1,) * d, (one,) * d, (one,) * d,
                               tuple(np.zeros(n, dtype=bool) for n in graph.input_shape[1:]))}
    reach = {INPUT: [(np.arange(n), np.arange(n)) for n in graph.input_shape[1:]]}
    for node in graph:
        ins = [geo[i] for i in node.inputs]
        first = ins[0]
        kind = node.kind
        if any(g.jump is None for g in ins) or mixes_every_position(node):
            # Every output may depend on every position: the union of the inputs' reaches.
            reach[node.name] = [_reach_union([reach[i][a] for i in node.inputs])
                                for a in range(d)]
            rf = tuple(max(int(r[1][0] - r[0][0]) + 1, 0) for r in reach[node.name])
            geo[node.name] = NodeGeometry(rf, None, None, ())
            continue
        if kind in ("conv", "max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                    "conv_transpose"):
            spec = node_spec(node)
            tables = [_axis_table(spec, a) for a in range(d)]
            n_out = node.output_shape[1:]
            axes = [_transpose_axis(spec, a, tables[a], Fraction(first.rf[a]), first.jump[a],
                                    first.period[a], first.border[a], n_out[a])
                    if kind == "conv_transpose" else
                    _conv_axis(spec, a, tables[a], Fraction(first.rf[a]), first.jump[a],
                               first.period[a], first.border[a]) for a in range(d)]
            geo[node.name] = NodeGeometry(tuple(_int(a[0]) for a in axes),
                                          tuple(Fraction(a[1]) for a in axes),
                                          tuple(a[2] for a in axes), tuple(a[3] for a in axes))
            prev = reach[node.inputs[0]]
            reach[node.name] = [
                _reach_back(t, n_out[a], prev[a]) if kind == "conv_transpose"
                else _reach_through(t, prev[a]) for a, t in enumerate(tables)]
        elif kind in ("add", "concat"):
            geo[node.name] = NodeGeometry(
                tuple(max(g.rf[a] for g in ins) for a in range(d)), first.jump,
                tuple(_lcm_list([g.period[a] for g in ins]) for a in range(d)),
                tuple(np.logical_or.reduce([g.border[a] for g in ins]) for a in range(d)))
            reach[node.name] = [
                (np.minimum.reduce([reach[i][a][0] for i in node.inputs]),
                 np.maximum.reduce([reach[i][a][1] for i in node.inputs])) for a in range(d)]
        else:  # pointwise: activation, batch norm, identity
            geo[node.name] = first
            reach[node.name] = reach[node.inputs[0]]
    del geo[INPUT]
    return {name: NodeGeometry(g.rf, None if g.jump is None else tuple(_int(j) for j in g.jump),
                               g.period, g.border) for name, g in geo.items()}


def _lcm_list(values):
    out = Fraction(1)
    for v in values:
        out = _lcm(out, v)
    return out
