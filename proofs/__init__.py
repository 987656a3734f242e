"""Proofs of the theorems behind the seed's claims; each module's ``prove()`` returns a Certificate.

The folder sits at the top of the repository and is installed as
``convtheory.proofs``.  Run them all with ``python -m convtheory.proofs`` or
``convtheory prove`` (from a checkout, ``python -m proofs`` too), which write
``reports/certificates.json``, or call :func:`prove_all`.  A sympy identity verified for n = 2..8 is a proof for
those n only; each certificate says which sizes it covers, and its
``argument`` gives the index-algebra proof for all n and the steps checked.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

__all__ = ["THEOREMS", "certificate_line", "prove_all", "write_certificates"]

#: The proof modules, in reading order.
THEOREMS = (
    "shift_circulant",
    "dft_diagonalises",
    "composition",
    "adjoint",
    "multichannel",
    "dense_projection",
)


def prove_all(names=THEOREMS) -> list:
    """Run each proof module's ``prove()`` at its default sizes.

    Examples
    --------
    >>> [c.theorem for c in prove_all(["multichannel"])]
    ['multichannel_block_matrix']
    """
    unknown = [n for n in names if n not in THEOREMS]
    if unknown:
        raise ValueError(f"unknown theorems {unknown}; allowed: {list(THEOREMS)}")
    return [importlib.import_module(f"{__name__}.{name}").prove() for name in names]


def certificate_line(certificate, width: int = 0) -> str:
    """One line for a certificate: ``HOLDS``/``FAILS`` (the word every verdict uses), name, time, scope.

    Examples
    --------
    >>> from convtheory import Certificate
    >>> certificate_line(Certificate("t", "s", (), "n = 2..8", "symbolic", True, seconds=0.5))
    'HOLDS  t    0.50 s  [symbolic; n = 2..8]'
    """
    word = "HOLDS" if certificate else "FAILS"
    return (f"{word}  {certificate.theorem:<{width}}  {certificate.seconds:6.2f} s  "
            f"[{certificate.method}; {certificate.sizes}]")


def write_certificates(certificates, path="reports/certificates.json") -> Path:
    """Write certificates as a JSON list; returns the path.

    Examples
    --------
    >>> import tempfile, json
    >>> from convtheory import Certificate
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_certificates([Certificate("t", "s", (), "n = 1", "symbolic", True)], d + "/c.json")
    ...     json.loads(p.read_text())[0]["holds"]
    True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([c.to_dict() for c in certificates], indent=2) + "\n")
    return path
