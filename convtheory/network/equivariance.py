"""Shift equivariance measured on the model, and shift consistency per layer (Zhang 2019).

Two crops of one larger random image, offset by ``t`` pixels along one axis,
are a shift of each other without any wrap-around or invented pixels.  Where
``t`` is a multiple of the network's cumulative stride, the outputs must be
the same crop of each other, offset by ``t / jump``, at every position whose
receptive field stays off the padding; the largest difference there is the
measured deviation.  With ``t = 1`` each layer's output is compared with the
unshifted one, aligned by ``round(1 / jump)`` positions: the cosine
similarity is 1 for a layer that commutes with the shift and drops where
subsampling aliases.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..cost_model import _cheapest, estimate_operator_bytes
from .layers import forward, node_spec

__all__ = ["measure"]


def measurement_bytes(graph) -> int:
    """Upper bound on the bytes :func:`measure` allocates in numpy for ``graph``.

    The forward of the second crop runs while the first's outputs are kept
    (every node's output, twice), next to the model's own outputs and the
    crops; the widest node adds its workspace: its operator's
    (:func:`~convtheory.cost_model.estimate_operator_bytes`), a pool's
    windows, an activation's temporaries.
    """
    kept = 8 * sum(math.prod(node.output_shape) for node in graph)
    work = 0
    for node in graph:
        work = max(work, 4 * 8 * math.prod(node.output_shape))
        spec = node_spec(node)
        if spec is not None:
            # A conv's or an average pool's operator builds the paths method="auto" takes
            # for its forward and its adjoint, as conv_operator weighs them; a transposed
            # conv's is the direct path; a max pool's windows are im2col's columns.
            auto = node.kind in ("conv", "avg_pool", "adaptive_avg_pool")
            paths = {_cheapest(spec), _cheapest(spec, adjoint=True)} if auto else {"direct"}
            work = max(work, sum(estimate_operator_bytes(spec, m) for m in paths))
    # The crops: a larger image and two crops of it, kept while the next pair is cut.
    crops = 6 * 8 * math.prod(graph.input_shape)
    return 3 * kept + crops + work


def _crops(rng, shape, axis, t):
    big_shape = list(shape)
    big_shape[axis + 1] += t
    big = rng.standard_normal(big_shape)
    n = shape[axis + 1]
    a = np.take(big, np.arange(n), axis=axis + 1)
    b = np.take(big, np.arange(t, t + n), axis=axis + 1)
    return a, b


def _aligned(ya, yb, axis, m, border):
    """Positions ``o`` of ``yb`` and ``o + m`` of ``ya``, both off the border band."""
    n = yb.shape[axis + 1]
    o = np.arange(max(0, -m), min(n, n - m))
    keep = ~border[o] & ~border[o + m]
    o = o[keep]
    return np.take(yb, o, axis=axis + 1), np.take(ya, o + m, axis=axis + 1)


def measure(model, graph, geometry, weights, period, seed, run):
    """(equivariance record, {layer: shift consistency}) of ``graph`` and the model ``run``.

    Parameters
    ----------
    model : the analysed model (for its kind only)
    graph : NetworkGraph
    geometry : dict of NodeGeometry, from :func:`convtheory.network.shapes.propagate`
    weights : folded weights for :func:`convtheory.network.layers.forward`
    period : per-axis shift lattice, or None for a non-spatial output
    seed : int
    run : callable ``x -> [output arrays]`` in the order of ``graph.outputs``
    """
    rng = np.random.default_rng(seed)
    shape = tuple(graph.input_shape)
    from .capture import _is_torch_module

    record = {"measured_on": "torch module" if _is_torch_module(model)
              else "numpy forward of the graph"}
    if period is None:
        record.update(max_deviation=None, note="the output is not spatial (after a flatten)")
    else:
        deviations, compared = [], []
        for axis in range(graph.ndim):
            t = Fraction(period[axis])
            if t.denominator != 1:
                deviations.append(None)
                compared.append(0)
                continue
            a, b = _crops(rng, shape, axis, int(t))
            ya, yb = run(a), run(b)
            dev, count = 0.0, 0
            for name, out_a, out_b in zip(graph.outputs, ya, yb):
                geo = geometry[name]
                m = t / Fraction(geo.jump[axis])
                pb, pa = _aligned(np.asarray(out_a, dtype=np.float64),
                                  np.asarray(out_b, dtype=np.float64), axis, int(m), geo.border[axis])
                if pb.size:
                    scale = max(1.0, float(np.max(np.abs(pa))))
                    dev = max(dev, float(np.max(np.abs(pb - pa))) / scale)
                    count += pb.size
            deviations.append(dev if count else None)
            compared.append(count)
        known = [d for d in deviations if d is not None]
        record.update(shifts=[int(p) if Fraction(p).denominator == 1 else float(p) for p in period],
                      per_axis=deviations, compared=compared,
                      max_deviation=max(known) if known and all(compared) else None)
        if not all(compared):
            record["note"] = ("some axis has no output position off the border at this input "
                              "size; use a larger input to measure it")
    consistency = {}
    lowest = {}
    for axis in range(graph.ndim):
        a, b = _crops(rng, shape, axis, 1)
        fa = forward(graph, a, weights=weights)
        fb = forward(graph, b, weights=weights)
        for node in graph:
            geo = geometry[node.name]
            if geo.jump is None:
                continue
            m = round(1 / Fraction(geo.jump[axis]))
            pb, pa = _aligned(fa[node.name], fb[node.name], axis, m, geo.border[axis])
            if not pb.size:
                continue
            den = float(np.linalg.norm(pa) * np.linalg.norm(pb))
            cos = float(np.sum(pa * pb) / den) if den > 0 else (1.0 if not pa.any() and not pb.any()
                                                                  else 0.0)
            lowest[node.name] = min(lowest.get(node.name, cos), cos)
    for node in graph:
        if node.name in lowest:
            consistency[node.name] = lowest[node.name]
    return record, consistency
