"""Section "theorems": the certificates of ``convtheory.proofs``, one claim per theorem.

``convtheory.proofs.THEOREMS`` (the repository's ``proofs/`` folder) lists
the proof modules in reading order; each has
``prove()`` returning a :class:`~convtheory.Certificate`, which the report
shows as a verdict and keeps whole in ``verification.json``.  A new proof
appears in the report without touching this file.  Where ``proofs`` is not
importable the section is one claim, reported as not available.
"""

from __future__ import annotations

import importlib

from ..claims import Claim

__all__ = ["CLAIMS"]

_PACKAGE = "convtheory.proofs"


def _prover(module_name):
    def check(ctx):
        return importlib.import_module(module_name).prove()
    return check


def _claims() -> list[Claim]:
    try:
        proofs = importlib.import_module(_PACKAGE)
    except ImportError:
        return [Claim("theorems.proofs", "theorems",
                      "The proofs package certifies the theorems behind the claims.", True,
                      None, requires=(f"{_PACKAGE}:THEOREMS",))]
    claims = []
    for name in proofs.THEOREMS:
        module = importlib.import_module(f"{_PACKAGE}.{name}")
        first = (module.__doc__ or name).strip().split("\n\n")[0]
        statement = " ".join(first.split()).replace("``", "")
        claims.append(Claim(f"theorems.{name}", "theorems", statement, True,
                            _prover(f"{_PACKAGE}.{name}")))
    return claims


CLAIMS = _claims()
