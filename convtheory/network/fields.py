"""A captured network as the layer DAG that :func:`~convtheory.receptive_field` reads.

The spatial part of a :class:`NetworkGraph` (everything before a node that
mixes every position: ``flatten``, ``linear``, or a pool to one unit per
axis) becomes a ``networkx.DiGraph`` whose nodes carry layer descriptions
(``kernel_size``, ``stride``, ``padding``, ``dilation``) read from the
captured geometry; pointwise nodes (activations, BatchNorm, identity) and
merges (``add``, ``concat``) carry none.  No index arithmetic is redone:
the receptive-field module composes these descriptions.
"""

from __future__ import annotations

import networkx as nx

from .graph import INPUT, NetworkGraph

__all__ = ["END_KINDS", "layer_dag", "model_graph"]

#: Node kinds after which no output unit has a spatial receptive field.
END_KINDS = ("flatten", "linear")
_POINTWISE = ("batch_norm", "activation", "identity", "add", "concat")
_OUTPUT = "<output>"   # merges several spatial outputs (P-Net's two heads)
_NOMINAL = {1: 224, 2: 224, 3: 64}  # spatial size traced when none is given


def mixes_every_position(node) -> bool:
    """Whether ``node`` ends the spatial part: each of its outputs may read every position.

    A ``flatten`` or ``linear`` node, or a pool to one unit per axis from
    more.  From such a node on there is no jump, and the receptive field is
    the extent of the input pixels that reach the output
    (:mod:`convtheory.network.shapes`).
    """
    if node.kind in END_KINDS:
        return True
    if node.kind in ("adaptive_avg_pool", "adaptive_max_pool"):
        # A global pool mixes every position; so does any adaptive pool to one unit per axis.
        return all(m == 1 for m in node.output_shape[1:]) and \
            any(n != 1 for n in node.input_shapes[0][1:])
    return False


def _description(node):
    a = node.attrs
    if node.kind in _POINTWISE:
        return None
    if node.kind == "conv":
        return {"kernel_size": tuple(a["weight"].shape[2:]), "stride": a["stride"],
                "padding": a["padding"], "dilation": a["dilation"]}
    if node.kind == "conv_transpose":  # receptive_field divides the jump by its stride
        return {"kernel_size": tuple(a["weight"].shape[2:]), "stride": a["stride"],
                "padding": a["padding"], "dilation": a["dilation"],
                "output_padding": a["output_padding"]}
    if node.kind == "max_pool":
        return {"kernel_size": a["kernel_size"], "stride": a["stride"],
                "padding": a["padding"], "dilation": a["dilation"]}
    if node.kind == "avg_pool":
        return {"kernel_size": a["kernel_size"], "stride": a["stride"],
                "padding": a["padding"]}
    if node.kind in ("adaptive_avg_pool", "adaptive_max_pool"):
        n, m = node.input_shapes[0][1:], node.output_shape[1:]
        if n == m:
            return None
        if any(a_ % b for a_, b in zip(n, m)):
            raise ValueError(f"node {node.name!r}: an adaptive pool from {n} to {m} has windows "
                             f"of different sizes, so no single receptive field describes it")
        return {"kernel_size": tuple(a_ // b for a_, b in zip(n, m)),
                "stride": tuple(a_ // b for a_, b in zip(n, m))}
    raise ValueError(f"node {node.name!r} is a {node.kind!r}: receptive_field supports "
                     f"convolutions, transposed convolutions, pools, pointwise layers, additions "
                     f"and concatenations")


def layer_dag(graph: NetworkGraph, at=None):
    """The layer DAG of ``graph``'s spatial part, and the spatial shape of its output.

    Parameters
    ----------
    graph : NetworkGraph
    at : str, optional
        The node whose output's field is wanted; default, the end of the
        spatial part (several outputs are merged).

    Returns
    -------
    dag : networkx.DiGraph
        One input node, one output node; each node's ``"layer"`` a layer
        description or absent (pointwise or merging).
    output_spatial : tuple of int
        The spatial shape of that output.

    Examples
    --------
    >>> from convtheory import nn
    >>> from convtheory.network import capture
    >>> g = capture(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten()), (1, 6, 6))
    >>> dag, shape = layer_dag(g)
    >>> list(dag.nodes), dag.nodes["0"]["layer"]["kernel_size"], shape
    (['input', '0', '1'], (3, 3), (4, 4))
    """
    if not isinstance(graph, NetworkGraph):
        raise TypeError(f"graph must be a NetworkGraph, got {type(graph).__name__}")
    excluded = set()
    spatial = []
    for node in graph:
        if node.name == at:
            if mixes_every_position(node):
                raise ValueError(f"at={at!r} is a {node.kind!r} node, after which no unit has a "
                                 f"spatial receptive field")
        if mixes_every_position(node) or any(i in excluded for i in node.inputs):
            excluded.add(node.name)
        else:
            spatial.append(node)
    if at is not None and at not in {n.name for n in spatial}:
        raise ValueError(f"at={at!r} is not a node of the spatial part of the network; its "
                         f"nodes are {[n.name for n in spatial]}")
    dag = nx.DiGraph()
    dag.add_node(INPUT)
    for node in spatial:
        dag.add_node(node.name)
        dag.add_edges_from((i, node.name) for i in node.inputs)
    if at is not None:
        dag = dag.subgraph(nx.ancestors(dag, at) | {at}).copy()
    for node in spatial:  # only the nodes that feed the output are described
        if node.name in dag:
            layer = _description(node)
            if layer is not None:
                dag.nodes[node.name]["layer"] = layer
    if at is not None:
        sink = at
    else:
        sinks = [n for n in dag if dag.out_degree(n) == 0]
        if len(sinks) > 1:
            dag.add_edges_from((s, _OUTPUT) for s in sinks)
            sink = _OUTPUT
        else:
            (sink,) = sinks
    shapes = {n.name: n.output_shape[1:] for n in spatial}
    shapes[INPUT] = graph.input_shape[1:]
    ends = [sink] if sink != _OUTPUT else list(dag.predecessors(_OUTPUT))
    return dag, shapes[ends[0]]


def model_graph(model, input_shape=None) -> NetworkGraph:
    """Capture ``model`` for :func:`receptive_field`, whose ``input_shape`` is spatial.

    ``input_shape`` may be ``(n1, ..., nd)`` (the channel count is read from
    the model's first convolution) or ``(C, n1, ..., nd)``; without it a
    torch model is traced on a nominal input (224 per axis in 1-D and 2-D,
    64 in 3-D), which changes only its output shape, not its field, unless
    an adaptive pool's windows depend on it.
    """
    from .capture import _is_onnx, _is_torch_module, capture

    if isinstance(model, NetworkGraph):
        if input_shape is not None and tuple(input_shape) not in (model.input_shape,
                                                                  model.input_shape[1:]):
            raise ValueError(f"input_shape={input_shape!r} differs from the captured graph's "
                             f"{model.input_shape}")
        return model
    if _is_onnx(model):
        if input_shape is None:
            return capture(model)
        graph = capture(model)  # read the channel count, then capture at the given size
        shape = tuple(input_shape)
        return capture(model, shape if len(shape) == graph.ndim + 1
                       else graph.input_shape[:1] + shape)
    if _is_torch_module(model):
        # The first layer with a dimension in its name (Conv2d, MaxPool1d, BatchNorm3d, ...)
        # gives the number of spatial axes; the first with a channel count gives C (a model
        # that starts with pools and activations works on any C: 1).
        ndim = channels = None
        for m in model.modules():
            name = type(m).__name__
            if ndim is None and name[-2:] in ("1d", "2d", "3d") and name[-3:-2].isalpha():
                ndim = int(name[-2])
            if channels is None:
                channels = getattr(m, "in_channels", None) or getattr(m, "num_features", None)
        if ndim is None:
            if input_shape is None:
                raise ValueError("input_shape is required for a torch model without a 1-D, "
                                 "2-D or 3-D layer: (C, n1, ..., nd)")
            return capture(model, input_shape)
        shape = (_NOMINAL[ndim],) * ndim if input_shape is None else tuple(input_shape)
        return capture(model, shape if len(shape) == ndim + 1 else (channels or 1,) + shape)
    raise TypeError(f"not a model: {type(model).__name__}")  # pragma: no cover
