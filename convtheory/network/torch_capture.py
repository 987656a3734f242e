"""Capture a ``torch.nn.Module`` into a :class:`NetworkGraph` with ``torch.fx``.

The model is traced symbolically (``torch.fx.symbolic_trace``), run once in
eval mode on a zero input of the given shape with
``torch.fx.passes.shape_prop.ShapeProp`` so that every node carries the shape
PyTorch itself produces, and each node is translated into one
:class:`~convtheory.network.graph.Node`.  Submodules of ``torch.nn`` stay
leaves of the trace (fx's default), so a ``Conv2d`` is one ``call_module``
node; nested ``Sequential``s and user blocks (a ResNet's ``BasicBlock``) are
traced through, which is how residual additions become ``add`` nodes.
"""

from __future__ import annotations

import contextlib
import io
import operator
import sys

import numpy as np

from ..geometry import resolve_padding
from ..matrices import DEFAULT_MAX_BYTES
from ..validation import check_budget
from .activations import activation_lipschitz
from .graph import INPUT, NetworkGraph, Node, UnsupportedOperatorError

__all__ = ["SUPPORTED_MODULES", "SUPPORTED_FUNCTIONS", "capture_torch"]

_ACT_MODULES = {"ReLU": "relu", "ReLU6": "relu6", "Sigmoid": "sigmoid", "Tanh": "tanh",
                "GELU": "gelu", "SiLU": "silu", "Hardswish": "hardswish",
                "Hardsigmoid": "hardsigmoid", "Hardtanh": "hardtanh", "Softplus": "softplus",
                "LeakyReLU": "leaky_relu", "PReLU": "prelu", "ELU": "elu", "Softmax": "softmax"}
_IDENTITY_MODULES = ("Identity", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout")
_CONV = tuple(f"Conv{d}d" for d in (1, 2, 3))
_CONV_T = tuple(f"ConvTranspose{d}d" for d in (1, 2, 3))
_MAX = tuple(f"MaxPool{d}d" for d in (1, 2, 3))
_AVG = tuple(f"AvgPool{d}d" for d in (1, 2, 3))
_ADAPTIVE = {f"Adaptive{k}Pool{d}d": f"adaptive_{k.lower()}_pool"
             for k in ("Avg", "Max") for d in (1, 2, 3)}
_BN = tuple(f"BatchNorm{d}d" for d in (1, 2, 3))

#: Class names of ``torch.nn`` modules that capture translates.
SUPPORTED_MODULES = (_CONV + _CONV_T + _MAX + _AVG + tuple(_ADAPTIVE) + _BN
                     + tuple(_ACT_MODULES) + _IDENTITY_MODULES + ("Flatten", "Linear"))

#: Names of the functions and tensor methods capture translates.
SUPPORTED_FUNCTIONS = ("add", "cat", "flatten", "view", "reshape", "contiguous", "relu",
                       "relu6", "sigmoid", "tanh", "softmax", "gelu", "silu", "leaky_relu",
                       "dropout", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                       "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
                       "adaptive_max_pool3d")
_SUPPORTED = SUPPORTED_MODULES + SUPPORTED_FUNCTIONS
#: Tensor queries whose (static) results only feed reshapes: ``x.size(0)``.
_SHAPE_QUERIES = ("size", "dim", "getattr", "getitem")


def _torch():
    try:
        import torch
        import torch.fx  # noqa: F401
        from torch.fx.passes.shape_prop import ShapeProp  # noqa: F401
    except ImportError:  # pragma: no cover - the tests run with torch
        raise ImportError("capturing a torch model needs PyTorch: pip install convtheory[torch]") \
            from None
    return torch


def _array(tensor):
    return tensor.detach().cpu().double().numpy().copy()


def _shape(node):
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        return None
    return tuple(int(n) for n in meta.shape[1:])


def _tuple(value, ndim):
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * ndim


class _Builder:
    def __init__(self, gm):
        self.gm = gm
        self.modules = dict(gm.named_modules())
        self.names = {}       # fx node -> our node name (or INPUT)
        self.nodes = []
        self.used = set()
        self.skipped = set()  # shape queries: ints, not tensors

    def unique(self, name):
        base, k = name, 0
        while name in self.used or name == INPUT:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def tensor_inputs(self, args):
        import torch.fx as fx
        return [a for a in args if isinstance(a, fx.Node)]

    def unsupported(self, fx_node, op, advice=""):
        return UnsupportedOperatorError(self._label(fx_node), op, _SUPPORTED, advice)

    def _label(self, fx_node):
        return str(fx_node.target) if fx_node.op == "call_module" else fx_node.name

    def emit(self, fx_node, kind, inputs, attrs=None, name=None):
        out = _shape(fx_node)
        if out is None:
            raise self.unsupported(fx_node, str(fx_node.target), "its output is not one tensor")
        for i in inputs:
            if i in self.skipped or i not in self.names:
                raise self.unsupported(fx_node, str(fx_node.target),
                                       f"its input {i.name!r} is not a captured tensor")
        name = self.unique(name or self._label(fx_node))
        self.names[fx_node] = name
        self.nodes.append(Node(name, kind, tuple(self.names[i] for i in inputs),
                               tuple(_shape(i) for i in inputs), out, dict(attrs or {})))


def _module_node(b, n, m):
    cls = type(m).__name__
    x = n.args[0] if n.args else None
    if cls not in SUPPORTED_MODULES or not type(m).__module__.startswith("torch.nn"):
        raise b.unsupported(n, cls)
    if len(n.args) != 1 or n.kwargs:
        raise b.unsupported(n, cls, "it is called with more than one argument")
    in_shape = _shape(x)
    ndim = len(in_shape) - 1
    if cls in _CONV:
        kernel = tuple(m.kernel_size)
        padding = resolve_padding(m.padding if isinstance(m.padding, str) else tuple(m.padding),
                                  kernel, stride=m.stride, dilation=m.dilation)
        attrs = dict(weight=_array(m.weight), bias=None if m.bias is None else _array(m.bias),
                     stride=tuple(m.stride), padding=padding, dilation=tuple(m.dilation),
                     groups=m.groups, padding_mode=m.padding_mode)
        return b.emit(n, "conv", [x], attrs)
    if cls in _CONV_T:
        attrs = dict(weight=_array(m.weight), bias=None if m.bias is None else _array(m.bias),
                     stride=tuple(m.stride), padding=tuple(m.padding),
                     output_padding=tuple(m.output_padding), dilation=tuple(m.dilation),
                     groups=m.groups)
        return b.emit(n, "conv_transpose", [x], attrs)
    if cls in _MAX:
        if m.return_indices:
            raise b.unsupported(n, cls, "return_indices=True returns two tensors")
        attrs = dict(kernel_size=_tuple(m.kernel_size, ndim),
                     stride=_tuple(m.stride if m.stride is not None else m.kernel_size, ndim),
                     padding=_tuple(m.padding, ndim), dilation=_tuple(m.dilation, ndim),
                     ceil_mode=bool(m.ceil_mode))
        return b.emit(n, "max_pool", [x], attrs)
    if cls in _AVG:
        attrs = dict(kernel_size=_tuple(m.kernel_size, ndim),
                     stride=_tuple(m.stride if m.stride is not None else m.kernel_size, ndim),
                     padding=_tuple(m.padding, ndim), ceil_mode=bool(m.ceil_mode),
                     count_include_pad=bool(m.count_include_pad),
                     divisor_override=getattr(m, "divisor_override", None))
        return b.emit(n, "avg_pool", [x], attrs)
    if cls in _ADAPTIVE:
        if getattr(m, "return_indices", False):
            raise b.unsupported(n, cls, "return_indices=True returns two tensors")
        return b.emit(n, _ADAPTIVE[cls], [x], {"output_size": _shape(n)[1:]})
    if cls in _BN:
        if m.running_mean is None:
            raise b.unsupported(n, cls, "without running statistics it normalises by batch "
                                        "statistics, which is not a fixed map")
        scale = 1.0 / np.sqrt(_array(m.running_var) + m.eps)
        gamma = _array(m.weight) if m.weight is not None else np.ones_like(scale)
        beta = _array(m.bias) if m.bias is not None else np.zeros_like(scale)
        scale = gamma * scale
        return b.emit(n, "batch_norm", [x], {"scale": scale,
                                             "shift": beta - _array(m.running_mean) * scale})
    if cls in _ACT_MODULES:
        op = _ACT_MODULES[cls]
        if op == "hardtanh" and (m.min_val, m.max_val) == (0.0, 6.0):
            op = "relu6"  # ReLU6 is Hardtanh(0, 6), and ONNX exports both as Clip(0, 6)
        parameter = {"leaky_relu": lambda: m.negative_slope, "prelu": lambda: _array(m.weight),
                     "elu": lambda: m.alpha}.get(op, lambda: None)()
        attrs = {"op": op}
        if op == "softmax":
            _check_channel_dim(b, n, cls, m.dim, in_shape)
        if op == "gelu" and m.approximate != "none":
            raise b.unsupported(n, f"GELU(approximate={m.approximate!r})",
                                "only the exact GELU has a stated Lipschitz constant")
        if parameter is not None:
            attrs["parameter"] = parameter
        attrs["lipschitz"] = activation_lipschitz(op, parameter)
        return b.emit(n, "activation", [x], attrs)
    if cls in _IDENTITY_MODULES:
        return b.emit(n, "identity", [x])
    if cls == "Flatten":
        return _flatten(b, n, x, cls)
    if cls == "Linear":
        if len(in_shape) != 1:
            raise b.unsupported(n, cls, f"it acts on the last axis of a {in_shape} tensor; "
                                        "flatten first")
        return b.emit(n, "linear", [x], dict(weight=_array(m.weight),
                                             bias=None if m.bias is None else _array(m.bias)))
    raise b.unsupported(n, cls)  # pragma: no cover - every supported class returns above


def _check_channel_dim(b, n, op, dim, in_shape):
    rank = len(in_shape) + 1
    if dim is None or dim % rank != 1:
        raise b.unsupported(n, f"{op}(dim={dim})", "softmax is supported over the channel "
                                                   "axis (dim=1) only")


def _flatten(b, n, x, op):
    out = _shape(n)
    if out is None or len(out) != 1:
        raise b.unsupported(n, op, f"only a flatten to (N, -1) is supported, got output "
                                   f"shape {out} without the batch")
    return b.emit(n, "flatten", [x])


_FUNCTION_ACTS = {"relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh",
                  "gelu": "gelu", "silu": "silu", "softmax": "softmax",
                  "leaky_relu": "leaky_relu"}


def _function_node(b, n):
    name = getattr(n.target, "__name__", str(n.target))
    args = list(n.args)
    x = args[0] if args else None
    if n.target in (operator.add, operator.iadd) or name == "add":
        inputs = b.tensor_inputs(args)
        if len(inputs) != 2 or len(args) != 2 or n.kwargs:
            raise b.unsupported(n, name, "only the sum of two tensors (a residual) is supported")
        if _shape(inputs[0]) is None or _shape(inputs[1]) is None:
            raise b.unsupported(n, name, "only the sum of two tensors is supported")
        return b.emit(n, "add", inputs)
    if name == "cat":
        tensors = args[0]
        dim = args[1] if len(args) > 1 else n.kwargs.get("dim", 0)
        if dim % (len(_shape(n)) + 1) != 1:
            raise b.unsupported(n, f"cat(dim={dim})", "only concatenation along channels")
        return b.emit(n, "concat", list(tensors), {"axis": 0})
    if name in ("flatten", "view", "reshape"):
        return _flatten(b, n, x, name)
    if name in ("contiguous", "dropout", "dropout1d", "dropout2d", "dropout3d"):
        return b.emit(n, "identity", [x])
    if name in _FUNCTION_ACTS:
        op = _FUNCTION_ACTS[name]
        attrs = {"op": op}
        parameter = None
        if op == "leaky_relu":
            parameter = args[1] if len(args) > 1 else n.kwargs.get("negative_slope", 0.01)
        if op == "softmax":
            dim = args[1] if len(args) > 1 else n.kwargs.get("dim")
            _check_channel_dim(b, n, name, dim, _shape(x))
        if op == "gelu" and n.kwargs.get("approximate", "none") != "none":
            raise b.unsupported(n, "gelu(approximate='tanh')", "only the exact GELU")
        if parameter is not None:
            attrs["parameter"] = parameter
        attrs["lipschitz"] = activation_lipschitz(op, parameter)
        return b.emit(n, "activation", [x], attrs)
    if name.startswith("adaptive_") and name[:-2] in ("adaptive_avg_pool", "adaptive_max_pool"):
        return b.emit(n, name[:-2], [x], {"output_size": _shape(n)[1:]})
    raise b.unsupported(n, name)


def _check_supported(b, gm):
    for n in gm.graph.nodes:
        if n.op == "call_module":
            m = b.modules[n.target]
            if type(m).__name__ not in SUPPORTED_MODULES or \
                    not type(m).__module__.startswith("torch.nn"):
                raise b.unsupported(n, type(m).__name__)
        elif n.op in ("call_method", "call_function"):
            name = getattr(n.target, "__name__", str(n.target))
            if name not in SUPPORTED_FUNCTIONS + _SHAPE_QUERIES + ("iadd",):
                raise b.unsupported(n, name)
        elif n.op == "get_attr":
            raise b.unsupported(n, f"{n.op} {n.target}", "parameters must belong to modules")


def _fake_activation_bytes(gm, input_shape, dtype):
    """Peak bytes of the nodes' outputs alive at once, from shapes propagated on fake tensors, or None.

    Nothing of the input's size is allocated (``FakeTensorMode``, torch's
    shape-only tensors).  It is a private torch API, so any failure (an op
    it cannot propagate, another torch version) gives None, not an error.
    """
    torch = _torch()
    from torch.fx.passes.shape_prop import ShapeProp
    try:
        from torch._subclasses.fake_tensor import FakeTensorMode
        mode = FakeTensorMode(allow_non_fake_inputs=True)
        with mode:
            x = torch.empty((1,) + tuple(input_shape), dtype=dtype)
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(gm, fake_mode=mode).propagate(x)
    except Exception:  # noqa: BLE001 - the estimate is optional; the real run reports errors
        return None
    # The peak of the outputs alive at once: torch.fx's interpreter frees each after its
    # last user has run.
    nodes = list(gm.graph.nodes)
    position = {n: i for i, n in enumerate(nodes)}
    last = {n: max((position[u] for u in n.users), default=i) for i, n in enumerate(nodes)}
    freed_at = {}  # position -> the bytes whose last user runs there
    alive = peak = 0
    for i, n in enumerate(nodes):
        meta = n.meta.get("tensor_meta")
        # The output node returns its argument's tensor, not a copy of it.
        if n.op != "output" and hasattr(meta, "shape") and hasattr(meta, "dtype"):
            size = int(meta.shape.numel()) * meta.dtype.itemsize
            alive += size
            freed_at[last[n]] = freed_at.get(last[n], 0) + size
        peak = max(peak, alive)
        alive -= freed_at.pop(i, 0)
    return peak


def capture_torch(model, input_shape, max_bytes: int = DEFAULT_MAX_BYTES) -> NetworkGraph:
    """Trace ``model`` with torch.fx and translate its nodes (see :func:`capture`)."""
    torch = _torch()
    from torch.fx.passes.shape_prop import ShapeProp

    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception as err:  # fx raises TraceError, TypeError, ... on dynamic control flow
        raise ValueError(f"torch.fx could not trace the model ({type(err).__name__}: {err}); "
                         f"capture needs a model without data-dependent control flow") from None
    b = _Builder(gm)
    b.input_shape = tuple(input_shape)
    _check_supported(b, gm)  # before running: an unknown op is named even if it cannot run
    params = next(iter(model.parameters()), None)
    dtype = params.dtype if params is not None else torch.float32
    # Each module's own flag, restored after the run: a model in training may hold modules
    # frozen in eval (a fine-tuned network's BatchNorm), which model.train() would flip.
    modes = [(m, m.training) for m in model.modules()]

    def restore():
        for m, training in modes:
            m.training = training

    model.eval()
    gm.eval()
    said = io.StringIO()
    try:
        # The layers' outputs, weighed before the run whatever the input's size: a stride, a
        # padding or an adaptive pool's output size grows even a 4x4 input without bound.
        needed = _fake_activation_bytes(gm, b.input_shape, dtype)
        if needed is not None:
            check_budget(needed, max_bytes, f"running the model once on input_shape="
                         f"{b.input_shape} (its layers' outputs)",
                         "use a smaller input_shape, or pass a larger max_bytes")
        try:
            # ShapeProp prints the model's traceback to stderr before it re-raises: kept
            # aside, and passed on only if the model ran (anything the model itself said).
            with torch.no_grad(), contextlib.redirect_stderr(said):
                ShapeProp(gm).propagate(torch.zeros((1,) + b.input_shape, dtype=dtype))
            sys.stderr.write(said.getvalue())
        except Exception as err:
            # ShapeProp wraps the model's own error; that one says what is wrong.
            cause = err.__cause__ or err
            raise ValueError(f"the model does not run on input_shape={b.input_shape} "
                             f"({type(cause).__name__}: {cause})") from None
    finally:
        restore()
    outputs = []
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ValueError(f"capture needs a model with one input, got {len(placeholders)}")
    for n in gm.graph.nodes:
        if n.op == "placeholder":
            b.names[n] = INPUT
        elif n.op == "output":
            outputs = list(n.args[0]) if isinstance(n.args[0], (tuple, list)) else [n.args[0]]
        elif n.op == "call_module":
            _module_node(b, n, b.modules[n.target])
        elif n.op in ("call_method", "call_function"):
            name = getattr(n.target, "__name__", str(n.target))
            if name in _SHAPE_QUERIES and _shape(n) is None:
                b.skipped.add(n)
                continue
            _function_node(b, n)
        else:  # get_attr: a parameter used outside a module
            raise b.unsupported(n, f"{n.op} {n.target}", "parameters must belong to modules")
    names = []
    for o in outputs:
        if o not in b.names or b.names[o] == INPUT:
            raise ValueError(f"the model's output {o!r} is not a captured node")
        names.append(b.names[o])
    return NetworkGraph(tuple(b.nodes), b.input_shape, tuple(names), "torch")

