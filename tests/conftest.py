"""Shared fixtures.  PyTorch is a test reference only, never a runtime dependency."""

import os
import tracemalloc
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np
import pytest

try:
    import torch
except ImportError:  # pragma: no cover - CI always has torch
    torch = None
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI must run the PyTorch reference tests, but torch is not importable; "
            "install torch==2.13.0 (see .ci/run)"
        ) from None


@pytest.fixture
def rng():
    return np.random.default_rng(283592436523456)


requires_torch = pytest.mark.skipif(torch is None, reason="torch is not importable")

# The reference for spectral norms: the dense SVD of conv_matrix.  It is itself
# rounded, so a proven bound may sit a few ulps on the wrong side of it, never more.
ROUNDING = 1e-12


def dense_norm(w, shape, **conv):
    """The largest singular value of ``conv_matrix(w, shape, **conv)`` by numpy's dense SVD."""
    from convtheory import conv_matrix
    return np.linalg.svd(conv_matrix(w, shape, **conv).toarray(), compute_uv=False)[0]


@contextmanager
def traced_peak():
    """tracemalloc around the block; ``.bytes`` is its peak, read before tracing stops.

    numpy reports its arrays to tracemalloc, so this is the peak of what the block
    allocated (the estimates it is compared with are upper bounds of it).
    """
    peak = SimpleNamespace(bytes=None)
    tracemalloc.start()
    try:
        yield peak
        peak.bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked ``torch`` where torch is not importable, and only those."""
    if torch is not None:
        return
    skip = pytest.mark.skip(reason="compares against torch, which is not importable")
    for item in items:
        if item.get_closest_marker("torch") is not None:
            item.add_marker(skip)
