"""The pytest plugin, run in a fresh pytest through pytester.

The project is not installed while its own tests run, so the plugin is
loaded with ``-p convtheory.testing.plugin``; once installed, the
``pytest11`` entry point in pyproject.toml loads it everywhere.
"""

import os
import re
import subprocess
import sys
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
    # blocks the entry point too, once convtheory is installed
    result = pytester.runpytest("-p", "no:convtheory.testing.plugin", "-k", "seed_is_fixed")
    result.stdout.fnmatch_lines(["*fixture 'equivariance_seed' not found*"])


def test_entry_point_loads_the_plugin(tmp_path):
    """What `pip install` does for the plugin: a dist-info with the pyproject's entry point."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entry = project["entry-points"]["pytest11"]
    assert entry == {"convtheory.testing.plugin": "convtheory.testing.plugin"}
    dist = tmp_path / "site" / "convtheory-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: convtheory\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text(
        "[pytest11]\n" + "".join(f"{k} = {v}\n" for k, v in entry.items()))
    (tmp_path / "test_uses_fixture.py").write_text(
        "def test_seed(equivariance_seed):\n    assert isinstance(equivariance_seed, int)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT)])}
    env.pop("PYTEST_ADDOPTS", None)
    for extra in ([], ["-p", "convtheory.testing.plugin"]):   # loading it twice is harmless
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "test_uses_fixture.py", *extra], cwd=tmp_path, env=env,
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "1 passed" in run.stdout
