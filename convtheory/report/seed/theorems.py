"""Section "theorems": the certificates of the ``proofs`` package, one claim per theorem.

Each module of ``proofs`` has ``prove()`` returning a
:class:`~convtheory.Certificate`; the claims are made from the modules found,
in name order, so a new proof appears in the report without touching this
file.  Where ``proofs`` is not importable the section is one claim that is
reported as not available.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..claims import Claim

__all__ = ["CLAIMS"]


def _prover(module_name):
    def check(ctx):
        return importlib.import_module(module_name).prove()
    return check


def _claims() -> list[Claim]:
    try:
        proofs = importlib.import_module("proofs")
    except ImportError:
        return [Claim("theorems.proofs", "theorems",
                      "The proofs package certifies the theorems behind the claims.", True,
                      None, requires=("proofs",))]
    claims = []
    for info in sorted(pkgutil.iter_modules(proofs.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        name = f"proofs.{info.name}"
        module = importlib.import_module(name)
        if not hasattr(module, "prove"):
            continue
        first = (module.__doc__ or info.name).strip().splitlines()[0]
        claims.append(Claim(f"theorems.{info.name}", "theorems", first, True, _prover(name)))
    return claims


CLAIMS = _claims()
