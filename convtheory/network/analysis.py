"""Verify your own network: each layer's exact operator, norm, receptive field and equivariance.

:func:`analyze_network` captures a model into a :class:`NetworkGraph` once and
reads everything off it: per layer the ``ConvSpec``, the explicit operator,
a guaranteed bracket of its spectral norm next to the reshaped-weight value
that ``torch.nn.utils.spectral_norm`` uses, the receptive field and jump; for
the network a Lipschitz upper bound, the lattice of shifts under which it is
translation equivariant, and the band of outputs that see padding.
Equivariance is then *measured* on the model itself.

Two functions are the seams to the capture and the certified norms:
:func:`_capture` and :func:`_norm_bounds`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from ..validation import as_max_bytes, as_real, check_budget
from ..matrices import DEFAULT_MAX_BYTES
from ..verdict import json_finite
from .capture import _is_torch_module
from .graph import INPUT, NetworkGraph, Node
from .layers import forward, node_operator, node_spec
from .norms import circular_norm, layer_norm_bounds, reshaped_norm
from .shapes import propagate

__all__ = ["LayerAnalysis", "NetworkAnalysis", "analyze_network"]

_WEIGHTED = ("conv", "conv_transpose", "linear")


def _capture(model, input_shape, max_bytes: int) -> NetworkGraph:
    """The model as a NetworkGraph: a graph is used as is; torch, ONNX and nn go through capture."""
    if isinstance(model, NetworkGraph):
        if input_shape is not None and tuple(input_shape) != tuple(model.input_shape):
            raise ValueError(f"input_shape {tuple(input_shape)} differs from the graph's input "
                             f"shape {tuple(model.input_shape)}; capture the model again instead")
        return model
    if input_shape is None:
        raise ValueError("input_shape (C, n1, ...) is required to capture a model, got None")
    try:
        from .capture import capture
    except ImportError:
        raise TypeError(f"model must be a NetworkGraph in this installation (the capture of "
                        f"torch, ONNX and convtheory.nn models is not available), got "
                        f"{type(model).__name__}") from None
    return capture(model, tuple(input_shape), max_bytes=max_bytes)


def _norm_bounds(weight, spec, max_bytes):
    """The certified bracket of one layer (a conv ``spec`` or a matrix when spec is None)."""
    return layer_norm_bounds(weight, spec, max_bytes=max_bytes)


def _model_forward(model, graph: NetworkGraph) -> Callable:
    """``x -> [outputs]`` on the model itself: a torch module in float64, else the graph."""
    if _is_torch_module(model):
        import copy

        import torch

        net = copy.deepcopy(model).double().eval()

        def run(x):
            with torch.no_grad():
                y = net(torch.from_numpy(np.ascontiguousarray(x))[None])
            ys = y if isinstance(y, (tuple, list)) else (y,)
            return [t[0].numpy() for t in ys]
        return run

    def run_graph(x):  # in the order of graph.outputs, which need not be the nodes' order
        values = forward(graph, x)
        return [values[name] for name in graph.outputs]
    return run_graph


@dataclass(frozen=True)
class LayerAnalysis:
    """What the analysis found for one node of the network.

    ``operator()`` returns the layer's linear map without its bias (a conv
    with an eval-mode batch norm folded in, when the analysis folded one).
    ``spectral_norm`` is None for a non-linear layer; ``spectral_norm_bounds``
    is the guaranteed ``(lower, upper)`` pair.  ``spectral_norm`` is the
    Rayleigh quotient ``||A v|| / ||v||`` of the best vector found, that is
    the lower end of the bracket: it is within the bracket's relative width
    of the exact norm (about 1e-11 for dense layers and small convs; at most
    1e-4 wherever the Cholesky certificate of
    :func:`convtheory.conv_spectral_norm_bounds` applied; otherwise the width
    of the circular embedding, which the bracket shows).  ``receptive_field``
    and ``jump`` are per spatial axis against the network input.  Where the
    output has positions, ``receptive_field`` is Araujo et al.'s theoretical
    size (padding included, so it may exceed the input).  From the first node
    that mixes every position (flatten, linear, a global pool) on, ``jump`` is
    None and ``receptive_field`` is the extent of the input pixels that reach
    the node, its gradient support: at most the input size
    (:mod:`convtheory.network.shapes`).
    """

    name: str
    kind: str
    input_shape: tuple
    output_shape: tuple
    spec: Any
    parameters: int
    dense_parameters: int
    receptive_field: tuple | None
    jump: tuple | None
    spectral_norm: float | None
    spectral_norm_bounds: tuple | None
    reshaped_norm: float | None
    _node: Node = field(default=None, repr=False, compare=False)
    _weight: Any = field(default=None, repr=False, compare=False)

    def operator(self):
        """The layer's ``LinearOperator`` (no bias) on flattened arrays; ValueError if non-linear."""
        return node_operator(self._node, self._weight)

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "input_shape": list(self.input_shape),
                "output_shape": list(self.output_shape),
                "spec": None if self.spec is None else repr(self.spec),
                "parameters": self.parameters, "dense_parameters": self.dense_parameters,
                "receptive_field": _list(self.receptive_field), "jump": _list(self.jump),
                "spectral_norm": self.spectral_norm,
                "spectral_norm_bounds": _list(self.spectral_norm_bounds),
                "reshaped_norm": self.reshaped_norm}


def _list(value):
    if value is None:
        return None
    return [float(v) if isinstance(v, Fraction) else v for v in value]


@dataclass(frozen=True)
class NetworkAnalysis:
    """The analysis of one network at one input shape (see :func:`analyze_network`).

    Beside the per-layer records it keeps what the report draws:
    ``circular_norms`` (the FFT approximation per conv layer),
    ``shift_consistency`` (per layer, the cosine similarity of its output
    under a one-pixel input shift, aligned where the layer's jump allows, 1
    when equivariant), ``equivariance`` (per axis, the largest deviation of
    the outputs under a shift by the lattice step, away from the border),
    ``border_masks`` (per axis, which output positions touch padding),
    ``folded`` (batch norm -> the conv it was folded into) and
    ``lipschitz_constants`` (per layer, the factor used in the bound).
    """

    source: str
    input_shape: tuple
    layers: tuple
    receptive_field: tuple | None
    jump: tuple | None
    lipschitz_upper_bound: float | None
    reshaped_lipschitz_estimate: float | None
    equivariant_shifts: tuple | None
    border: tuple | None
    circular_norms: dict = field(default_factory=dict)
    shift_consistency: dict = field(default_factory=dict)
    equivariance: dict = field(default_factory=dict)
    border_masks: tuple = ()
    folded: dict = field(default_factory=dict)
    lipschitz_constants: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """Plain JSON types; non-finite floats become strings."""
        data = {"source": self.source, "input_shape": list(self.input_shape),
                "receptive_field": _list(self.receptive_field), "jump": _list(self.jump),
                "lipschitz_upper_bound": self.lipschitz_upper_bound,
                "reshaped_lipschitz_estimate": self.reshaped_lipschitz_estimate,
                "equivariant_shifts": _list(self.equivariant_shifts),
                "border": _list(self.border), "layers": [l.to_dict() for l in self.layers],
                "circular_norms": self.circular_norms,
                "shift_consistency": self.shift_consistency,
                "equivariance": self.equivariance,
                "border_masks": [m.tolist() for m in self.border_masks],
                "folded": self.folded, "lipschitz_constants": self.lipschitz_constants,
                "seconds": self.seconds}
        return json_finite(data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def write(self, out_dir, formats=("md", "html", "json")) -> list:
        """Write the report (and its figures) into ``out_dir``; return the paths written."""
        from .report import write_analysis

        return write_analysis(self, out_dir, formats)


# ---- batch norm folding ------------------------------------------------------

def _fold(graph: NetworkGraph) -> dict:
    """Batch norms that directly follow a conv read by nothing else: ``{bn: conv}``."""
    readers = {}
    for node in graph:
        for i in node.inputs:
            readers.setdefault(i, []).append(node.name)
    folded = {}
    for node in graph:
        if node.kind != "batch_norm" or node.inputs[0] == INPUT:
            continue
        prev = graph[node.inputs[0]]
        if (prev.kind in ("conv", "conv_transpose") and readers[prev.name] == [node.name]
                and prev.name not in graph.outputs
                and (prev.kind == "conv" or prev.attrs.get("groups", 1) == 1)):
            folded[node.name] = prev.name
    return folded


def _folded_weights(graph: NetworkGraph, folded: dict) -> dict:
    """``{conv: (weight * scale, scale * bias + shift), bn: None}``."""
    weights = {}
    for bn, conv in folded.items():
        node, b = graph[conv], graph[bn]
        w = np.asarray(node.attrs["weight"], dtype=np.float64)
        scale = np.asarray(b.attrs["scale"], dtype=np.float64)
        shift = np.asarray(b.attrs["shift"], dtype=np.float64)
        axis = 0 if node.kind == "conv" else 1
        shape = [1] * w.ndim
        shape[axis] = -1
        bias = node.attrs.get("bias")
        bias = np.zeros_like(scale) if bias is None else np.asarray(bias, dtype=np.float64)
        weights[conv] = (w * scale.reshape(shape), scale * bias + shift)
        weights[bn] = None
    return weights


# ---- the analysis ------------------------------------------------------------

def _max_pool_constant(node: Node, spec) -> float:
    """Lipschitz constant of a max pool: sqrt of the most windows one input lies in."""
    count = 1
    for axis in range(spec.ndim):
        table = spec.axis_table(axis)  # a pool's spec pads with zeros: -1 marks padding
        count *= int(np.bincount(table[table >= 0], minlength=1).max())
    return math.sqrt(count)


def _layer_norms(node, weight, spec, max_bytes):
    """(bracket, exact value, reshaped value, circular value) of a linear node."""
    kind = node.kind
    if kind in ("conv", "conv_transpose", "avg_pool", "adaptive_avg_pool"):
        w = weight if kind in ("conv", "conv_transpose") else np.full(
            spec.weight_shape, 1.0 / np.prod(spec.kernel_size))
        b = _norm_bounds(w, spec, max_bytes)
        if kind in ("conv", "conv_transpose"):
            reshaped = reshaped_norm(w, transposed=kind == "conv_transpose")
        else:
            reshaped = b.value
        return b, reshaped, circular_norm(w, spec, max_bytes=max_bytes)
    if kind == "linear":
        b = _norm_bounds(weight, None, max_bytes)
        return b, b.value, None
    if kind == "batch_norm":
        v = float(np.max(np.abs(node.attrs["scale"])))
        return (v, v, v), v, None
    return (1.0, 1.0, 1.0), 1.0, None  # identity, flatten


def analyze_network(model_or_graph, input_shape=None, *, spectra: bool = True,
                    equivariance: bool = True, max_seconds: float | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES, seed: int = 0,
                    progress: Callable | None = None) -> NetworkAnalysis:
    """Analyse every layer of a network exactly, and measure its equivariance.

    Parameters
    ----------
    model_or_graph : NetworkGraph, torch.nn.Module, ONNX model or path, convtheory.nn module
        Anything but a graph is captured first.
    input_shape : tuple of int
        ``(C, n1, ...)`` without the batch; optional for a graph.
    spectra : bool
        Compute each linear layer's norm bracket (the costly part).
    equivariance : bool
        Measure shift equivariance on the model and shift consistency per layer.
    max_seconds : float, optional
        Refuse (TimeoutError) to start another layer's norm after this long.
    max_bytes : int
        Memory budget of the capture (the input and the model's
        activations, weighed first), of each layer's operator and norm
        computation, and of the equivariance measurement (which keeps every
        layer's output for two inputs, and builds each layer's operator in
        turn); over it, ValueError with advice
        before anything of that size is allocated.
    seed : int
        Seed of the random inputs of the equivariance measurement.
    progress : callable, optional
        ``progress(index, total, name)`` as each node's analysis starts.

    Returns
    -------
    NetworkAnalysis

    Examples
    --------
    A 1-D stack: conv k3 stride 2, ReLU, conv k3 (valid): receptive field
    3 + 2*2 = 7, jump 2, so the network commutes with shifts by 2.

    >>> from convtheory.network.graph import Node
    >>> w1, w2 = np.ones((2, 1, 3)), np.ones((1, 2, 3))
    >>> g = NetworkGraph((
    ...     Node("c1", "conv", ("input",), ((1, 21),), (2, 10), {"weight": w1, "stride": (2,)}),
    ...     Node("r", "activation", ("c1",), ((2, 10),), (2, 10), {"op": "relu", "lipschitz": 1.0}),
    ...     Node("c2", "conv", ("r",), ((2, 10),), (1, 8), {"weight": w2}),
    ... ), (1, 21), ("c2",))
    >>> a = analyze_network(g)
    >>> a.receptive_field, a.jump, a.equivariant_shifts, a.equivariance["max_deviation"] < 1e-12
    ((7,), (2,), (2,), True)
    """
    for name, flag in (("spectra", spectra), ("equivariance", equivariance)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {name}={flag!r}")
    max_bytes = as_max_bytes(max_bytes)
    if max_seconds is not None:
        max_seconds = as_real(max_seconds, "max_seconds", minimum=0, exclusive_minimum=True)
    start = time.perf_counter()
    graph = _capture(model_or_graph, input_shape, max_bytes)
    folded = _fold(graph)
    weights = _folded_weights(graph, folded)
    geometry = propagate(graph)
    layers, circ, lips, lips_r, consts = [], {}, {}, {}, {}
    for index, node in enumerate(graph):
        if progress is not None:
            progress(index, len(graph), node.name)
        if max_seconds is not None and spectra and time.perf_counter() - start > max_seconds:
            raise TimeoutError(f"analyze_network took more than max_seconds={max_seconds} before "
                               f"layer {node.name!r}; pass spectra=False or a larger max_seconds")
        spec = node_spec(node)
        w = weights.get(node.name)
        weight = None if w is None else w[0]
        if weight is None and node.kind in _WEIGHTED:
            weight = np.asarray(node.attrs["weight"], dtype=np.float64)
        params = _parameters(node)
        dense = (int(np.prod(node.input_shapes[0])) * int(np.prod(node.output_shape))
                 if node.kind in _WEIGHTED else 0)
        bounds = exact = reshaped = None
        linear = node.kind in ("conv", "conv_transpose", "avg_pool", "adaptive_avg_pool",
                               "linear", "batch_norm", "identity", "flatten")
        if node.name in folded:  # the conv before it carries it
            const = const_r = 1.0
        elif linear and spectra:
            b, reshaped, circ_value = _layer_norms(node, weight, spec, max_bytes)
            bounds, exact = (float(b[0]), float(b[1])), float(b[2])
            if circ_value is not None:
                circ[node.name] = circ_value
            const, const_r = bounds[1], reshaped
        elif node.kind == "activation":
            const = const_r = node.attrs.get("lipschitz")
            if isinstance(const, bool) or not isinstance(const, (int, float)) \
                    or not 0 <= const < math.inf:
                raise ValueError(f"activation {node.name!r} must carry a finite Lipschitz "
                                 f"constant >= 0 in attrs['lipschitz'], got {const!r}")
            const = const_r = float(const)
        elif node.kind in ("max_pool", "adaptive_max_pool"):
            const = const_r = _max_pool_constant(node, spec)
        else:
            const = const_r = None
        ins = [lips.get(i, 1.0 if i == INPUT else None) for i in node.inputs]
        ins_r = [lips_r.get(i, 1.0 if i == INPUT else None) for i in node.inputs]
        lips[node.name] = _combine(node, ins, const)
        lips_r[node.name] = _combine(node, ins_r, const_r)
        consts[node.name] = const
        g = geometry[node.name]
        layers.append(LayerAnalysis(
            node.name, node.kind, tuple(node.input_shapes[0]), tuple(node.output_shape), spec,
            params, dense, g.rf, g.jump, exact, bounds, reshaped, node, weight))
    outs = [geometry[o] for o in graph.outputs]
    spatial = all(o.jump is not None for o in outs)
    rf = tuple(max(o.rf[i] for o in outs) for i in range(graph.ndim))
    period = tuple(_lcm_all([o.period[i] for o in outs]) for i in range(graph.ndim)) \
        if spatial else None
    masks = tuple(np.logical_or.reduce([o.border[i] for o in outs])
                  for i in range(graph.ndim)) if spatial else ()
    result = dict(
        source=graph.source, input_shape=tuple(graph.input_shape), layers=tuple(layers),
        receptive_field=rf, jump=outs[0].jump if spatial else None,
        lipschitz_upper_bound=_output_bound([lips[o] for o in graph.outputs]) if spectra else None,
        reshaped_lipschitz_estimate=_output_bound([lips_r[o] for o in graph.outputs]) if spectra else None,
        equivariant_shifts=tuple(int(p) if p.denominator == 1 else p for p in period) if spatial else None,
        border=tuple(int(m.sum()) for m in masks) if spatial else None,
        circular_norms=circ, border_masks=masks,
        folded=folded, lipschitz_constants=consts)
    if equivariance:
        from .equivariance import measure, measurement_bytes

        check_budget(measurement_bytes(graph), max_bytes, f"the equivariance measurement on "
                     f"input_shape={tuple(graph.input_shape)} (every layer's output, for two "
                     f"shifted inputs, and the widest layer's work)", "pass equivariance=False, "
                     "use a smaller input_shape, or pass a larger max_bytes")

        eq, consistency = measure(model_or_graph, graph, geometry, weights, period, seed,
                                  _model_forward(model_or_graph, graph))
        result.update(equivariance=eq, shift_consistency=consistency)
    return NetworkAnalysis(**result, seconds=time.perf_counter() - start)


def _parameters(node: Node) -> int:
    a = node.attrs
    n = 0
    for key in ("weight", "bias") if node.kind != "batch_norm" else ("scale", "shift"):
        if a.get(key) is not None:
            n += int(np.size(a[key]))
    return n


def _combine(node: Node, ins, const):
    """The Lipschitz bound at a node from its inputs' bounds and its own constant."""
    if any(v is None for v in ins):
        return None
    if node.kind == "add":
        return float(sum(ins))
    if node.kind == "concat":
        return float(math.sqrt(sum(v * v for v in ins)))
    if const is None:
        return None
    return float(const * ins[0])


def _output_bound(values):
    if any(v is None for v in values):
        return None
    return float(math.sqrt(sum(v * v for v in values))) if len(values) > 1 else float(values[0])


def _lcm_all(values):
    out = Fraction(1)
    for v in values:
        v = Fraction(v)
        num = math.lcm(out.numerator * v.denominator, v.numerator * out.denominator)
        out = Fraction(num, out.denominator * v.denominator)
    return out
