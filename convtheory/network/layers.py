"""Each node of a :class:`NetworkGraph` as convtheory operators, and the graph as a numpy model.

A linear node (conv, transposed conv, average pool, linear, batch norm,
flatten, identity) becomes a ``ConvSpec`` and a ``LinearOperator`` built from
the geometry core; the numpy forward pass of the whole graph applies those
same operators (plus the bias) and the pointwise and max-pool nodes, so the
forward pass the analysis measures equivariance on is the operators it reports.

The transposed conv and the average pool are expressed with what the core
has: a transposed conv is the adjoint of the conv whose input is the
transposed conv's output, and an average pool that counts padding is a
depthwise conv with the uniform kernel ``1/prod(k)``.  Each sits behind one
function (:func:`conv_transpose_operator`, :func:`avg_pool_spec`).
"""

from __future__ import annotations

import numpy as np
import scipy.special
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from ..geometry import axis_taps
from ..spec import ConvSpec
from ..operators import conv_operator
from .graph import INPUT, NetworkGraph, Node, UnsupportedOperatorError

__all__ = ["avg_pool_spec", "conv_transpose_operator", "forward", "node_operator", "node_spec"]


def _fit_hi(n: int, k: int, stride: int, lo: int, hi: int, dilation: int, out: int) -> int:
    """The high padding that gives ``out`` positions (``ceil_mode`` adds at most stride - 1)."""
    for extra in range(stride):
        if axis_taps(n, k, stride=stride, padding=(lo, hi + extra), dilation=dilation).shape[0] == out:
            return hi + extra
    raise ValueError(f"no padding reproduces the captured output length {out} (n={n}, k={k}, "
                     f"stride={stride}, padding=({lo}, {hi}))")


def _pool_geometry(node: Node):
    """(kernel, stride, padding pairs, dilation) of a pool node, matched to its output shape."""
    shape = node.input_shapes[0]
    a = node.attrs
    if node.kind.startswith("adaptive"):
        out = tuple(a["output_size"])
        if any(n % o for n, o in zip(shape[1:], out)):
            raise UnsupportedOperatorError(
                node.name, f"{node.kind} from {shape[1:]} to {out}", advice="an adaptive pool "
                "is analysed when every input size is a multiple of its output size")
        k = tuple(n // o for n, o in zip(shape[1:], out))
        return k, k, tuple((0, 0) for _ in k), tuple(1 for _ in k)
    k = tuple(a["kernel_size"])
    s = tuple(a.get("stride") or k)
    p = tuple(a.get("padding", (0,) * len(k)))
    d = tuple(a.get("dilation", (1,) * len(k)))
    pads = tuple((pi, _fit_hi(n, ki, si, pi, pi, di, o)) for n, ki, si, pi, di, o
                 in zip(shape[1:], k, s, p, d, node.output_shape[1:]))
    return k, s, pads, d


def avg_pool_spec(node: Node) -> ConvSpec:
    """An average pool (or divisible adaptive one) as a depthwise conv spec with a uniform kernel.

    Only pools whose every window divides by ``prod(kernel_size)`` are this
    conv: ``count_include_pad=True``, no divisor override, and no extra
    ``ceil_mode`` window.
    """
    k, s, pads, d = _pool_geometry(node)
    a = node.attrs
    if (not node.kind.startswith("adaptive") and
            (not a.get("count_include_pad", True) or a.get("divisor_override")
             or any(lo != hi for lo, hi in pads))):
        raise UnsupportedOperatorError(
            node.name, f"avg_pool with {dict(a)}", advice="average pools are analysed with "
            "count_include_pad=True, no divisor_override and no partial ceil_mode window")
    c = node.input_shapes[0][0]
    return ConvSpec((c, 1) + k, node.input_shapes[0], stride=s, padding=pads, dilation=d, groups=c)


def _conv_spec(node: Node) -> ConvSpec:
    a = node.attrs
    return ConvSpec(np.shape(a["weight"]), node.input_shapes[0], stride=a.get("stride", 1),
                    padding=a.get("padding", 0), dilation=a.get("dilation", 1),
                    groups=a.get("groups", 1), padding_mode=a.get("padding_mode", "zeros"))


def _transpose_spec(node: Node) -> ConvSpec:
    """The conv whose adjoint is this transposed conv: it maps the output back to the input."""
    a = node.attrs
    w = np.asarray(a["weight"])
    pad = tuple(a.get("padding", (0,) * (w.ndim - 2)))
    pads = tuple((p, p) for p in pad)
    return ConvSpec(w.shape, node.output_shape, stride=a.get("stride", 1), padding=pads,
                    dilation=a.get("dilation", 1), groups=a.get("groups", 1))


def node_spec(node: Node):
    """The ``ConvSpec`` of a conv, transposed conv or pool node bound to its input, else None.

    For a transposed conv it is the spec of the forward conv (output to
    input) whose adjoint the node is.
    """
    if node.kind == "conv":
        return _conv_spec(node)
    if node.kind == "conv_transpose":
        return _transpose_spec(node)
    if node.kind in ("avg_pool", "adaptive_avg_pool", "max_pool", "adaptive_max_pool"):
        k, s, pads, d = _pool_geometry(node)
        c = node.input_shapes[0][0]
        return ConvSpec((c, 1) + k, node.input_shapes[0], stride=s, padding=pads, dilation=d,
                        groups=c)
    return None


def conv_transpose_operator(weight, node: Node) -> LinearOperator:
    """A transposed conv: the adjoint of the conv from its output shape to its input shape."""
    spec = _transpose_spec(node)
    return conv_operator(np.asarray(weight, dtype=np.float64), spec).H


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
        return conv_transpose_operator(a["weight"] if weight is None else weight, node)
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
    """Max over each window, one axis at a time (the max is separable); padding is -inf."""
    k, s, pads, d = _pool_geometry(node)
    for axis in range(1, x.ndim):
        table = axis_taps(x.shape[axis], k[axis - 1], stride=s[axis - 1], padding=pads[axis - 1],
                          dilation=d[axis - 1])
        widths = [(0, 0)] * x.ndim
        widths[axis] = (0, 1)
        xp = np.pad(x, widths, constant_values=-np.inf)
        x = np.take(xp, np.where(table < 0, x.shape[axis], table), axis=axis).max(axis=axis + 1)
    return x


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
