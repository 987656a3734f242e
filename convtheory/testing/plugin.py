"""pytest plugin: error maps in failure reports, and a reproducible seed fixture.

Registered through the ``pytest11`` entry point, so it is active wherever
convtheory is installed; without installing, load it with
``pytest -p convtheory.testing.plugin``.  The entry point is named after the
module, so that ``-p convtheory.testing.plugin`` is harmless once installed
and ``-p no:convtheory.testing.plugin`` turns the plugin off either way.

* A failing :mod:`convtheory.testing` assertion gets a ``convtheory``
  section in its report: the message, the failing output positions drawn as
  a map, and the command that replays it.
* The ``equivariance_seed`` fixture gives each test its own fixed seed (the
  base seed, ``--equivariance-seed``, mixed with the test id): pass it as
  ``seed=`` and a failure replays exactly.

Loading the plugin imports :mod:`convtheory` (numpy, scipy, sympy): about
half a second at pytest start-up.
"""

from __future__ import annotations

import zlib

import pytest

from .failures import ConvtheoryAssertionError

__all__ = ["equivariance_seed"]


def pytest_addoption(parser):
    group = parser.getgroup("convtheory")
    group.addoption("--equivariance-seed", type=int, default=0, metavar="SEED",
                    help="base seed of the equivariance_seed fixture (default 0)")


def _base_seed(config) -> int:
    return int(config.getoption("--equivariance-seed", default=0) or 0)


def pytest_report_header(config):
    return f"convtheory: --equivariance-seed={_base_seed(config)}"


def _seed_for(nodeid: str, base: int = 0) -> int:
    """The fixture's seed: the base seed plus a CRC of the test id, modulo ``2**32``.

    Examples
    --------
    >>> _seed_for("tests/test_layer.py::test_shift") == _seed_for("tests/test_layer.py::test_shift")
    True
    >>> _seed_for("t.py::a", base=1) - _seed_for("t.py::a") in (1, 1 - 2**32)
    True
    """
    return (base + zlib.crc32(nodeid.encode())) % 2**32


@pytest.fixture
def equivariance_seed(request) -> int:
    """A seed for :mod:`convtheory.testing` assertions, fixed per test and base seed.

    The same test gets the same seed on every run (so a failure replays);
    different tests get different seeds; ``--equivariance-seed=N`` moves
    every test to new inputs at once.

    Examples
    --------
    In a test module (the plugin is active once convtheory is installed)::

        from convtheory.testing import assert_translation_equivariant

        def test_my_layer_commutes_with_shifts(equivariance_seed):
            assert_translation_equivariant(my_layer, (16, 16), seed=equivariance_seed)

    The seed is ``_seed_for(request.node.nodeid, base)`` (see its examples).
    """
    return _seed_for(request.node.nodeid, _base_seed(request.config))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, ConvtheoryAssertionError):
        replay = f"replay: pytest {item.nodeid!r} --equivariance-seed={_base_seed(item.config)}"
        report.sections.append(("convtheory", f"{error.report()}\n\n{replay}"))
    return report
