"""The package's layering: no import cycle, whatever module is imported first.

An import cycle can hide behind the order of the imports in ``__init__.py``
(a module imports a sibling that is only half initialised, and it works until
someone reorders the imports).  Two tests make every cycle show:

* a static one: the graph of module-level imports, with the package
  ``__init__`` that each import runs, has no cycle;
* a dynamic one: in fresh interpreters, every module is imported first, with
  the top-level ``__init__`` bypassed so that its import order hides nothing,
  and the whole package is imported in several orders.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import random
import subprocess
import sys

import networkx as nx

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "convtheory"


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(name: str, nodes) -> list:
    """The absolute names that the import statements among ``nodes`` of module ``name`` load."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in MODULES else base)
        elif isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
    return targets


def _imported_anywhere(name: str) -> list:
    """What module ``name`` imports at module level or inside any function (lazily)."""
    return _imported(name, ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))))


def _import_graph() -> nx.DiGraph:
    """Edges ``a -> b``: executing module ``a`` executes module ``b`` first.

    Only module-level imports count (an import inside a function runs after
    every module is loaded).  Importing ``p.q.r`` also runs the ``__init__``
    of ``p.q`` unless the importer lives inside ``p.q`` (then that
    ``__init__`` is already running).
    """
    G = nx.DiGraph()
    for name, path in MODULES.items():
        G.add_node(name)
        for target in _imported(name, ast.parse(path.read_text(encoding="utf-8")).body):
            if target.split(".")[0] != "convtheory":
                continue
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                ancestor = ".".join(parts[:i])
                if ancestor != name and not name.startswith(ancestor + "."):
                    G.add_edge(name, ancestor)
    return G


def test_module_list_is_complete():
    # The dynamic test below walks this list: it must hold the views, the checks and the verdict.
    for name in ("convtheory", "convtheory.verdict", "convtheory.operators",
                 "convtheory.checks.adjoint", "convtheory.structure", "convtheory.nn.gradcheck"):
        assert name in MODULES


def test_import_graph_has_no_cycle():
    cycles = list(nx.simple_cycles(_import_graph()))
    assert cycles == [], f"import cycles: {cycles[:5]}"


def test_import_graph_finds_a_cycle():
    # The static test can fail: a back-edge from a view to the checks is a cycle.
    G = _import_graph()
    assert G.has_edge("convtheory.checks", "convtheory.checks.adaptivity")
    assert G.has_edge("convtheory.checks.adaptivity", "convtheory.operators")
    G.add_edge("convtheory.operators", "convtheory.checks")
    assert list(nx.simple_cycles(G))


def test_views_do_not_import_the_checks():
    # The ground floor (geometry, taps, verdict) and the views sit below the checks.
    below = ["convtheory.verdict", "convtheory.geometry", "convtheory.geometry_polyphase",
             "convtheory.taps", "convtheory.matrices",
             "convtheory.operators", "convtheory.im2col", "convtheory.flat_gather",
             "convtheory.graph",
             "convtheory.receptive_field", "convtheory.receptive_field_layers",
             "convtheory.receptive_field_closed", "convtheory.receptive_field_exact",
             "convtheory.structure", "convtheory.structure_breach", "convtheory.toeplitz",
             "convtheory.kernel_recovery", "convtheory.nn.gradcheck"]
    G = _import_graph()
    for name in below:
        reached = nx.descendants(G, name)
        assert not any(m == "convtheory.checks" or m.startswith("convtheory.checks.")
                       for m in reached), f"{name} imports the checks: {sorted(reached)}"


#: (lower, higher): no module of the lower package imports the higher one, not even lazily
#: inside a function, where the cycle tests above cannot see it.
NEVER_UPWARD = [
    ("convtheory.checks", "convtheory.nn"),
    ("convtheory.nn.train", "convtheory.nn.experiments"),
]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_no_import_runs_back_up_even_inside_a_function():
    for lower, higher in NEVER_UPWARD:
        for name in [m for m in MODULES if _within(m, lower)]:
            upward = [t for t in _imported_anywhere(name) if _within(t, higher)]
            assert not upward, f"{name} imports {upward} from above it"


def test_the_lazy_import_scan_sees_imports_inside_functions():
    # The back-edge that checks.aliasing had: an import of the layers inside a function, which
    # the module-level graph does not see and the scan of every statement does.
    lazy = ast.parse("def _pools():\n    from ..nn import functional_pooling as FP\n")
    assert _imported("convtheory.checks.aliasing", lazy.body) == []
    assert _imported("convtheory.checks.aliasing", ast.walk(lazy)) == [
        "convtheory.nn.functional_pooling"]


_EACH_FIRST = r"""
import importlib, json, os, sys, types
failures = []
root = sys.argv[2]


def bare_package():
    # The top-level package without its __init__ having run: the first module's own imports
    # decide what runs.  A name taken from the package (``from convtheory import X``, as the
    # proofs do) runs the __init__ then, as late as possible.
    stub = types.ModuleType("convtheory")
    stub.__path__ = [root]
    stub.__spec__ = importlib.machinery.ModuleSpec("convtheory", None, is_package=True)
    stub.__spec__.submodule_search_locations = stub.__path__

    def late_init(attr):
        if attr.startswith("__") or os.path.exists(os.path.join(root, attr)) or \
                os.path.exists(os.path.join(root, attr + ".py")) or "_ran" in stub.__dict__:
            raise AttributeError(attr)
        stub._ran = True
        path = os.path.join(root, "__init__.py")
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), stub.__dict__)
        return getattr(stub, attr)

    stub.__getattr__ = late_init
    return stub


for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("convtheory", "proofs")]:
        del sys.modules[loaded]
    if name != "convtheory":
        sys.modules["convtheory"] = bare_package()
    try:
        importlib.import_module(name)
    except Exception as err:
        failures.append(f"{name}: {type(err).__name__}: {err}")
print(json.dumps(failures))
"""

_IN_ORDER = r"""
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps([]))
"""


def _run(script: str, names: list, *extra) -> list:
    result = subprocess.run([sys.executable, "-c", script, json.dumps(names), *extra],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_module_imports_first():
    assert _run(_EACH_FIRST, sorted(MODULES), str(PACKAGE)) == []


def test_each_first_finds_a_back_edge(tmp_path):
    # The dynamic test can fail: a copy of the package in which a view imports the checks at
    # module level, while a check imports that view, does not import with the view first.
    copy = tmp_path / "convtheory"
    copy.mkdir()
    (copy / "__init__.py").write_text("from . import checks, view\n")
    (copy / "view.py").write_text("from .checks import verdict\n\ndef build():\n    return 1\n")
    (copy / "checks").mkdir()
    (copy / "checks" / "__init__.py").write_text("from .claim import claim\n")
    (copy / "checks" / "claim.py").write_text("from ..view import build\n\ndef claim():\n"
                                              "    return build()\n")
    (copy / "checks" / "verdict.py").write_text("VERDICT = 1\n")
    result = subprocess.run(
        [sys.executable, "-c", _EACH_FIRST, json.dumps(["convtheory", "convtheory.view"]),
         str(copy)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(tmp_path)})
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    # Through the package __init__ the cycle hides; imported first, the view fails.
    assert [f.split(":")[0] for f in failures] == ["convtheory.view"]


def test_whole_package_imports_in_several_orders():
    names = sorted(MODULES)
    shuffled = list(names)
    random.Random(20261129).shuffle(shuffled)
    for order in (names[::-1], shuffled):
        assert _run(_IN_ORDER, order) == []


def test_the_version_is_one_string_in_pyproject_and_the_package():
    import re

    import convtheory
    from convtheory._version import __version__

    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.search(r'^version\s*=\s*"([^"]+)"', text, flags=re.MULTILINE)
    assert declared is not None, "pyproject.toml declares no version"
    assert convtheory.__version__ == __version__ == declared.group(1)



#: (where a name was defined, where it is defined now, names): a split module re-exports what it
#: held, so that every import path that users and the other modules wrote keeps working.
MOVED = [
    ("convtheory.structure", "convtheory.structure_breach", ["BREACH_REASONS", "StructureBreach"]),
    ("convtheory.structure", "convtheory.toeplitz", ["is_circulant", "is_toeplitz"]),
    ("convtheory.structure", "convtheory.kernel_recovery", ["KernelRecovery", "recover_kernel"]),
    ("convtheory.testing.equivariance", "convtheory.testing.error_map",
     ["DEFAULT_MAX_BYTES", "EquivarianceShapeError", "equivariance_error", "estimate_bytes"]),
    ("convtheory.testing.equivariance", "convtheory.testing.receptive_fields",
     ["DEFAULT_MAX_CALLS", "receptive_field_map"]),
    ("convtheory.testing", "convtheory.testing.error_map", ["equivariance_error"]),
    ("convtheory.testing", "convtheory.testing.receptive_fields", ["receptive_field_map"]),
    ("convtheory.geometry", "convtheory.geometry_polyphase", ["polyphase_grids", "polyphase_split"]),
]

#: The public names (``__all__``) of the split modules before the split: ``import *`` is unchanged.
PUBLIC = {
    "convtheory.structure": ["BREACH_REASONS", "KernelRecovery", "StructureBreach",
                             "is_circulant", "is_toeplitz", "recover_kernel"],
    "convtheory.testing.equivariance": [
        "ReceptiveFieldMap", "assert_invariant", "assert_rotation_equivariant",
        "assert_translation_equivariant", "equivariance_error", "estimate_bytes",
        "receptive_field_map"],
    "convtheory.geometry": ["MAX_AXIS_TAPS", "MAX_INT", "PADDING_MODES", "PADDING_STRINGS",
                            "INPUT_DEPENDENT_PADDING", "axis_taps", "kernel_extent",
                            "output_shape", "polyphase_grids", "polyphase_split", "padding_form",
                            "resolve_padding"],
    "convtheory.cli": ["main"],
}


def test_split_modules_keep_their_import_paths():
    import importlib

    for old, new, names in MOVED:
        before, after = importlib.import_module(old), importlib.import_module(new)
        for name in names:
            assert getattr(before, name) is getattr(after, name), f"{old}.{name} is not {new}.{name}"


def test_split_modules_keep_their_public_names():
    import importlib

    for name, public in PUBLIC.items():
        module = importlib.import_module(name)
        assert sorted(module.__all__) == sorted(public), name
        assert all(getattr(module, n, None) is not None for n in public), name


def test_the_console_script_and_python_m_share_main():
    from convtheory import __main__, cli

    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'convtheory = "convtheory.cli:main"' in text
    assert __main__.main is cli.main
