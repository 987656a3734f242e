"""Capture a model into a :class:`NetworkGraph`: PyTorch, ONNX or :mod:`convtheory.nn`.

:func:`capture` dispatches on the model; the PyTorch and ONNX translations
live in :mod:`.torch_capture` and :mod:`.onnx_capture`, which import their
framework lazily (``pip install convtheory[torch]`` / ``convtheory[onnx]``).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..geometry import _as_shape, resolve_padding
from ..matrices import DEFAULT_MAX_BYTES
from ..padded import Padder
from ..validation import as_max_bytes, check_budget
from .graph import INPUT, NetworkGraph, Node, UnsupportedOperatorError

__all__ = ["NN_LAYERS", "capture"]

#: :mod:`convtheory.nn` layer classes that capture translates.
NN_LAYERS = ("Conv1d", "Conv2d", "Conv3d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
             "ReLU", "Flatten", "Linear")


def _is_torch_module(model) -> bool:
    # Checked by class path so that torch is imported only when the model is torch's.
    return any(f"{c.__module__}.{c.__name__}" == "torch.nn.modules.module.Module"
               for c in type(model).__mro__)


def _is_onnx(model) -> bool:
    if isinstance(model, (str, os.PathLike)):
        return True
    return type(model).__name__ == "ModelProto" and type(model).__module__.startswith("onnx")


def capture(model, input_shape=None, *, max_bytes=DEFAULT_MAX_BYTES) -> NetworkGraph:
    """Capture ``model`` as a :class:`NetworkGraph`, with the shapes its framework computes.

    Parameters
    ----------
    model : torch.nn.Module, str or os.PathLike, onnx.ModelProto, convtheory.nn module
        * A ``torch.nn.Module``: traced with ``torch.fx.symbolic_trace`` and
          run once in eval mode (``torch.fx.passes.shape_prop.ShapeProp``) on
          a zero input; its training flag is restored afterwards.
        * A path to an ``.onnx`` file or an ``onnx.ModelProto``: read after
          ``onnx.shape_inference.infer_shapes``.
        * A :mod:`convtheory.nn` layer or ``Sequential`` of the layers in
          :data:`NN_LAYERS`, run once on a zero input for its shapes.
    input_shape : tuple of int
        ``(C, n1, ..., nd)`` without the batch.  Required except for an ONNX
        model whose input shape is static (given, it replaces the model's).
    max_bytes : int
        Refuse, before running the model, an input of more than this many
        bytes in float64; a torch model is first run on fake tensors
        (nothing allocated), and refused if its layers' outputs alive at
        once would exceed it; a convtheory.nn convolution's run is weighed
        before it runs; an ONNX model's constant shape arithmetic is weighed
        before it is evaluated.

    Returns
    -------
    NetworkGraph
        Nodes in topological order; ``source`` is ``"torch"``, ``"onnx"``
        or ``"convtheory"``.  Weights are float64 numpy arrays in PyTorch's
        layouts; BatchNorm (eval) is ``scale``/``shift``.

    Raises
    ------
    UnsupportedOperatorError
        For any operator capture does not translate (an LSTM, an einsum, a
        softmax over a spatial axis, ...), naming the node, its operator and
        the supported ones; nothing is skipped.
    TypeError
        For a model of another kind.
    ValueError
        For a bad ``input_shape``, a model that does not run on it, one
        torch.fx cannot trace, or an input (or a torch model's activations, or
        an ONNX model's folded constants) over ``max_bytes``.
    ImportError
        When the model's framework is not installed (names the extra).

    Notes
    -----
    Supported, as PyTorch modules / ONNX operators: convolutions and
    transposed convolutions in 1-3 D; max and average pools (``ceil_mode``,
    ``count_include_pad``, ``divisor_override``, dilation), adaptive and
    global pools; BatchNorm in eval mode; ReLU, ReLU6, LeakyReLU, PReLU,
    ELU, GELU (exact), SiLU, Sigmoid, Tanh, Softmax over channels,
    Hardswish, Hardsigmoid, Hardtanh, Softplus, each with its Lipschitz
    constant (:mod:`.activations`); Dropout and Identity; residual additions
    and channel concatenation; flatten/view/reshape to ``(N, -1)``;
    ``Linear``/``Gemm``/``MatMul`` (+ ``Add``); an ONNX ``Pad`` into a
    ``Conv`` as its padding (any mode).  The exact lists are
    :data:`.torch_capture.SUPPORTED_MODULES`,
    :data:`.torch_capture.SUPPORTED_FUNCTIONS` and
    :data:`.onnx_capture.SUPPORTED_OPS`.

    Examples
    --------
    >>> from convtheory import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
    ...                     nn.Flatten(), nn.Linear(64, 10, seed=1))
    >>> g = capture(net, (1, 8, 8))
    >>> [(n.kind, n.output_shape) for n in g]            # doctest: +NORMALIZE_WHITESPACE
    [('conv', (4, 8, 8)), ('activation', (4, 8, 8)), ('max_pool', (4, 4, 4)),
     ('flatten', (64,)), ('linear', (10,))]
    >>> g["0"].attrs["padding"], g.outputs
    (((1, 1), (1, 1)), ('4',))
    """
    max_bytes = as_max_bytes(max_bytes)
    if _is_torch_module(model):
        from .torch_capture import capture_torch
        return capture_torch(model, _input_within(input_shape, max_bytes), max_bytes)
    if _is_onnx(model):  # shape inference only: nothing of the input's size is allocated
        from .onnx_capture import capture_onnx
        return capture_onnx(model, None if input_shape is None else _shape(input_shape),
                            max_bytes)
    from ..nn.module import Module
    if isinstance(model, Module):
        return _capture_nn(model, _input_within(input_shape, max_bytes), max_bytes)
    raise TypeError(f"model must be a torch.nn.Module, a path to an .onnx file, an "
                    f"onnx.ModelProto or a convtheory.nn module, got {type(model).__name__}")


def _shape(input_shape):
    if input_shape is None:
        raise ValueError("input_shape is required: (C, n1, ..., nd) without the batch")
    return _as_shape(input_shape, "input_shape")


def _input_within(input_shape, max_bytes: int) -> tuple:
    """``input_shape``, checked, once its float64 array is known to fit ``max_bytes``."""
    shape = _shape(input_shape)
    check_budget(8 * math.prod(shape), max_bytes,
                 f"capture of the model on input_shape={shape}",
                 "use a smaller input_shape, or pass a larger max_bytes")
    return shape


def _capture_nn(model, input_shape, max_bytes: int) -> NetworkGraph:
    from ..nn.layers import Sequential
    layers = list(model) if isinstance(model, Sequential) else [model]
    x = np.zeros((1,) + input_shape)
    nodes, previous = [], INPUT
    for i, layer in enumerate(layers):
        cls = type(layer).__name__
        name = str(i)
        if cls not in NN_LAYERS or isinstance(layer, Sequential):
            raise UnsupportedOperatorError(name, cls, NN_LAYERS)
        try:
            needed = _conv_run_bytes(layer, x) if cls.startswith("Conv") else 0
        except (TypeError, ValueError) as err:
            raise ValueError(f"layer {name} ({cls}) does not run on input shape "
                             f"{x.shape[1:]}: {err}") from None
        check_budget(needed, max_bytes, f"running layer {name} ({cls}) on input shape "
                     f"{x.shape[1:]}", "use a smaller input_shape, or pass a larger max_bytes")
        try:
            y = layer(x)
        except (TypeError, ValueError) as err:
            raise ValueError(f"layer {name} ({cls}) does not run on input shape "
                             f"{x.shape[1:]}: {err}") from None
        kind, attrs = _nn_node(layer, cls)
        if kind == "flatten" and y.ndim != 2:
            raise UnsupportedOperatorError(name, cls, NN_LAYERS,
                                           f"only a flatten to (N, -1), got {y.shape[1:]}")
        nodes.append(Node(name, kind, (previous,), (x.shape[1:],), y.shape[1:], attrs))
        x, previous = y, name
    return NetworkGraph(tuple(nodes), input_shape, (previous,), "convtheory")


def _conv_run_bytes(layer, x) -> int:
    """Bytes a convtheory.nn convolution's run on ``x`` holds at most, in float64.

    Its padding and its output channels grow even a small input without
    bound.  The run holds the input, its padded copy, the product and the
    output, and at most im2col's columns (``C_in * prod(kernel)`` rows, one
    column per output position) with their int64 gather indices, or the
    ``matrix`` backend's sparse matrix (its entries and indices, and their
    construction); measured with tracemalloc, it is an upper bound from a
    few hundred KiB on.
    """
    spec = layer.spec(x.shape[1:])
    padded = spec.in_channels * math.prod(Padder(spec).padded_spatial)
    columns = math.prod(spec.weight_shape[1:]) * spec.groups * math.prod(spec.output_shape[1:])
    if layer.backend == "matrix":  # the sparse matrix instead: one entry per tap and out channel
        columns *= 2 * spec.out_channels // spec.groups
    return 8 * (x.size + padded + 2 * math.prod(spec.output_shape)) + 16 * columns


def _nn_node(layer, cls):
    array = lambda p: None if p is None else np.asarray(p.data, dtype=np.float64).copy()  # noqa: E731
    if cls.startswith("Conv"):
        padding = resolve_padding(layer.padding, layer.kernel_size, stride=layer.stride,
                                  dilation=layer.dilation)
        return "conv", dict(weight=array(layer.weight), bias=array(layer.bias),
                            stride=tuple(layer.stride), padding=padding,
                            dilation=tuple(layer.dilation), groups=layer.groups,
                            padding_mode=layer.padding_mode)
    if cls.startswith(("MaxPool", "AvgPool")):
        attrs = dict(kernel_size=tuple(layer.kernel_size), stride=tuple(layer.stride),
                     padding=tuple(layer.padding), ceil_mode=False)
        if cls.startswith("MaxPool"):
            return "max_pool", dict(attrs, dilation=tuple(layer.dilation))
        return "avg_pool", dict(attrs, count_include_pad=True, divisor_override=None)
    if cls == "ReLU":
        return "activation", {"op": "relu", "lipschitz": 1.0}
    if cls == "Flatten":
        return "flatten", {}
    return "linear", dict(weight=array(layer.weight), bias=array(layer.bias))
