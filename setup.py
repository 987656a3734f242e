"""Packages for setuptools: ``convtheory`` and its subpackages, and ``proofs/`` as ``convtheory.proofs``.

The project's metadata is in pyproject.toml.  The theorems stay in the
repository's top-level ``proofs/`` folder but are installed inside the
``convtheory`` namespace, so an install adds no generic top-level ``proofs``
package to a user's environment.  ``packages`` is found here rather than
listed in pyproject.toml because the found subpackages and the mapped one
cannot be combined there.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["convtheory", "convtheory.*"]) + ["convtheory.proofs"],
    package_dir={"convtheory.proofs": "proofs"},
)
