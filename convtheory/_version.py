"""The package's version, in a module of its own so that any layer can read it.

``pyproject.toml`` carries the same string; ``tests/test_imports.py`` keeps the two equal.
"""

__version__ = "0.1.0"
