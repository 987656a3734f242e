"""Layer descriptions of a network, for :func:`~convtheory.receptive_field.receptive_field`.

A network is a chain (any iterable of layers) or a ``networkx.DiGraph`` whose
nodes carry layers.  Each layer is a mapping with PyTorch's keys
(:data:`LAYER_KEYS`, :data:`TRANSPOSED_KEYS`) or a layer object with those
attributes; pointwise layers (:data:`POINTWISE_LAYERS`) are identities.  This
module validates them once, into shape-free :class:`~convtheory.spec.ConvGeometry`
objects, and propagates spatial shapes through the DAG; the closed form
(:mod:`~convtheory.receptive_field_closed`) and the exact ancestry
(:mod:`~convtheory.receptive_field_exact`) read what it returns.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .spec import ConvGeometry
from .transposed_spec import conv_transpose_output_shape
from .validation import as_shape as _as_shape, per_axis as _per_axis

__all__ = ["LAYER_KEYS", "POINTWISE_LAYERS", "TRANSPOSED_KEYS"]

#: The keys of a layer description, with PyTorch's names.  ``kernel_size``
#: is required; the others default to stride 1, padding 0, dilation 1.
LAYER_KEYS = ("kernel_size", "stride", "padding", "dilation")
_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1}
#: Extra keys of a transposed conv's description: ``output_padding`` (or
#: ``transposed=True``) marks it; layer objects with an ``output_padding``
#: attribute and ``transposed = True`` (``ConvTransposeNd`` of PyTorch and
#: convtheory.nn) are transposed.
TRANSPOSED_KEYS = ("output_padding", "transposed")

#: Class names of layers that act on each spatial position alone (activations,
#: per-channel normalisation, dropout, identity), as PyTorch and
#: :mod:`convtheory.nn` name them.  Such a layer object, having no
#: ``kernel_size``, is an identity for the receptive field.  Matched by name so
#: that no framework is imported; a class of your own opts in with a
#: ``pointwise = True`` attribute.
POINTWISE_LAYERS = frozenset({
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
    "Mish", "Sigmoid", "Tanh", "Hardtanh", "Hardsigmoid", "Hardswish", "Softplus",
    "Softsign", "Tanhshrink", "Threshold", "LogSigmoid",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
    "InstanceNorm3d", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
    "Identity",
})


def _is_pointwise(layer) -> bool:
    if getattr(layer, "pointwise", False) is True:
        return True
    return type(layer).__name__ in POINTWISE_LAYERS and not hasattr(layer, "kernel_size")


@dataclass(frozen=True)
class _Layer:
    """A layer of the network: its geometry, a pool's rounding, a transposed conv's output padding."""

    geometry: ConvGeometry
    ceil_mode: bool = False  # a pool's rounding: changes the output shape, not the field
    output_padding: tuple | None = None  # set for a transposed conv


def _raw_description(layer, where: str) -> dict | None:
    """The four raw values of a layer: from a mapping's keys or an object's attributes.

    None for a pointwise layer object: it passes the field on unchanged.
    """
    if isinstance(layer, Mapping):
        unknown = [key for key in layer if key not in LAYER_KEYS + TRANSPOSED_KEYS]
        if unknown:
            raise TypeError(
                f"{where}: unknown key {unknown[0]!r}; a layer description takes the keys "
                f"{list(LAYER_KEYS)}, and {list(TRANSPOSED_KEYS)} for a transposed conv"
            )
        if "kernel_size" not in layer:
            raise TypeError(f"{where}: missing key 'kernel_size' (required)")
        values = {key: layer.get(key, _DEFAULTS.get(key)) for key in LAYER_KEYS}
        transposed = layer.get("transposed", "output_padding" in layer)
        if not isinstance(transposed, (bool, np.bool_)):
            raise TypeError(f"{where}: transposed must be a bool, got {transposed!r}")
        if transposed:
            values["output_padding"] = layer.get("output_padding", 0)
        return values
    if _is_pointwise(layer):
        return None
    if isinstance(layer, (str, bytes, numbers.Number)) or not hasattr(layer, "kernel_size"):
        raise TypeError(
            f"{where}: a layer must be a mapping with keys {list(LAYER_KEYS)}, an object with "
            f"a kernel_size attribute (a conv or pool layer) or a pointwise layer "
            f"(POINTWISE_LAYERS, or pointwise = True), got {type(layer).__name__}; describe "
            f"other pointwise layers as {{'kernel_size': 1}}, and end the list before a layer "
            f"that mixes all positions (Flatten, Linear)"
        )
    values = {key: getattr(layer, key, _DEFAULTS.get(key)) for key in LAYER_KEYS}
    values["ceil_mode"] = bool(getattr(layer, "ceil_mode", False))
    # torch's ConvNd and ConvTransposeNd both carry output_padding; `transposed` tells them apart.
    if getattr(layer, "transposed", hasattr(layer, "output_padding")) is True:
        values["output_padding"] = layer.output_padding
    return values


def _axes_of(value) -> int | None:
    """Number of axes a raw value pins down (None for ints and strings)."""
    if isinstance(value, (tuple, list)):
        return len(value)
    return None


def _parse_layer(raw: dict, ndim: int, where: str) -> _Layer:
    try:
        kernel = _per_axis(raw["kernel_size"], ndim, "kernel_size", minimum=1)
        geometry = ConvGeometry(kernel, stride=raw["stride"], padding=raw["padding"],
                                dilation=raw["dilation"])
        output_padding = None
        if "output_padding" in raw:
            if isinstance(raw["padding"], str):
                raise ValueError(f"padding of a transposed conv must be an int, a tuple of ints "
                                 f"or (lo, hi) pairs, got padding={raw['padding']!r}")
            output_padding = _per_axis(raw["output_padding"], ndim, "output_padding", minimum=0)
            # Validates output_padding < max(stride, dilation), as PyTorch does.
            conv_transpose_output_shape((max(2 * sum(p), 1) for p in geometry.padding), kernel,
                                        stride=geometry.stride, padding=geometry.padding,
                                        output_padding=output_padding, dilation=geometry.dilation)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{where}: {err}") from None
    return _Layer(geometry, raw.get("ceil_mode", False), output_padding)


def _network(layers, input_shape):
    """Normalise ``layers`` to (DAG, ndim, {node: _Layer or None}, where-labels)."""
    if isinstance(layers, nx.DiGraph):
        if isinstance(layers, nx.MultiDiGraph):
            raise TypeError("layers must be a networkx.DiGraph, got a MultiDiGraph")
        if layers.number_of_nodes() == 0:
            raise ValueError("layers is an empty graph; give at least one node")
        if not nx.is_directed_acyclic_graph(layers):
            raise ValueError(f"layers must be acyclic, got a cycle through "
                             f"{[u for u, _ in nx.find_cycle(layers)]}")
        dag = layers
        raw = {node: layers.nodes[node].get("layer") for node in dag}
        where = {node: f"node {node!r}" for node in dag}
    elif isinstance(layers, Iterable) and not isinstance(layers, (str, bytes, Mapping)):
        layers = list(layers)  # any iterable of layers, torch.nn.Sequential included
        dag = nx.path_graph(len(layers), create_using=nx.DiGraph)
        raw = dict(enumerate(layers))
        where = {i: f"layer {i}" for i in range(len(layers))}
    else:
        raise TypeError(
            f"layers must be a sequence of layer descriptions or a networkx.DiGraph of them, "
            f"got {type(layers).__name__}"
        )
    raw = {node: None if layer is None else _raw_description(layer, where[node])
           for node, layer in raw.items()}
    if input_shape is not None:
        input_shape = _as_shape(input_shape, "input_shape")
        ndim = len(input_shape)
    else:
        ndim = None
        for node, values in raw.items():
            for key, value in (values or {}).items():
                axes = _axes_of(value)
                if axes is not None and ndim is None:
                    ndim = axes
        ndim = 2 if ndim is None else ndim  # ints everywhere: read as an image network
    parsed = {node: None if values is None else _parse_layer(values, ndim, where[node])
              for node, values in raw.items()}
    return dag, ndim, input_shape, parsed, where


def _endpoints(dag, where):
    sources = [n for n in dag if dag.in_degree(n) == 0]
    sinks = [n for n in dag if dag.out_degree(n) == 0]
    if len(sources) != 1 or len(sinks) != 1:
        raise ValueError(
            f"layers must have one input node and one output node, got sources {sources} "
            f"and sinks {sinks}"
        )
    return sources[0], sinks[0]


def _output_shapes(dag, parsed, where, input_shape, source, inputs):
    """Spatial output shape of every node, checking that merging branches agree.

    Records in ``inputs`` the spatial shape reaching each node.
    """
    shapes = {}
    for node in nx.topological_sort(dag):
        preds = list(dag.predecessors(node))
        incoming = {shapes[p] for p in preds} if preds else {input_shape}
        if len(incoming) > 1:
            raise ValueError(
                f"{where[node]}: its inputs have different spatial shapes "
                f"{sorted(incoming)}; branches must agree where they merge"
            )
        (shape,) = incoming
        inputs[node] = shape
        layer = parsed[node]
        if layer is None:
            shapes[node] = shape
            continue
        if layer.ceil_mode:
            raise ValueError(
                f"{where[node]}: ceil_mode=True changes output shapes, which receptive_field "
                f"computes with floor; omit input_shape (the closed form does not need it)"
            )
        try:
            g = layer.geometry
            if layer.output_padding is not None:
                shapes[node] = conv_transpose_output_shape(
                    shape, g.kernel_size, stride=g.stride, padding=g.padding,
                    output_padding=layer.output_padding, dilation=g.dilation)
            else:
                shapes[node] = g.output_shape(shape)
        except ValueError as err:
            raise ValueError(f"{where[node]}: input_shape is too small: {err}") from None
    return shapes
