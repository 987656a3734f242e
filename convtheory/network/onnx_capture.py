"""Capture an ONNX model into a :class:`NetworkGraph`.

The graph is read after ``onnx.shape_inference.infer_shapes``, so every
tensor's shape is ONNX's own; initializers and ``Constant`` nodes are the
weights.  Attributes are translated to PyTorch's names and layouts (the
contract of :mod:`convtheory.network.graph`): ONNX ``pads`` ``[b1, b2, ...,
e1, e2, ...]`` become per-axis ``(lo, hi)`` pairs, ``auto_pad`` is resolved
with the input size, ``Gemm``/``MatMul`` weights become ``(out, in)``.
A ``MatMul`` by a constant followed by an ``Add`` of a constant is one
``linear`` node, as a ``Gemm`` is.

Shape arithmetic on constants is evaluated first
(:mod:`convtheory.network.onnx_fold`): exporters compute a ``Pad``'s pads by
such small subgraphs.  A ``Pad`` that feeds a ``Conv`` alone is the conv's
padding: ``constant`` (zero) padding adds to the conv's pads,
``reflect``, ``edge`` and ``wrap`` are the ``reflect``, ``replicate`` and
``circular`` padding modes (PyTorch exports ``padding_mode="reflect"`` and
``"replicate"`` so; its ``"circular"`` is a ``Slice`` and ``Concat`` of the
activation, which is refused by name).
"""

from __future__ import annotations

import os

import numpy as np

from ..geometry import resolve_padding
from ..matrices import DEFAULT_MAX_BYTES
from .activations import activation_lipschitz
from .graph import INPUT, NetworkGraph, Node, UnsupportedOperatorError
from .onnx_fold import fold_constants

__all__ = ["SUPPORTED_OPS", "capture_onnx"]

#: ONNX operator types that capture translates.
SUPPORTED_OPS = ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
                 "GlobalMaxPool", "BatchNormalization", "Relu", "LeakyRelu", "PRelu", "Sigmoid",
                 "Tanh", "Softmax", "Add", "Concat", "Flatten", "Gemm", "MatMul", "Reshape",
                 "Dropout", "Identity", "Constant", "Clip", "Elu", "HardSwish", "Softplus",
                 "Pad (into a Conv)")
#: ONNX ``Pad`` modes and the padding modes they are (ONNX operator docs, Pad).
_PAD_MODES = {"constant": "zeros", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}
_ACTS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax",
         "LeakyRelu": "leaky_relu", "PRelu": "prelu", "Elu": "elu", "HardSwish": "hardswish",
         "Softplus": "softplus", "Clip": "clip"}


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper, shape_inference  # noqa: F401
    except ImportError:  # pragma: no cover - the tests run with onnx
        raise ImportError("capturing an ONNX model needs onnx: pip install convtheory[onnx]") \
            from None
    return onnx


def _const(a: np.ndarray) -> np.ndarray:
    """A constant as the graph holds it: floating point in float64 (float16, and bfloat16
    and float8, which numpy sees as raw bytes, included), integers as they are."""
    if a.dtype.kind == "f" or a.dtype.name == "bfloat16" or a.dtype.name.startswith("float8"):
        return np.asarray(a, dtype=np.float64)
    return a


#: The attributes a ``Constant`` node may hold its value in, and how to read each.
_CONSTANT_FORMS = {"value_float": np.float64, "value_floats": np.float64,
                   "value_int": np.int64, "value_ints": np.int64}


def _dims(value_info):
    shape = value_info.type.tensor_type.shape
    if not value_info.type.tensor_type.HasField("shape"):
        return None
    dims = []
    for d in shape.dim:
        if not d.HasField("dim_value"):
            return None
        dims.append(int(d.dim_value))
    return tuple(dims)


class _Reader:
    def __init__(self, onnx, model):
        from onnx import helper, numpy_helper
        self.helper = helper
        graph = model.graph
        self.consts = {t.name: _const(numpy_helper.to_array(t)) for t in graph.initializer}
        self.shapes = {}
        for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
            dims = _dims(vi)
            if dims is not None:
                self.shapes[vi.name] = dims
        self.producer = {}   # tensor name -> our node name (or INPUT)
        self.nodes = []
        self.used = set()
        self.consumers = {}
        for node in graph.node:
            for t in node.input:
                self.consumers.setdefault(t, []).append(node)

    def attrs(self, node):
        return {a.name: self.helper.get_attribute_value(a) for a in node.attribute}

    def shape(self, tensor, node, label):
        if tensor not in self.shapes:
            raise UnsupportedOperatorError(label, node.op_type, SUPPORTED_OPS,
                                           f"shape inference gave no static shape for "
                                           f"{tensor!r}; pass input_shape")
        return self.shapes[tensor][1:]

    def const(self, tensor):
        return self.consts.get(tensor)

    def emit(self, node, label, kind, inputs, attrs=None, output=None):
        output = output or node.output[0]
        for t in inputs:
            if t not in self.producer:
                raise UnsupportedOperatorError(label, node.op_type, SUPPORTED_OPS,
                                               f"its input {t!r} is not a captured tensor")
        name, k = label, 0
        while name in self.used or name == INPUT:
            k += 1
            name = f"{label}_{k}"
        self.used.add(name)
        self.nodes.append(Node(name, kind, tuple(self.producer[t] for t in inputs),
                               tuple(self.shape(t, node, label) for t in inputs),
                               self.shape(output, node, label), dict(attrs or {})))
        self.producer[output] = name


#: ONNX's ``auto_pad`` values and the geometry core's padding rules they name.
_AUTO_PAD = {"SAME_UPPER": "same_upper", "SAME_LOWER": "same_lower", "VALID": "valid"}


def onnx_auto_pad(auto_pad: str, input_spatial, kernel_spatial, *, stride=1, dilation=1):
    """Resolve ONNX's ``auto_pad`` into per-axis ``(lo, hi)`` pairs for an input size.

    ``SAME_UPPER``/``SAME_LOWER`` are the geometry core's ``"same_upper"`` and
    ``"same_lower"`` (output ``ceil(n / stride)``, the odd unit of padding at
    the end or the beginning; ONNX operator docs, Conv); ``VALID`` pads nothing.

    Examples
    --------
    >>> onnx_auto_pad("SAME_UPPER", (5,), (4,)), onnx_auto_pad("SAME_LOWER", (5,), (4,))
    (((1, 2),), ((2, 1),))
    >>> onnx_auto_pad("SAME_UPPER", (7,), (3,), stride=2)   # output ceil(7/2) = 4
    ((1, 1),)
    """
    if auto_pad not in _AUTO_PAD:
        raise ValueError(f"auto_pad must be one of {tuple(_AUTO_PAD)}, got auto_pad={auto_pad!r}")
    return resolve_padding(_AUTO_PAD[auto_pad], tuple(kernel_spatial), stride=stride,
                           dilation=dilation, input_spatial=tuple(input_spatial))


def _pads(a, ndim, in_spatial, kernel, stride, dilation):
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto not in ("NOTSET", ""):
        return onnx_auto_pad(auto, in_spatial, kernel, stride=stride, dilation=dilation)
    pads = list(a.get("pads", [0] * (2 * ndim)))
    return tuple((int(pads[i]), int(pads[i + ndim])) for i in range(ndim))


def _symmetric(pairs, r, node, label):
    if any(lo != hi for lo, hi in pairs):
        raise UnsupportedOperatorError(label, node.op_type, SUPPORTED_OPS,
                                       f"asymmetric pads {pairs} on a pool or transposed conv")
    return tuple(lo for lo, _ in pairs)


def _translate(r, node, label):
    op, a = node.op_type, r.attrs(node)
    x = node.input[0] if node.input else None
    if op == "Constant":
        from onnx import numpy_helper
        if "value" in a:
            r.consts[node.output[0]] = _const(numpy_helper.to_array(a["value"]))
        elif len(a) == 1 and next(iter(a)) in _CONSTANT_FORMS:
            (form, value), = a.items()
            r.consts[node.output[0]] = np.asarray(value, dtype=_CONSTANT_FORMS[form])
        else:
            raise UnsupportedOperatorError(label, "Constant", SUPPORTED_OPS,
                                           f"only numeric constants, got {sorted(a)}")
        return
    if op == "Pad":
        return _pad(r, node, label, a)
    padded = r.pads.get(x) if op == "Conv" else None
    if padded is not None:  # the Pad before this conv is its padding (see _pad)
        x = padded[0]
    if op in ("Conv", "ConvTranspose", "MaxPool", "AveragePool"):
        in_shape = r.shape(x, node, label)
        ndim = len(in_shape) - 1
        kernel = tuple(a["kernel_shape"]) if "kernel_shape" in a else \
            tuple(r.const(node.input[1]).shape[2:])
        stride = tuple(a.get("strides", (1,) * ndim))
        dilation = tuple(a.get("dilations", (1,) * ndim))
        if op == "ConvTranspose":
            if "output_shape" in a or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise UnsupportedOperatorError(label, op, SUPPORTED_OPS,
                                               "ConvTranspose with output_shape or auto_pad")
            pads = _symmetric(_pads(a, ndim, in_shape[1:], kernel, stride, dilation), r,
                              node, label)
        else:  # auto_pad is resolved on the Conv's own input: a Pad's output, if one made it
            pads = _pads(a, ndim, r.shape(node.input[0], node, label)[1:], kernel, stride,
                         dilation)
    if op in ("Conv", "ConvTranspose"):
        weight = r.const(node.input[1])
        bias = r.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if weight is None:
            raise UnsupportedOperatorError(label, op, SUPPORTED_OPS,
                                           "its weight is not an initializer or Constant")
        attrs = dict(weight=weight, bias=bias, stride=stride, padding=pads, dilation=dilation,
                     groups=int(a.get("group", 1)))
        if op == "Conv":
            attrs["padding_mode"] = "zeros"
            if padded is not None:
                attrs["padding"], attrs["padding_mode"] = _conv_after_pad(
                    pads, padded[1], padded[2], node, label)
            return r.emit(node, label, "conv", [x], attrs)
        attrs["output_padding"] = tuple(a.get("output_padding", (0,) * ndim))
        return r.emit(node, label, "conv_transpose", [x], attrs)
    if op == "MaxPool":
        if len(node.output) > 1 and node.output[1]:
            raise UnsupportedOperatorError(label, op, SUPPORTED_OPS, "its Indices output")
        return r.emit(node, label, "max_pool", [x], dict(
            kernel_size=kernel, stride=stride,
            padding=_symmetric(pads, r, node, label), dilation=dilation,
            ceil_mode=bool(a.get("ceil_mode", 0))))
    if op == "AveragePool":
        if any(d != 1 for d in dilation):
            raise UnsupportedOperatorError(label, op, SUPPORTED_OPS, "a dilated AveragePool")
        return r.emit(node, label, "avg_pool", [x], dict(
            kernel_size=kernel, stride=stride, padding=_symmetric(pads, r, node, label),
            ceil_mode=bool(a.get("ceil_mode", 0)),
            count_include_pad=bool(a.get("count_include_pad", 0)), divisor_override=None))
    if op in ("GlobalAveragePool", "GlobalMaxPool"):
        kind = "adaptive_avg_pool" if op == "GlobalAveragePool" else "adaptive_max_pool"
        return r.emit(node, label, kind, [x],
                      {"output_size": (1,) * (len(r.shape(x, node, label)) - 1)})
    if op == "BatchNormalization":
        if a.get("training_mode", 0):
            raise UnsupportedOperatorError(label, op, SUPPORTED_OPS, "training_mode=1")
        gamma, beta, mean, var = (r.const(t) for t in node.input[1:5])
        if any(v is None for v in (gamma, beta, mean, var)):
            raise UnsupportedOperatorError(label, op, SUPPORTED_OPS,
                                           "its statistics are not initializers")
        scale = gamma / np.sqrt(var + a.get("epsilon", 1e-5))
        return r.emit(node, label, "batch_norm", [x], {"scale": scale,
                                                       "shift": beta - mean * scale})
    if op in _ACTS:
        act = _ACTS[op]
        attrs = {"op": act}
        parameter = None
        if act == "clip":
            act = attrs["op"] = _clip(r, node, label, a)
        if act == "leaky_relu":
            parameter = float(a.get("alpha", 0.01))
        if act == "elu":
            parameter = float(a.get("alpha", 1.0))
        if act == "prelu":
            parameter = r.const(node.input[1])
            if parameter is None:
                raise UnsupportedOperatorError(label, op, SUPPORTED_OPS,
                                               "its slope is not an initializer")
            parameter = parameter.ravel()
        if act == "softmax":
            rank = len(r.shape(x, node, label)) + 1
            if a.get("axis", -1) % rank != 1:
                raise UnsupportedOperatorError(label, f"Softmax(axis={a.get('axis', -1)})",
                                               SUPPORTED_OPS, "only over the channel axis 1")
        if parameter is not None:
            attrs["parameter"] = parameter
        attrs["lipschitz"] = activation_lipschitz(act, parameter)
        return r.emit(node, label, "activation", [x], attrs)
    if op == "Add":
        if all(t in r.producer for t in node.input):
            return r.emit(node, label, "add", list(node.input))
        raise UnsupportedOperatorError(label, op, SUPPORTED_OPS,
                                       "an Add of a constant that does not follow a MatMul")
    if op == "Concat":
        axis = a.get("axis", 1)  # required from opset 4; before, 1 by default
        if axis % (len(r.shape(x, node, label)) + 1) != 1:
            raise UnsupportedOperatorError(label, f"Concat(axis={axis})", SUPPORTED_OPS,
                                           "only concatenation along channels (axis 1)")
        return r.emit(node, label, "concat", list(node.input), {"axis": 0})
    if op in ("Flatten", "Reshape"):
        out = r.shape(node.output[0], node, label)
        if len(out) != 1 or (op == "Flatten" and a.get("axis", 1) != 1):
            raise UnsupportedOperatorError(label, op, SUPPORTED_OPS,
                                           f"only a flatten to (N, -1), got {out}")
        return r.emit(node, label, "flatten", [x])
    if op in ("Dropout", "Identity"):
        if len(node.output) > 1 and node.output[1]:
            raise UnsupportedOperatorError(label, op, SUPPORTED_OPS, "Dropout's mask output")
        return r.emit(node, label, "identity", [x])
    if op == "Gemm":
        w, c = r.const(node.input[1]), r.const(node.input[2]) if len(node.input) > 2 else None
        if w is None or a.get("transA", 0):
            raise UnsupportedOperatorError(label, op, SUPPORTED_OPS,
                                           "only x @ W (+ C) with W an initializer")
        w = w if a.get("transB", 0) else w.T
        w = w * a.get("alpha", 1.0)
        c = None if c is None else np.broadcast_to(c * a.get("beta", 1.0), (w.shape[0],)).copy()
        return r.emit(node, label, "linear", [x], {"weight": w, "bias": c})
    if op == "MatMul":
        w = r.const(node.input[1])
        if w is None or w.ndim != 2:
            raise UnsupportedOperatorError(label, op, SUPPORTED_OPS,
                                           "only x @ W with W a 2-D initializer")
        after = r.consumers.get(node.output[0], [])
        if len(after) == 1 and after[0].op_type == "Add":
            other = [t for t in after[0].input if t != node.output[0]]
            bias = r.const(other[0]) if len(other) == 1 else None
            if bias is not None:
                r.fused.add(after[0].output[0])
                return r.emit(node, label, "linear", [x], {"weight": w.T, "bias": bias.ravel()},
                              output=after[0].output[0])
        return r.emit(node, label, "linear", [x], {"weight": w.T, "bias": None})
    raise UnsupportedOperatorError(label, op, SUPPORTED_OPS)


def _pad(r, node, label, a):
    """Record a ``Pad`` that feeds one ``Conv`` as that conv's padding; refuse any other."""
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if r.const(node.input[0]) is not None:  # a weight's Pad: shape inference gave it no shape
        raise UnsupportedOperatorError(label, "Pad", SUPPORTED_OPS, f"only a Pad into a Conv, "
                                       f"got a Pad of the constant {node.input[0]!r}")
    rank = len(r.shape(node.input[0], node, label)) + 1
    if len(node.input) > 1 and node.input[1]:  # opset >= 11: the pads are an input
        pads = r.const(node.input[1])
        if pads is None:
            raise UnsupportedOperatorError(label, "Pad", SUPPORTED_OPS,
                                           "its pads are not constants")
        value = r.const(node.input[2]) if len(node.input) > 2 and node.input[2] else 0.0
        if value is None:
            raise UnsupportedOperatorError(label, "Pad", SUPPORTED_OPS,
                                           "its constant value is not a constant")
    else:  # opset < 11: the pads and the constant value are attributes
        pads, value = a.get("pads"), a.get("value")
    pads = [int(p) for p in np.ravel(pads)]
    after = r.consumers.get(node.output[0], [])
    why = None
    if mode not in _PAD_MODES:
        why = f"mode={mode!r} (supported: {', '.join(_PAD_MODES)})"
    elif len(node.input) > 3 and node.input[3]:
        why = "an axes input"
    elif len(pads) != 2 * rank or any(pads[i] or pads[i + rank] for i in (0, 1)):
        why = f"pads {pads} that are not on the spatial axes of an (N, C, ...) tensor alone"
    elif any(p < 0 for p in pads):
        why = f"negative pads {pads} (a crop)"
    elif mode == "constant" and value is not None and np.any(np.asarray(value) != 0):
        why = f"a constant value of {float(np.ravel(value)[0])!r} (only 0 is a conv's padding)"
    elif len(after) != 1 or after[0].op_type != "Conv" or after[0].input[0] != node.output[0]:
        why = f"its output feeds {[n.op_type for n in after]}, not one Conv alone"
    if why:
        raise UnsupportedOperatorError(label, f"Pad(mode={mode})", SUPPORTED_OPS,
                                       f"only a Pad into a Conv, got {why}")
    pairs = tuple((pads[i], pads[i + rank]) for i in range(2, rank))
    r.pads[node.output[0]] = (node.input[0], pairs, _PAD_MODES[mode])


def _conv_after_pad(conv_pads, pad_pairs, mode, node, label):
    """``(padding, padding_mode)`` of a Conv whose input a Pad of ``pad_pairs`` made."""
    if mode == "zeros":
        return tuple((a + c, b + d) for (a, b), (c, d) in zip(pad_pairs, conv_pads)), mode
    if any(lo or hi for lo, hi in conv_pads):
        raise UnsupportedOperatorError(label, "Conv", SUPPORTED_OPS,
                                       f"zero pads {conv_pads} of its own after a {mode} Pad")
    return pad_pairs, mode


def _clip(r, node, label, a):
    """Clip(0, 6) is PyTorch's ReLU6, Clip(0, +inf) a ReLU; any clip is 1-Lipschitz."""
    bounds = []
    for k, key in ((1, "min"), (2, "max")):
        if len(node.input) > k and node.input[k]:  # opset >= 11: bounds are inputs
            value = r.const(node.input[k])
            if value is None:
                raise UnsupportedOperatorError(label, "Clip", SUPPORTED_OPS,
                                               "its bounds are not constants")
            bounds.append(float(value))
        else:
            bounds.append(a.get(key))
    if bounds == [0.0, 6.0]:
        return "relu6"
    if bounds[0] == 0.0 and bounds[1] is None:
        return "relu"
    return "hardtanh"


def capture_onnx(model, input_shape=None, max_bytes=DEFAULT_MAX_BYTES) -> NetworkGraph:
    """Read an ONNX model (a path or a ``ModelProto``; see :func:`capture`); constant
    shape arithmetic is evaluated within ``max_bytes``."""
    onnx = _onnx()
    if isinstance(model, (str, os.PathLike)):
        if not os.path.exists(model):
            raise ValueError(f"model={os.fspath(model)!r}: no such ONNX file")
        try:
            model = onnx.load(os.fspath(model))
        except Exception as exc:  # protobuf's DecodeError, an unreadable file, ...
            raise ValueError(f"model={os.fspath(model)!r}: cannot read the ONNX file "
                             f"({type(exc).__name__}: {' '.join(str(exc).split())})") from None
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise ValueError(f"capture needs a model with one input, got {[i.name for i in inputs]}")
    if input_shape is not None:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        shape = next(i for i in model.graph.input if i.name == inputs[0].name) \
            .type.tensor_type.shape
        del shape.dim[:]
        for n in (1,) + tuple(input_shape):
            shape.dim.add().dim_value = int(n)
        del model.graph.value_info[:]
        for o in model.graph.output:  # the old output shapes would contradict the new ones
            o.type.tensor_type.ClearField("shape")
    model = onnx.shape_inference.infer_shapes(fold_constants(model, max_bytes),
                                              strict_mode=True)
    r = _Reader(onnx, model)
    r.fused = set()
    r.pads = {}  # a Pad's output -> (its input, spatial (lo, hi) pairs, padding mode)
    name = inputs[0].name
    if name not in r.shapes:
        raise ValueError(f"the ONNX input {name!r} has no static shape; pass input_shape")
    r.producer[name] = INPUT
    for i, node in enumerate(model.graph.node):
        if node.output and node.output[0] in r.fused:
            continue
        _translate(r, node, node.name or f"{node.op_type}_{i}")
    outputs = []
    for o in model.graph.output:
        if o.name not in r.producer or r.producer[o.name] == INPUT:
            raise ValueError(f"the model's output {o.name!r} is not a captured node")
        outputs.append(r.producer[o.name])
    return NetworkGraph(tuple(r.nodes), r.shapes[name][1:], tuple(outputs), "onnx")
