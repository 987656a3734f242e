"""Scope and evidence for people: "3×3 kernel on a 12×12 input, zero padding 1".

The checks write their scope with Python's reprs (``weight (1, 1, 3, 3),
input (1, 12, 12), padding=((1, 1), (1, 1))``), exact and greppable; the JSON
keeps that text and every evidence value whole.  The Markdown and HTML pages
are read by people on a screen, so they show the same facts in words: shapes
as ``3×3``, a single channel left out, padding as its mode and width, and
evidence without the entries that hold nothing (``None``).
"""

from __future__ import annotations

import ast
import re

from ..verdict import jsonable

__all__ = ["evidence_text", "scope_text", "value_text"]

_INTS = r"\(\s*-?\d+\s*(?:,\s*-?\d+\s*)*,?\s*\)"
_GEOMETRY = re.compile(
    r"weight (?P<weight>%s), input (?P<input>%s)(?P<options>(?:, (?:stride|padding|dilation|groups"
    r"|padding_mode|flip)=(?:\(\([^;]*?\)\)|\([^()]*\)|'[a-z]+'|\w+))*)" % (_INTS, _INTS))
_OPTION = re.compile(r"(stride|padding|dilation|groups|padding_mode|flip)="
                     r"(\(\([^;]*?\)\)|\([^()]*\)|'[a-z]+'|\w+)")
_DICT = re.compile(r"\{'[a-z_]+': [^{}]*\}")
# A tuple that names a shape (after "kernel", "input", "shape", ...) reads as 3×3; others,
# such as an entry's index, stay tuples.
_SHAPE_TUPLE = re.compile(r"\b(kernel|weight|input|shape|on|of) (%s)" % _INTS)
_MODE_WORD = {"zeros": "zero", "circular": "circular", "reflect": "reflect",
              "replicate": "replicate", "symmetric": "symmetric"}


def _shape(values) -> str:
    return "×".join(str(v) for v in values)


def _geometry(match) -> str:
    weight = ast.literal_eval(match["weight"])
    shape = ast.literal_eval(match["input"])
    options = {k: ast.literal_eval(v) for k, v in _OPTION.findall(match["options"] or "")}
    spatial = len(shape) - 1
    kernel = weight[-spatial:]
    channels = weight[:-spatial]
    text = f"{_shape(kernel)} kernel" if tuple(channels) in ((1, 1), ()) else \
        f"{_shape(weight)} kernel (C_out×C_in×k)"
    text += f" on a {_shape(shape[1:] if shape[0] == 1 else shape)} input"
    padding = options.get("padding")
    mode = _MODE_WORD.get(options.get("padding_mode", "zeros"), options.get("padding_mode"))
    if padding:
        widths = {w for pair in padding for w in pair}
        width = str(widths.pop()) if len(widths) == 1 else \
            ", ".join(f"{lo}/{hi}" for lo, hi in padding) + " (low/high per axis)"
        text += f", {mode} padding {width}"
    else:
        text += ", no padding"
    for name, word in (("stride", "stride"), ("dilation", "dilation")):
        if name in options:
            values = set(options[name])
            text += f", {word} {values.pop() if len(values) == 1 else _shape(options[name])}"
    if "groups" in options:
        text += f", {options['groups']} groups"
    if options.get("flip"):
        text += ", flipped kernel (true convolution)"
    return text


def _options(match) -> str:
    try:
        options = ast.literal_eval(match.group(0))
    except (ValueError, SyntaxError):
        return match.group(0)
    return ", ".join(f"{k.replace('_', ' ')} {value_text(v)}" for k, v in options.items())


def scope_text(scope) -> str:
    """A verdict's scope in words.

    Examples
    --------
    >>> scope_text("weight (1, 1, 3, 3), input (1, 12, 12), padding=((1, 1), (1, 1)); every input")
    '3×3 kernel on a 12×12 input, zero padding 1; every input'
    >>> scope_text("weight (4, 3, 3, 3), input (3, 8, 8), stride=(2, 2), padding=((1, 1), (1, 1)), "
    ...            "padding_mode='circular'")
    '4×3×3×3 kernel (C_out×C_in×k) on a 3×8×8 input, circular padding 1, stride 2'
    >>> scope_text("kernel (3, 3) on (6, 7), {'stride': 2, 'padding': 1}")
    'kernel 3×3 on 6×7, stride 2, padding 1'
    """
    text = _GEOMETRY.sub(_geometry, str(scope))
    text = _DICT.sub(_options, text)
    text = _SHAPE_TUPLE.sub(lambda m: f"{m.group(1)} {_shape(ast.literal_eval(m.group(2)))}", text)
    return re.sub(r"\ba (?=(8|11|18)\d*\b|8)", "an ", text)


#: Evidence lists longer than this show their length (the JSON keeps them whole).
_MAX_LISTED = 12


def _count(value) -> int:
    return sum(_count(v) for v in value) if isinstance(value, (list, tuple)) else 1


def value_text(value) -> str:
    """One evidence value in words: floats to 3 digits, lists and dicts without brackets' clutter.

    Examples
    --------
    >>> value_text({"circular": 1.5e-16, "zeros": 0.0})
    'circular 1.5e-16, zeros 0'
    >>> value_text([[1, 1], [2, 3]])
    '((1, 1), (2, 3))'
    >>> value_text(list(range(20)))
    '20 values (see verification.json)'
    """
    value = jsonable(value)
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "-"}[value]
    if isinstance(value, float):
        return "0" if value == 0 else f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{scope_text(k.replace('_', ' '))} {value_text(v)}"
                         for k, v in value.items())
    if isinstance(value, list):
        if not value:
            return "none"
        if _count(value) > _MAX_LISTED:
            return f"{len(value)} values (see verification.json)"
        return "(" + ", ".join(value_text(v) for v in value) + ")"
    return scope_text(str(value))


def evidence_text(evidence) -> str:
    """A verdict's evidence in words; entries that hold nothing (None) are left out.

    Examples
    --------
    >>> evidence_text({"max_error": 0.0, "tolerance": 1e-12, "counterexample": None})
    'max error 0, tolerance 1e-12'
    >>> evidence_text({"errors": list(range(40))})
    'errors: 40 values (see verification.json)'
    """
    parts = []
    for key, value in jsonable(evidence or {}).items():
        if value is None:
            continue
        name = key.replace("_", " ")
        if isinstance(value, dict) and _count(list(value.values())) > _MAX_LISTED:
            parts.append(f"{name}: {len(value)} values (see verification.json)")
        elif isinstance(value, list) and _count(value) > _MAX_LISTED:
            parts.append(f"{name}: {len(value)} values (see verification.json)")
        else:
            parts.append(f"{name} {value_text(value)}")
    return ", ".join(parts)
