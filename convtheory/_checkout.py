"""``convtheory.proofs`` when convtheory runs from a source checkout.

The theorems live in the repository's top-level ``proofs/`` folder.  An
install (``pip install .`` or ``pip install -e .``) maps that folder to
``convtheory.proofs`` through setuptools' ``package_dir`` (see ``setup.py``),
so it never lands in site-packages as a generic top-level ``proofs``.  Run
from a checkout without that install (``PYTHONPATH=.``), nothing did the
mapping; this finder does the same for that one name, and only when the folder
sits beside the package together with the project's ``pyproject.toml``.  It is
appended to ``sys.meta_path``, so an installed ``convtheory.proofs`` wins.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

__all__ = ["install_proofs_finder"]

_ROOT = Path(__file__).resolve().parent.parent
_FOLDER = _ROOT / "proofs"
_NAME = "convtheory.proofs"


class ProofsFinder:
    """A meta path finder that resolves exactly ``convtheory.proofs`` to ``<checkout>/proofs``."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname != _NAME:
            return None
        return importlib.util.spec_from_file_location(
            fullname, _FOLDER / "__init__.py", submodule_search_locations=[str(_FOLDER)])


def install_proofs_finder() -> bool:
    """Append :class:`ProofsFinder` to ``sys.meta_path`` in a checkout; True if it is there.

    Examples
    --------
    >>> import importlib
    >>> importlib.import_module("convtheory.proofs").THEOREMS[0]
    'shift_circulant'
    """
    if not ((_FOLDER / "__init__.py").is_file() and (_ROOT / "pyproject.toml").is_file()):
        return False
    if not any(getattr(f, "__name__", "") == "ProofsFinder" for f in sys.meta_path):
        sys.meta_path.append(ProofsFinder)
    return True
