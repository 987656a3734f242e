r"""Receptive fields of whole networks: closed form, and exact graph ancestry.

The receptive field of an output unit is the set of input units with a path
to it in the stacked layer graph.  For a network of convolutions and pools it
is an axis-aligned box described, per spatial axis, by three integers
(Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019):

* ``size`` :math:`r_0`, the number of input units it spans;
* ``stride`` :math:`S_0`, the *jump*: how far it moves in the input when the
  output index grows by one;
* ``padding`` :math:`P_0`, the *effective padding*: unit ``o`` covers inputs
  ``o*S_0 - P_0, ..., o*S_0 - P_0 + r_0 - 1``.  This is Araujo et al.'s sign
  convention: ``P_0 >= 0`` means the field of output 0 starts ``P_0`` units
  *before* input 0, in the padding (their :math:`u_0 = -P_0`).

With layers ``l = 1..L`` (input side first) of kernel size :math:`k_l`,
dilation :math:`d_l` (folded into the kernel as :math:`d_l(k_l-1)+1`),
stride :math:`s_l` and low-side padding :math:`p_l`, the closed forms are

.. math::

    r_0 = 1 + \sum_l (d_l(k_l-1)) \prod_{i<l} s_i, \quad
    S_0 = \prod_l s_l, \quad
    P_0 = \sum_l p_l \prod_{i<l} s_i.

:func:`receptive_field` evaluates them (``method="closed"``, any size of
network), or reads the field off the stacked layer graph by ancestry
(``method="exact"``, small inputs), built from the same per-axis taps as the
conv matrices; the tests assert the two agree.

The per-output-position view of one conv (the box each output reads, and
which outputs a translation moves without meeting a border) is
:class:`~convtheory.receptive_field_map.ReceptiveFieldMap`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import networkx as nx
import numpy as np

from .spec import ConvGeometry
from .transposed_spec import ConvTransposeSpec, conv_transpose_output_shape
from .validation import as_shape as _as_shape, per_axis as _per_axis
from .taps import spatial_taps

__all__ = ["LAYER_KEYS", "POINTWISE_LAYERS", "ReceptiveField", "receptive_field"]

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
_METHODS = ("closed", "exact")
_INPUT = "<input>"  # the stacked graph's input layer; never a user node


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of a network's output units, per spatial axis.

    Attributes
    ----------
    size : tuple of int
        :math:`r_0`: input units spanned by one output unit's field.
    stride : tuple of int
        :math:`S_0`, the jump: input units between the fields of neighbouring
        output units.
    padding : tuple of int
        :math:`P_0`, the effective padding (Araujo et al.'s sign): the field
        of output unit 0 starts at input ``-P_0``.
    aligned : bool
        True when every input-to-output path has the same jump and the same
        field centre, so that one ``(size, stride, padding)`` describes the
        network.  Always true for a chain of layers.
    paths : int
        Number of input-to-output paths (1 for a chain).
    method : str
        ``"closed"`` or ``"exact"``.
    output_shape : tuple of int or None
        Spatial output shape, when ``input_shape`` was given.
    note : str
        Why the network is not aligned (empty when it is).

    Examples
    --------
    >>> rf = receptive_field([{"kernel_size": 3, "padding": 1}] * 2)
    >>> rf.size, rf.stride, rf.padding
    ((5, 5), (1, 1), (2, 2))
    >>> rf.region((0, 3))
    ((-2, 3), (1, 6))
    """

    size: tuple
    stride: tuple
    padding: tuple
    aligned: bool = True
    paths: int = 1
    method: str = "closed"
    output_shape: tuple | None = None
    note: str = ""

    @property
    def ndim(self) -> int:
        return len(self.size)

    @property
    def start(self) -> tuple:
        """Input index where the field of output unit 0 begins, ``-padding``."""
        return tuple(-p for p in self.padding)

    @property
    def center(self) -> tuple:
        """Centre of the field of output unit 0, ``(size - 1)/2 - padding``."""
        return tuple((r - 1) / 2 - p for r, p in zip(self.size, self.padding))

    def region(self, index) -> tuple:
        """Half-open input interval ``(start, stop)`` per axis seen by output unit ``index``.

        Not clipped to the input: a negative ``start`` lies in the padding.
        """
        index = (index,) * self.ndim if isinstance(index, numbers.Integral) else tuple(index)
        if len(index) != self.ndim:
            raise ValueError(f"index must have {self.ndim} entries, got index={index!r}")
        return tuple((o * s - p, o * s - p + r)
                     for o, r, s, p in zip(index, self.size, self.stride, self.padding))


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


def _compose(field, layer: _Layer, pads):
    """One step of the closed form: the field after appending a layer.

    With jump ``j`` so far, a layer adds ``(k_eff - 1) * j`` to the size and
    ``lo * j`` to the effective padding, and multiplies the jump by its
    stride; unrolled, these are the sums in the module docstring.
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


def receptive_field(layers, input_shape=None, *, method="closed", at=None) -> ReceptiveField:
    r"""Receptive field size, jump and effective padding of a network.

    Parameters
    ----------
    layers : iterable of layer descriptions, networkx.DiGraph, or a model
        A model is any ``torch.nn.Module`` (``Sequential``, nested or not,
        ResNets, ...), a path to an ``.onnx`` file or an ``onnx.ModelProto``,
        or a :class:`~convtheory.network.NetworkGraph` (a captured
        :mod:`convtheory.nn` network, for example): it is captured
        (:func:`convtheory.network.capture`) and the field is that of the
        output of its spatial part, which ends before ``Flatten``,
        ``Linear`` and pools to one unit per axis (several spatial outputs,
        such as a detector's heads, are merged).
        Otherwise a chain, input side first (a list, or a
        :mod:`convtheory.nn` ``Sequential``).  Each layer is a mapping with keys
        ``kernel_size``, ``stride``, ``padding``, ``dilation`` (defaults 1,
        0, 1; ints or per-axis tuples; ``padding`` also takes ``(lo, hi)``
        pairs and ``"valid"``/``"same"``/``"full"``, and ``"same_upper"``/``"same_lower"``
        given ``input_shape``), or any object with
        those attributes (``torch.nn.Conv2d``, ``MaxPool2d``, ``AvgPool2d``
        and their convtheory counterparts; a missing ``dilation`` means 1;
        a pool's ``ceil_mode=True`` is refused only when ``input_shape`` is
        given, since it changes output shapes and not the field).
        A transposed conv is a mapping with ``output_padding`` (or
        ``transposed=True``), or a ``ConvTransposeNd`` object: it upsamples,
        dividing the jump by its stride, so ``size``, ``stride`` and
        ``padding`` may become ``fractions.Fraction``; the field of output
        ``o`` is then the input units inside the real interval ``o*S_0 - P_0
        + [0, r_0 - 1]`` (exactly for one transposed conv of dilation 1, a bounding
        box in general).
        A layer object without ``kernel_size`` that acts on each position
        alone (its class name in :data:`POINTWISE_LAYERS`: ``ReLU``,
        ``BatchNorm2d``, ``Dropout``, ... of PyTorch or :mod:`convtheory.nn`;
        or a ``pointwise = True`` attribute) is an identity layer, as is
        ``None``.  Anything else without ``kernel_size`` is refused:
        ``Flatten`` and ``Linear`` mix every position, so the spatial part
        of the network, and its receptive field, ends before them.
        A ``DiGraph`` is a network with branches: one input node, one output
        node, each node's ``"layer"`` attribute a layer description applied
        to the merged outputs of its predecessors (no ``"layer"``: the node
        only merges, as an addition or concatenation does).
    input_shape : tuple of int, optional
        Spatial input shape ``(n1, ..., nd)``.  Checks that every layer's
        input is large enough and gives ``output_shape``; required for
        ``method="exact"``.  Without it, the number of axes comes from the
        first per-axis tuple in the layers, or is 2.
    method : {"closed", "exact"}
        ``"closed"``: the closed form over every path (any network size).
        ``"exact"``: ancestry in the stacked layer graph of ``input_shape``
        (small inputs), read off output units the border does not clip.
    at : str, optional
        For a model only: the name of the captured node whose output's
        field is wanted (default: the end of the spatial part).

    For a model, ``input_shape`` may be spatial ``(n1, ..., nd)`` (the
    channels are read from the model) or ``(C, n1, ..., nd)``; without it a
    torch model is traced on a nominal 224 per axis (64 in 3-D), and
    ``output_shape`` is None.

    Returns
    -------
    ReceptiveField
        Per axis ``size`` :math:`r_0`, ``stride`` :math:`S_0` (the jump)
        and ``padding`` :math:`P_0` (the effective padding, Araujo et al.'s
        sign: output unit 0's field starts at input :math:`-P_0`).  For a
        DAG, the largest field over all paths; ``aligned`` is False, with a
        ``note``, when paths disagree on the jump or on the centre.

    Raises
    ------
    TypeError, ValueError
        For a bad layer (an unknown key, a negative kernel size, a zero
        stride, ...), naming the layer index (or DAG node) and the key.

    Notes
    -----
    Closed form (Araujo, Norris & Sim, Distill 2019), dilation folded into
    the kernel, ``p_l`` the low-side padding::

        r_0 = 1 + sum_l d_l (k_l - 1) prod_{i<l} s_i
        S_0 = prod_l s_l
        P_0 = sum_l p_l prod_{i<l} s_i

    For a DAG it is evaluated along every path (distinct results are kept,
    so a ResNet's exponentially many paths cost little).  Paths are
    *aligned* when their fields share the jump and the centre
    ``(r_0 - 1)/2 - P_0``; then the largest field contains every other.

    The exact method builds, per axis (the connectivity of a conv or pool
    is a product over axes), the stacked graph whose edges are each layer's
    taps and takes the input ancestors of every output unit.

    Examples
    --------
    >>> from convtheory import nn

    Two 3x3 convs see 5x5; a stride-2 pool in between doubles the growth:

    >>> receptive_field([{"kernel_size": 3}, {"kernel_size": 3}]).size
    (5, 5)
    >>> rf = receptive_field([{"kernel_size": 3, "padding": 1},
    ...                       {"kernel_size": 2, "stride": 2},
    ...                       {"kernel_size": 3, "padding": 1}])
    >>> rf.size, rf.stride, rf.padding
    ((8, 8), (2, 2), (3, 3))

    Dilation 2 makes a 3-tap kernel span 5 inputs; the exact ancestry agrees:

    >>> layers = [{"kernel_size": 3, "dilation": 2}, {"kernel_size": 3}]
    >>> receptive_field(layers, (20,)).size
    (7,)
    >>> receptive_field(layers, (20,), method="exact").size
    (7,)

    A captured model's field is that of its spatial part (before Flatten):

    >>> from convtheory.network import capture
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
    >>> rf = receptive_field(capture(net, (1, 10, 10)))
    >>> rf.size, rf.stride, rf.output_shape
    ((4, 4), (2, 2), (4, 4))

    Layer objects work as they are; a ReLU between them changes nothing:

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> receptive_field(net).size == receptive_field([net[0], net[2]]).size == (4, 4)
    True
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got method={method!r}")
    if _is_model(layers):
        return _model_field(layers, input_shape, method, at)
    if at is not None:
        raise TypeError(f"at={at!r} names a node of a model; layers is a "
                        f"{type(layers).__name__}, not a model")
    dag, ndim, input_shape, parsed, where = _network(layers, input_shape)
    if dag.number_of_nodes() == 0:  # an empty chain: the identity
        shape = input_shape
        if method == "exact" and input_shape is None:
            raise ValueError("method='exact' needs input_shape")
        return ReceptiveField((1,) * ndim, (1,) * ndim, (0,) * ndim, method=method,
                              output_shape=shape)
    source, sink = _endpoints(dag, where)
    shape, inputs = None, {}
    if input_shape is not None:
        shape = _output_shapes(dag, parsed, where, input_shape, source, inputs)[sink]
    candidates, paths = _closed_form(dag, parsed, source, sink, ndim, where, inputs)
    size, stride, padding, aligned, note = _summarise(candidates, ndim)
    closed = ReceptiveField(size, stride, padding, aligned, paths, "closed", shape, note)
    if method == "closed":
        return closed
    if input_shape is None:
        raise ValueError("method='exact' needs input_shape (small: the stacked graph is built)")
    size, stride, padding, linear = _exact(dag, parsed, source, sink, input_shape, ndim, closed, inputs)
    note = "" if linear else ("not aligned: the fields of unclipped output units do not "
                              "start at o*stride - padding for one stride and padding")
    return ReceptiveField(size, stride, padding, linear and aligned, paths, "exact", shape,
                          note or closed.note)


def _is_model(layers) -> bool:
    """A model to capture (torch, ONNX, a NetworkGraph), not a list of layers."""
    from .network.capture import _is_onnx, _is_torch_module
    from .network.graph import NetworkGraph

    return (isinstance(layers, NetworkGraph) or _is_torch_module(layers)
            or (_is_onnx(layers) and not isinstance(layers, str))
            or (isinstance(layers, str) and layers.endswith(".onnx")))


def _model_field(model, input_shape, method, at) -> ReceptiveField:
    """The field of a captured model: its layer DAG composed by the closed form."""
    from dataclasses import replace

    from .network.fields import layer_dag, model_graph

    from .network.capture import _is_torch_module

    # A torch model traced at a nominal size reports no output shape.
    nominal = input_shape is None and _is_torch_module(model)
    graph = model_graph(model, input_shape)
    dag, output_spatial = layer_dag(graph, at)
    spatial = graph.input_shape[1:]
    rf = receptive_field(dag, spatial if method == "exact" else None, method=method)
    return replace(rf, output_shape=None if nominal else output_spatial)
