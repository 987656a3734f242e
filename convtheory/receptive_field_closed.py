"""The receptive-field closed form (Araujo, Norris & Sim, Distill 2019), along every path.

With jump ``j`` so far, each layer adds ``(k_eff - 1) * j`` to the field
size and ``lo * j`` to the effective padding, and multiplies the jump by its
stride (a transposed conv divides it).  Over a DAG the recurrence runs along
every path; distinct results are kept, so a ResNet's exponentially many paths
cost little.  This is an independent oracle of the geometry core's tap
tables: the tests check it against exact ancestry
(:mod:`~convtheory.receptive_field_exact`) and against gradient support.
"""

from __future__ import annotations

from fractions import Fraction

import networkx as nx

from .receptive_field_layers import _Layer


def _compose(field, layer: _Layer, pads):
    """One step of the closed form: the field after appending a layer.

    With jump ``j`` so far, a layer adds ``(k_eff - 1) * j`` to the size and
    ``lo * j`` to the effective padding, and multiplies the jump by its
    stride; unrolled, these are the sums of :mod:`convtheory.receptive_field`.
    """
    size, jump, pad = field
    geometry = layer.geometry
    if layer.output_padding is not None:
        # A transposed conv is a stride-1 conv, padded d(k-1) - lo, over its input with
        # s - 1 zeros inserted (Dumoulin & Visin): the insertion divides the jump by s.
        # Fields are then real intervals; Fractions keep them exact.
        jump = tuple(Fraction(j) / s for j, s in zip(jump, geometry.stride))
        return (
            tuple(r + (e - 1) * j for r, e, j in zip(size, geometry.extent, jump)),
            jump,
            tuple(p + (e - 1 - lo) * j for p, e, (lo, _), j in zip(pad, geometry.extent,
                                                                   pads, jump)),
        )
    return (
        tuple(r + (e - 1) * j for r, e, j in zip(size, geometry.extent, jump)),
        tuple(j * s for j, s in zip(jump, geometry.stride)),
        tuple(p + lo * j for p, (lo, _), j in zip(pad, pads, jump)),
    )


def _layer_pads(layer: _Layer, input_spatial, where: str):
    """The layer's (lo, hi) padding; ``"same_upper"`` needs the shape reaching it."""
    try:
        return layer.geometry.pads(input_spatial)
    except ValueError as err:
        raise ValueError(f"{where}: {err} (pass input_shape to receptive_field)") from None


def _closed_form(dag, parsed, source, sink, ndim, where, inputs):
    """Distinct (size, jump, padding) over all paths, and the number of paths.

    ``inputs`` maps each node to the spatial shape reaching it (None when
    ``input_shape`` was not given).
    """
    fields, paths = {}, {}
    start = ((1,) * ndim, (1,) * ndim, (0,) * ndim)
    for node in nx.topological_sort(dag):
        preds = list(dag.predecessors(node))
        incoming = set().union(*(fields[p] for p in preds)) if preds else {start}
        paths[node] = sum(paths[p] for p in preds) if preds else 1
        layer = parsed[node]
        if layer is None:
            fields[node] = incoming
            continue
        pads = _layer_pads(layer, inputs.get(node), where[node])
        fields[node] = {_compose(f, layer, pads) for f in incoming}
    return fields[sink], paths[sink]


def _number(value):
    """An int where a Fraction (after a transposed conv) is whole."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


def _summarise(candidates, ndim):
    """One ReceptiveField's numbers from the per-path fields, and alignment."""
    size = tuple(_number(max(f[0][a] for f in candidates)) for a in range(ndim))
    stride = tuple(_number(max(f[1][a] for f in candidates)) for a in range(ndim))
    padding = tuple(_number(max(f[2][a] for f in candidates)) for a in range(ndim))
    jumps = [sorted({f[1][a] for f in candidates}) for a in range(ndim)]
    # Twice the centre, r - 1 - 2P, keeps the comparison in integers.
    centres = [sorted({(f[0][a] - 1 - 2 * f[2][a]) / 2 for f in candidates}) for a in range(ndim)]
    problems = []
    for a in range(ndim):
        if len(jumps[a]) > 1:
            problems.append(f"axis {a}: the paths have jumps {jumps[a]}")
        if len(centres[a]) > 1:
            problems.append(f"axis {a}: the paths centre output 0's field at inputs {centres[a]}")
    note = ""
    if problems:
        note = ("not aligned (" + "; ".join(problems) + "); size, stride and padding are the "
                "maxima over paths and no single field describes every path")
    return size, stride, padding, not problems, note
