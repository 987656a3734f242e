"""Conv index arithmetic lives only in the geometry core.

Every view reads the tap tables of :mod:`convtheory.geometry`; if a second
module computed ``o*stride + a*dilation - pad`` or an output length, the views
could disagree at the border.  This test parses every module of the package
(and ``proofs/``) and fails on stride, dilation or padding index arithmetic
outside the core, except in the independent oracles of the allow-list, which
derive the same numbers another way on purpose so that they can check the core.

What counts as index arithmetic (an arithmetic expression, taken whole):

* a product with a stride or dilation in an expression that also involves
  padding (``o*stride + a*dilation - pad``);
* a floor division by a stride (output lengths, ``(n + lo + hi - e) // s + 1``);
* a product with a stride or dilation together with a subtraction (the dilated
  extent ``d*(k-1) + 1``, ``(o-1)*s + ...``).

Names are matched by what they say (``stride``, ``dilation``, ``pad``, ``lo``,
``hi``); counts such as ``len(strides)`` are not arithmetic on indices.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
#: The geometry core: the tap tables and lengths (geometry.py), the polyphase split of a strided
#: axis (geometry_polyphase.py, re-exported by geometry.py), and the specs that bind them.
CORE = {"convtheory/geometry.py", "convtheory/geometry_polyphase.py", "convtheory/spec.py",
        "convtheory/transposed_spec.py", "convtheory/pool_spec.py"}

#: (module, function): an independent oracle, and why it may do the arithmetic itself.
ALLOWED = {
    ("convtheory/checks/sparsity.py", "nnz_formula"):
        "the symbolic nnz formula, checked against the tap tables",
    ("convtheory/receptive_field_closed.py", "_compose"):
        "the receptive-field closed form (Araujo et al.), checked against exact ancestry",
    ("convtheory/receptive_field_exact.py", "_exact"):
        "the receptive-field closed form's advice on the input size for the exact method",
    ("proofs/adjoint.py", "transposed_conv_matrix"):
        "the adjoint proof builds the transposed conv independently of the taps",
}

STRIDE = re.compile(r"stride|dilation|dilate|^dil$")
PAD = re.compile(r"pad|^lo$|^hi$")


def _identifiers(node):
    """Names and attribute names in ``node``, skipping ``len(...)`` (a count, not an index)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return
    if isinstance(node, ast.Name):
        yield node.id.lower()
    elif isinstance(node, ast.Attribute):
        yield node.attr.lower()
    for child in ast.iter_child_nodes(node):
        yield from _identifiers(child)


def _mentions(node, pattern) -> bool:
    return any(pattern.search(name) for name in _identifiers(node))


def _binops(node):
    return [n for n in ast.walk(node) if isinstance(n, ast.BinOp)]


def index_arithmetic(source: str):
    """``(line, function, reason, text)`` for every suspect arithmetic expression."""
    tree = ast.parse(source)
    parent, function = {}, {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parent[child] = node
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                function.setdefault(inner, node.name)  # ast.walk is outer-first: outermost wins
    found = []
    for node in _binops(tree):
        if isinstance(parent.get(node), ast.BinOp):
            continue  # judge whole expressions
        ops = _binops(node)
        scaled = [m for m in ops if isinstance(m.op, ast.Mult)
                  and (_mentions(m.left, STRIDE) or _mentions(m.right, STRIDE))]
        divided = [m for m in ops if isinstance(m.op, ast.FloorDiv) and _mentions(m.right, STRIDE)]
        if scaled and _mentions(node, PAD):
            reason = "a stride/dilation product combined with padding"
        elif divided:
            reason = "a floor division by the stride (an output length)"
        elif scaled and any(isinstance(m.op, ast.Sub) for m in ops):
            reason = "a stride/dilation product with a subtraction (an extent or a length)"
        else:
            continue
        found.append((node.lineno, function.get(node), reason, ast.unparse(node)))
    return found


def _modules():
    return sorted(str(p.relative_to(ROOT)) for folder in ("convtheory", "proofs")
                  for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("module", [m for m in _modules() if m not in CORE])
def test_no_index_arithmetic_outside_the_core(module):
    hits = [(line, fn, reason, text) for line, fn, reason, text
            in index_arithmetic((ROOT / module).read_text()) if (module, fn) not in ALLOWED]
    assert not hits, "\n".join(
        f"{module}:{line} in {fn}(): {reason}: {text}\n  read it from convtheory.geometry "
        f"(axis_taps, output_shape, resolve_padding, kernel_extent) or ConvGeometry instead"
        for line, fn, reason, text in hits)


def test_the_allow_list_is_current():
    # Every entry names a function that exists, so the list cannot silently go stale.
    for module, fn in ALLOWED:
        tree = ast.parse((ROOT / module).read_text())
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert fn in names, f"{module} has no function {fn}: update ALLOWED"


@pytest.mark.parametrize("snippet", [
    "def f(o, a, stride, dilation, pad):\n    return o * stride + a * dilation - pad\n",
    "def f(n, lo, hi, extent, stride):\n    return (n + lo + hi - extent) // stride + 1\n",
    "def f(spec, k):\n    return spec.dilation[0] * (k - 1) + 1\n",
    "def f(t, s, spec):\n    q = t * spec.stride[0] - spec.padding[0][0]\n    return q\n",
])
def test_the_detector_fails_on_index_arithmetic(snippet):
    assert index_arithmetic(snippet)


@pytest.mark.parametrize("snippet", [
    "def f(sizes, strides):\n    return len(sizes) * len(strides) - 1\n",
    "def f(x, y):\n    return x * y - 2\n",
])
def test_the_detector_passes_plain_arithmetic(snippet):
    assert not index_arithmetic(snippet)


def test_the_core_itself_is_detected():
    # The core does exactly this arithmetic; the detector must see it there.
    hits = index_arithmetic((ROOT / "convtheory/geometry.py").read_text())
    assert {reason for _, _, reason, _ in hits} == {
        "a stride/dilation product combined with padding",
        "a floor division by the stride (an output length)",
        "a stride/dilation product with a subtraction (an extent or a length)",
    }
    assert {fn for _, fn, _, _ in hits} >= {"axis_taps", "_output_length"}


def test_the_readme_states_the_rule():
    readme = (ROOT / "README.md").read_text()
    assert "No view\ncomputes `o*stride + a*dilation - pad`" in readme
    assert "No other module" not in readme
