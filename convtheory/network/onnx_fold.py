"""Constant shape arithmetic of an ONNX model, evaluated before it is read.

Exporters compute some operators' inputs, a ``Pad``'s pads for instance, by
small subgraphs of constants (``Concat``, ``Reshape``, ``Slice``, ``Cast``,
...), which ONNX shape inference cannot see through.  :func:`fold_constants`
evaluates such nodes with ONNX's reference implementation
(``onnx.reference.ReferenceEvaluator``) in the model's own opsets, and
replaces them by initializers of their outputs.  Only the operators of
:data:`_FOLDED` are evaluated, in the forms whose semantics the reference
follows in every opset; anything else stays for the reader to translate or
refuse by name.  Each folded output is weighed against ``max_bytes`` before
it is made.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..matrices import DEFAULT_MAX_BYTES
from ..validation import check_budget

__all__ = ["fold_constants"]

#: Operators of shape arithmetic that capture evaluates when their inputs are constants, with
#: the fewest inputs of the form whose semantics the reference implementation follows in
#: every opset (Slice's and Reshape's older forms took attributes; Squeeze and Unsqueeze
#: are left out: the reference ignores their older ``axes`` attribute).
_FOLDED = {"ConstantOfShape": 1, "Concat": 1, "Reshape": 2, "Cast": 1, "Transpose": 1,
           "Slice": 3, "Gather": 2, "Add": 2, "Sub": 2, "Mul": 2, "Div": 2, "Neg": 1,
           "Range": 3, "Identity": 1, "Shape": 1}
#: The opset from which a folded operator has only the form the reference implements: before
#: opset 7, Add/Sub/Mul/Div broadcast B from an ``axis`` attribute, which the reference ignores.
_FOLDED_SINCE = {"Add": 7, "Sub": 7, "Mul": 7, "Div": 7}


def _folded_size(node, values):
    """An upper bound on the number of values a folded ``node`` makes from ``values``."""
    op, size = node.op_type, sum(int(np.size(v)) for v in values)
    try:
        if op == "ConstantOfShape":
            return int(np.prod(values[0], dtype=object))
        if op == "Range":
            start, limit, delta = (float(np.ravel(v)[0]) for v in values[:3])
            return max(int(np.ceil((limit - start) / delta)), 0) if delta else 0
        if op in ("Add", "Sub", "Mul", "Div"):
            return int(np.prod(np.broadcast_shapes(*(np.shape(v) for v in values)),
                               dtype=object))
        if op == "Gather":
            data, indices = values[:2]
            axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
            return int(np.size(indices)) * int(np.size(data)) // max(
                int(np.shape(data)[axis]), 1)
    except (ValueError, IndexError, OverflowError, ZeroDivisionError):
        return 0  # the reference raises too, and the node is left to be refused by name
    return size  # the others rearrange or convert their inputs' values


def fold_constants(model, max_bytes: int = DEFAULT_MAX_BYTES):
    """``model`` with every node of :data:`_FOLDED` whose inputs are all constants evaluated
    (ONNX's reference implementation) and replaced by initializers of its outputs, so that
    shape inference sees, say, a ``Pad``'s pads as numbers.  Each output is estimated at 8
    bytes a value and checked against ``max_bytes`` before it is made."""
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator
    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    # The model's own opsets: an operator's inputs and attributes change between them.
    opsets = {imp.domain: imp.version for imp in model.opset_import}
    kept, folded = [], {}
    for i, node in enumerate(model.graph.node):
        label = node.name or f"{node.op_type}_{i}"  # as onnx_capture labels it
        inputs = [t for t in node.input if t]
        if node.op_type == "Constant" or (node.op_type in _FOLDED and len(inputs) >= _FOLDED[
                node.op_type] and all(t in consts for t in inputs) and opsets.get(
                node.domain or "", 1) >= _FOLDED_SINCE.get(node.op_type, 1)):
            if node.op_type != "Constant":
                check_budget(8 * _folded_size(node, [consts[t] for t in inputs]), max_bytes,
                             f"evaluating the constant node {label!r} ({node.op_type})",
                             "pass a larger max_bytes")
            try:
                # The same fold whatever the caller's warning filters (a NaN cast to an
                # integer warns in numpy): as the runtime would, without a word.
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    outputs = ReferenceEvaluator(node, opsets=opsets).run(
                        None, {t: consts[t] for t in inputs})
            except Exception:  # an op the reference cannot evaluate: the reader names it
                outputs = None
            if outputs is not None:
                consts.update(zip(node.output, outputs))
                if node.op_type != "Constant":  # the reader reads Constant nodes itself
                    folded.update(zip(node.output, outputs))
                    continue
        kept.append((label, node))
    if not folded:
        return model
    used = {t for _, node in kept for t in node.input} | {o.name for o in model.graph.output}
    model = type(model).FromString(model.SerializeToString())
    del model.graph.node[:]
    model.graph.node.extend(node for _, node in kept)
    for (label, _), node in zip(kept, model.graph.node):  # unnamed nodes keep their labels
        node.name = label
    model.graph.initializer.extend(numpy_helper.from_array(np.asarray(v), name)
                                   for name, v in folded.items() if name in used)
    return model
