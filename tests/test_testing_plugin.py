"""The pytest plugin, run in a fresh pytest through pytester.

The project is not installed while its own tests run, so the plugin is
loaded with ``-p convtheory.testing.plugin``; once installed, the
``pytest11`` entry point in pyproject.toml loads it everywhere.
"""

import re
import tomllib
from pathlib import Path

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

FAILING = '''
import numpy as np
from scipy import ndimage
from convtheory.testing import assert_translation_equivariant, assert_is_convolution

W = np.arange(9.0).reshape(3, 3)

def test_seed_is_fixed(equivariance_seed):
    print("SEED", equivariance_seed)

def test_zero_padding(equivariance_seed):
    f = lambda x: ndimage.correlate(x, W, mode="constant")
    assert_translation_equivariant(f, (5, 6), [(0, 1)], seed=equivariance_seed)

def test_not_a_conv():
    assert_is_convolution(lambda x: ndimage.correlate(x, W, mode="nearest"), (5, 5), padding="same")

def test_plain_failure():
    assert 1 == 2
'''


def _seed(result):
    return int(re.search(r"SEED (\d+)", result.stdout.str()).group(1))


def test_reports_error_map_and_replay(pytester):
    pytester.makepyfile(test_layer=FAILING)
    result = pytester.runpytest("-p", "convtheory.testing.plugin", "-s")
    result.assert_outcomes(passed=1, failed=3)
    out = result.stdout.str()
    assert "convtheory: --equivariance-seed=0" in out                 # report header
    result.stdout.fnmatch_lines([
        "*- convtheory -*",
        "translation equivariance fails for shift (0, 1)*",
        "failing output positions*",
        "##...#",
        "replay: pytest 'test_layer.py::test_zero_padding' --equivariance-seed=0",
    ])
    result.stdout.fnmatch_lines(["*first breach: entry (0, 0)*"])       # the conv failure's section
    assert out.count("- convtheory -") == 2                             # none for the plain assert


def test_seed_fixture_is_reproducible_and_follows_the_option(pytester):
    pytester.makepyfile(test_layer=FAILING)
    args = ("-p", "convtheory.testing.plugin", "-s", "-k", "seed_is_fixed")
    first = _seed(pytester.runpytest(*args))
    again = _seed(pytester.runpytest(*args))
    other = _seed(pytester.runpytest(*args, "--equivariance-seed=7"))
    assert first == again and other == (first + 7) % 2**32


def test_without_the_plugin_the_fixture_is_missing(pytester):
    pytester.makepyfile(test_layer=FAILING)
    # -p no:convtheory blocks the entry point too, once convtheory is installed
    result = pytester.runpytest("-p", "no:convtheory", "-k", "seed_is_fixed")
    result.stdout.fnmatch_lines(["*fixture 'equivariance_seed' not found*"])


def test_entry_point_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"convtheory": "convtheory.testing.plugin"}
