"""Each node of a :class:`NetworkGraph` as convtheory operators, and the graph as a numpy model.

A linear node (conv, transposed conv, average pool, linear, batch norm,
flatten, identity) becomes a ``ConvSpec`` and a ``LinearOperator`` built from
the geometry core; the numpy forward pass of the whole graph applies those
same operators (plus the bias) and the pointwise and max-pool nodes, so the
forward pass the analysis measures equivariance on is the operators it reports.

A transposed conv is :func:`convtheory.conv_transpose_operator` (the adjoint
of the conv it transposes, ``output_padding`` included); a pool's windows are
the core's :func:`~convtheory.pool_spec.pool_spec`, and an average pool whose
every window divides by the kernel size is the depthwise conv with the uniform
kernel ``1/prod(k)`` (:func:`avg_pool_spec`).
"""

from __future__ import annotations

import numpy as np
import scipy.special
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from ..nn import functional_adaptive_pooling as FA
from ..nn import functional_pooling as FP
from ..operators import conv_operator
from ..pool_spec import avg_pool_divisors, pool_spec
from ..spec import ConvSpec
from ..transposed import conv_transpose_operator
from ..transposed_spec import ConvTransposeSpec
from .graph import INPUT, NetworkGraph, Node, UnsupportedOperatorError

__all__ = ["avg_pool_spec", "forward", "node_operator", "node_spec"]


def _pool_options(node: Node) -> dict:
    """``pool_spec``'s arguments for a pool node (an adaptive one only when its windows are even)."""
    shape, a = node.input_shapes[0], node.attrs
    if node.kind.startswith("adaptive"):
        out = tuple(a["output_size"])
        if any(n % o for n, o in zip(shape[1:], out)):
            raise UnsupportedOperatorError(
                node.name, f"{node.kind} from {shape[1:]} to {out}", advice="an adaptive pool "
                "is analysed when every input size is a multiple of its output size")
        k = tuple(n // o for n, o in zip(shape[1:], out))
        return {"kernel_size": k, "stride": k}
    return {"kernel_size": tuple(a["kernel_size"]), "stride": a.get("stride") or None,
            "padding": a.get("padding", 0), "dilation": a.get("dilation", 1),
            "ceil_mode": bool(a.get("ceil_mode", False))}


def _pool_spec(node: Node) -> ConvSpec:
    """The depthwise spec whose taps are the pool's windows (PyTorch's ``ceil_mode`` rule)."""
    shape = node.input_shapes[0]
    one = pool_spec(shape[1:], **_pool_options(node))
    if one.output_spatial != tuple(node.output_shape[1:]):
        raise ValueError(f"node {node.name!r}: the pool's geometry gives {one.output_spatial}, "
                         f"but the captured output is {tuple(node.output_shape[1:])}")
    c = shape[0]
    return one.replace(weight_shape=(c, 1) + one.kernel_size, input_shape=shape, groups=c)


def avg_pool_spec(node: Node) -> ConvSpec:
    """An average pool (or divisible adaptive one) as a depthwise conv spec with a uniform kernel.

    Only pools whose every window divides by ``prod(kernel_size)``
    (:func:`~convtheory.pool_spec.avg_pool_divisors`) are this conv; others
    (``count_include_pad=False`` or a ``ceil_mode`` window at the border,
    or a ``divisor_override``) are refused by name.
    """
    spec = _pool_spec(node)
    a = node.attrs
    if not node.kind.startswith("adaptive"):
        options = _pool_options(node)
        options.pop("dilation")
        divisors = avg_pool_divisors(node.input_shapes[0][1:], **options,
                                     count_include_pad=a.get("count_include_pad", True))
        k = spec.kernel_size
        if a.get("divisor_override") or any(np.any(dv != ka) for dv, ka in zip(divisors, k)):
            raise UnsupportedOperatorError(
                node.name, f"avg_pool with {dict(a)}", advice="average pools are analysed "
                "when every window divides by the kernel size (count_include_pad=True, no "
                "divisor_override, no partial ceil_mode window)")
    return spec


def _conv_spec(node: Node) -> ConvSpec:
    a = node.attrs
    return ConvSpec(np.shape(a["weight"]), node.input_shapes[0], stride=a.get("stride", 1),
                    padding=a.get("padding", 0), dilation=a.get("dilation", 1),
                    groups=a.get("groups", 1), padding_mode=a.get("padding_mode", "zeros"))


def _transpose_spec(node: Node) -> ConvTransposeSpec:
    a = node.attrs
    w = np.asarray(a["weight"])
    return ConvTransposeSpec(w.shape, node.input_shapes[0], stride=a.get("stride", 1),
                             padding=a.get("padding", 0), dilation=a.get("dilation", 1),
                             output_padding=a.get("output_padding", 0), groups=a.get("groups", 1))


def node_spec(node: Node):
    """The ``ConvSpec`` of a conv, transposed conv or pool node bound to its input, else None.

    For a transposed conv it is the forward conv whose adjoint the node is
    (:attr:`~convtheory.transposed_spec.ConvTransposeSpec.adjoint`): the same
    matrix transposed, so the same norm.
    """
    if node.kind == "conv":
        return _conv_spec(node)
    if node.kind == "conv_transpose":
        return _transpose_spec(node).adjoint
    if node.kind in ("avg_pool", "adaptive_avg_pool", "max_pool", "adaptive_max_pool"):
        return _pool_spec(node)
    return None


def node_operator(node: Node, weight=None) -> LinearOperator:
    """The linear part (no bias) of a linear node as a ``LinearOperator`` on flattened arrays.

    ``weight`` replaces the node's weight (a conv with a batch norm folded in).

    Raises
    ------
    ValueError
        For a node whose map is not linear (activation, max pool, add, concat).

    Examples
    --------
    An average pool is the depthwise conv with the uniform kernel:

    >>> node = Node("pool", "avg_pool", ("input",), ((1, 4),), (1, 2),
    ...             {"kernel_size": (2,), "stride": (2,), "padding": (0,)})
    >>> node_operator(node) @ np.array([1.0, 3.0, 5.0, 9.0])
    array([2., 7.])
    """
    a = node.attrs
    if node.kind == "conv":
        w = np.asarray(a["weight"] if weight is None else weight, dtype=np.float64)
        spec = _conv_spec(node)
        return conv_operator(w, spec)
    if node.kind == "conv_transpose":
        t = _transpose_spec(node)
        w = np.asarray(a["weight"] if weight is None else weight, dtype=np.float64)
        return conv_transpose_operator(w, t.input_shape, stride=t.stride, padding=t.padding,
                                       output_padding=t.output_padding, dilation=t.dilation,
                                       groups=t.groups)
    if node.kind in ("avg_pool", "adaptive_avg_pool"):
        spec = avg_pool_spec(node)
        w = np.full(spec.weight_shape, 1.0 / np.prod(spec.kernel_size))
        return conv_operator(w, spec)
    if node.kind == "linear":
        return aslinearoperator(np.asarray(a["weight"] if weight is None else weight, dtype=np.float64))
    if node.kind == "batch_norm":
        scale = np.asarray(a["scale"], dtype=np.float64)
        spatial = int(np.prod(node.input_shapes[0][1:]))
        diag = np.repeat(scale, spatial)
        return LinearOperator((diag.size, diag.size), matvec=lambda x: diag * np.ravel(x),
                              rmatvec=lambda y: diag * np.ravel(y), dtype=np.float64)
    if node.kind in ("identity", "flatten"):
        size = int(np.prod(node.input_shapes[0]))
        return LinearOperator((size, size), matvec=lambda x: np.ravel(x),
                              rmatvec=lambda y: np.ravel(y), dtype=np.float64)
    raise ValueError(f"node {node.name!r} of kind {node.kind!r} is not linear; linear kinds: "
                     f"conv, conv_transpose, avg_pool, adaptive_avg_pool, linear, batch_norm, "
                     f"identity, flatten")


def _bias(b, shape) -> np.ndarray:
    """A per-channel bias broadcast over the spatial axes."""
    b = np.asarray(b, dtype=np.float64)
    return b.reshape((-1,) + (1,) * (len(shape) - 1)) * np.ones(shape)


def _max_pool(x: np.ndarray, node: Node) -> np.ndarray:
    """The max pool of one input ``(C, n...)``, by :mod:`convtheory.nn`'s functional pools."""
    d = x.ndim - 1
    if node.kind == "adaptive_max_pool":
        return getattr(FA, f"adaptive_max_pool{d}d")(x, tuple(node.attrs["output_size"]))
    o = _pool_options(node)
    return getattr(FP, f"max_pool{d}d")(x, o["kernel_size"], o["stride"], o["padding"],
                                        o["dilation"], o["ceil_mode"])


_ACTIVATIONS = ("relu", "leaky_relu", "prelu", "sigmoid", "tanh", "softmax", "elu", "relu6", "gelu",
                "silu", "hardswish", "hardsigmoid", "softplus",
                "hardtanh", "identity")


def _activation(x: np.ndarray, node: Node) -> np.ndarray:
    op, a = node.attrs.get("op"), node.attrs
    if op == "relu":
        return np.maximum(x, 0.0)
    if op == "relu6":
        return np.clip(x, 0.0, 6.0)
    if op == "hardtanh":
        return np.clip(x, a.get("min_val", -1.0), a.get("max_val", 1.0))
    if op in ("leaky_relu", "prelu"):
        if op == "prelu" and a.get("parameter") is None:
            raise ValueError(f"prelu {node.name!r} needs its learned slopes in attrs['parameter']")
        # LeakyReLU's default slope is PyTorch's; a PReLU's slopes are learned and required.
        slope = np.asarray(a.get("parameter", 0.01), dtype=np.float64)
        if slope.ndim == 1 and slope.size > 1:
            slope = slope.reshape((-1,) + (1,) * (x.ndim - 1))
        return np.where(x >= 0, x, slope * x)
    if op == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if op == "tanh":
        return np.tanh(x)
    if op == "elu":
        return np.where(x > 0, x, a.get("parameter", 1.0) * np.expm1(np.minimum(x, 0)))
    if op == "gelu":  # the exact form, x * Phi(x)
        return 0.5 * x * (1.0 + scipy.special.erf(x / np.sqrt(2.0)))
    if op == "silu":
        return x * scipy.special.expit(x)
    if op == "hardswish":
        return x * np.clip(x + 3.0, 0.0, 6.0) / 6.0
    if op == "hardsigmoid":
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0)
    if op == "softplus":
        return np.logaddexp(0.0, x)
    if op == "softmax":
        axis = a.get("axis", 0)
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    if op == "identity":
        return x
    raise UnsupportedOperatorError(node.name, f"activation {op!r}", _ACTIVATIONS)


def forward(graph: NetworkGraph, x, *, weights=None) -> dict:
    """Run the graph on one input (no batch axis) in float64; return every node's output.

    Parameters
    ----------
    graph : NetworkGraph
    x : array_like of shape ``graph.input_shape``
    weights : dict, optional
        Node name -> ``(weight, bias)`` replacing the node's (a conv with its
        batch norm folded in); the folded batch norm's name maps to ``None``
        and the node passes its input through.

    Returns
    -------
    dict
        Node name -> output array of the node's ``output_shape``.

    Examples
    --------
    >>> from convtheory.network.graph import Node
    >>> g = NetworkGraph((Node("relu", "activation", ("input",), ((1, 3),), (1, 3),
    ...                        {"op": "relu", "lipschitz": 1.0}),), (1, 3), ("relu",))
    >>> forward(g, [[-1.0, 0.5, 2.0]])["relu"].tolist()
    [[0.0, 0.5, 2.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape != tuple(graph.input_shape):
        raise ValueError(f"x must have the graph's input shape {tuple(graph.input_shape)}, got "
                         f"shape {x.shape}")
    weights = weights or {}
    values = {INPUT: x}
    for node in graph:
        ins = [values[i] for i in node.inputs]
        kind = node.kind
        if node.name in weights and weights[node.name] is None:  # folded into the conv before it
            y = ins[0]
        elif kind in ("conv", "conv_transpose", "avg_pool", "adaptive_avg_pool", "linear",
                      "batch_norm"):
            weight, bias = weights.get(node.name, (None, node.attrs.get("bias")))
            op = node_operator(node, weight)
            y = (op @ ins[0].ravel()).reshape(node.output_shape)
            if kind == "batch_norm":
                bias = node.attrs["shift"]
            if bias is not None:
                y = y + _bias(bias, y.shape)
        elif kind in ("max_pool", "adaptive_max_pool"):
            y = _max_pool(ins[0], node)
        elif kind == "activation":
            y = _activation(ins[0], node)
        elif kind == "add":
            y = sum(ins[1:], ins[0])
        elif kind == "concat":
            y = np.concatenate(ins, axis=node.attrs.get("axis", 0))
        elif kind in ("flatten", "identity"):
            y = ins[0]
        else:  # pragma: no cover - NODE_KINDS is closed
            raise UnsupportedOperatorError(node.name, kind)
        values[node.name] = np.reshape(y, node.output_shape)
    return values
