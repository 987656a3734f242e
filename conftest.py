"""Doctests see numpy as ``np`` and the public API, as a user after ``from convtheory import *``."""

import numpy as np
import pytest

import convtheory


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["np"] = np
    for name in convtheory.__all__:
        doctest_namespace[name] = getattr(convtheory, name)
