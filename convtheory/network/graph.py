"""A captured network: the framework-neutral graph every network analysis reads.

A model from PyTorch (``torch.fx``), ONNX (the graph with shape inference) or
:mod:`convtheory.nn` is captured once into a :class:`NetworkGraph`: a tuple of
:class:`Node` records in topological order, each with the shapes that flow
through it (without the batch axis) and, for the layers convtheory can turn
into operators, the geometry and weights as numpy arrays.  Receptive fields,
operators, spectral norms, Lipschitz bounds and equivariance all read this
graph; none of them looks at the framework again.

Node kinds and their ``attrs`` (PyTorch's argument names and layouts):

======================  =============================================================
kind                    attrs
======================  =============================================================
``conv``                ``weight`` (C_out, C_in/groups, k...), ``bias`` (C_out,) or
                        None, ``stride``, ``padding`` (per-axis ``(lo, hi)`` pairs),
                        ``dilation``, ``groups``, ``padding_mode``
``conv_transpose``      ``weight`` (C_in, C_out/groups, k...), ``bias``, ``stride``,
                        ``padding`` (per-axis ints), ``output_padding``,
                        ``dilation``, ``groups``
``max_pool``            ``kernel_size``, ``stride``, ``padding`` (per-axis ints),
                        ``dilation``, ``ceil_mode``
``avg_pool``            ``kernel_size``, ``stride``, ``padding``, ``ceil_mode``,
                        ``count_include_pad``, ``divisor_override``
``adaptive_avg_pool``,  ``output_size`` (per-axis ints; a global pool is all ones)
``adaptive_max_pool``
``batch_norm``          ``scale`` (C,), ``shift`` (C,): eval mode, ``y = scale*x + shift``
``activation``          ``op`` (e.g. ``"relu"``, ``"leaky_relu"``, ``"prelu"``,
                        ``"sigmoid"``, ``"tanh"``, ``"softmax"``), ``lipschitz``
                        (float, the activation's Lipschitz constant), and for
                        ``leaky_relu``/``prelu``/``elu`` ``parameter`` (the
                        negative slope, every channel's slopes, or ``alpha``)
``add``                 none: the sum of its inputs (a residual connection)
``concat``              ``axis`` (channel axis without the batch: 0)
``flatten``             none: ends the spatial part of the network
``linear``              ``weight`` (out, in), ``bias`` (out,) or None
``identity``            none (Dropout in eval mode, Identity)
======================  =============================================================

Every tuple in ``attrs`` is per spatial axis.  Unknown operators are never
skipped: capture raises :class:`UnsupportedOperatorError`, naming the node,
its operator and what is supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["INPUT", "LINEAR_KINDS", "NODE_KINDS", "NetworkGraph", "Node", "UnsupportedOperatorError"]

#: The name of the network's input in :attr:`Node.inputs`.
INPUT = "input"

#: Every kind of :class:`Node` (see the module docstring for their attrs).
NODE_KINDS = (
    "conv", "conv_transpose", "max_pool", "avg_pool", "adaptive_avg_pool",
    "adaptive_max_pool", "batch_norm", "activation", "add", "concat", "flatten",
    "linear", "identity",
)

#: Kinds whose map is linear (an affine map without its bias), so that a
#: spectral norm and an explicit operator exist.
LINEAR_KINDS = ("conv", "conv_transpose", "avg_pool", "adaptive_avg_pool", "linear",
                "batch_norm", "identity", "flatten")


class UnsupportedOperatorError(ValueError):
    """A node of the model that the analysis does not know; never silently skipped.

    Examples
    --------
    >>> err = UnsupportedOperatorError("head.attn", "MultiheadAttention", NODE_KINDS)
    >>> "head.attn" in str(err) and "MultiheadAttention" in str(err)
    True
    """

    def __init__(self, node: str, op: str, supported=NODE_KINDS, advice: str = ""):
        self.node, self.op = node, op
        message = (f"node {node!r} is a {op!r}, which the network analysis does not "
                   f"support; supported: {', '.join(supported)}")
        super().__init__(message + (f"; {advice}" if advice else ""))


@dataclass(frozen=True)
class Node:
    """One operation of a captured network.

    Attributes
    ----------
    name : str
        The module path (``"layer1.0.conv1"``) or ONNX node name.
    kind : str
        One of :data:`NODE_KINDS`.
    inputs : tuple of str
        Names of the nodes whose outputs this node reads, in order;
        :data:`INPUT` is the network input.
    input_shapes : tuple of tuple of int
        Shape of each input without the batch axis, e.g. ``((3, 12, 12),)``.
    output_shape : tuple of int
        Shape of the output without the batch axis.
    attrs : mapping
        Kind-specific attributes (module docstring); weights as numpy arrays.
    """

    name: str
    kind: str
    inputs: tuple
    input_shapes: tuple
    output_shape: tuple
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in NODE_KINDS:
            raise ValueError(f"Node.kind must be one of {NODE_KINDS}, got kind={self.kind!r} "
                             f"for node {self.name!r}")
        if len(self.inputs) != len(self.input_shapes):
            raise ValueError(f"node {self.name!r} has {len(self.inputs)} inputs but "
                             f"{len(self.input_shapes)} input shapes")


@dataclass(frozen=True)
class NetworkGraph:
    """A captured network: nodes in topological order, with their shapes.

    Attributes
    ----------
    nodes : tuple of Node
        Topological order: every node's inputs come earlier (or are
        :data:`INPUT`).
    input_shape : tuple of int
        ``(C, n1, ..., nd)``, without the batch.
    outputs : tuple of str
        Names of the nodes whose outputs are the network's outputs.
    source : str
        Where it came from: ``"torch"``, ``"onnx"`` or ``"convtheory"``.

    Examples
    --------
    >>> g = NetworkGraph((Node("relu", "activation", (INPUT,), ((1, 4),), (1, 4),
    ...                        {"op": "relu", "lipschitz": 1.0}),), (1, 4), ("relu",))
    >>> g["relu"].kind, len(g)
    ('activation', 1)
    """

    nodes: tuple
    input_shape: tuple
    outputs: tuple
    source: str = "convtheory"

    def __post_init__(self):
        seen = {INPUT}
        for node in self.nodes:
            missing = [i for i in node.inputs if i not in seen]
            if missing:
                raise ValueError(f"nodes are not in topological order: {node.name!r} reads "
                                 f"{missing} before they are defined")
            if node.name in seen:
                raise ValueError(f"two nodes are named {node.name!r}")
            seen.add(node.name)
        unknown = [o for o in self.outputs if o not in seen]
        if unknown:
            raise ValueError(f"outputs {unknown} are not nodes of the graph")

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __getitem__(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r}")

    @property
    def ndim(self) -> int:
        """Number of spatial axes of the input."""
        return len(self.input_shape) - 1
