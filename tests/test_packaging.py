"""The wheel installs the theorems as ``convtheory.proofs``, never as a top-level ``proofs``."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Build from a copy, so the checkout gets no build/ or egg-info.
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("convtheory", "proofs"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    # pip builds it as 'pip install .' does: in an isolated environment with the
    # build-system requirements of pyproject.toml.
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                           "--wheel-dir", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (path,) = out.glob("convtheory-*.whl")
    return path


def test_the_wheel_holds_proofs_inside_convtheory(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    proofs = sorted(n for n in names if n.startswith("convtheory/proofs/"))
    expected = sorted(f"convtheory/proofs/{p.name}" for p in (ROOT / "proofs").glob("*.py"))
    assert proofs == expected
    assert not [n for n in names if n.startswith("proofs/")]
    # Every subpackage of the checkout is in the wheel (they are found, not listed).
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "convtheory").rglob("__init__.py")}
    assert {p for p in packages if f"{p}/__init__.py" not in names} == set()


def test_python_m_convtheory_proofs_runs_from_the_wheel(wheel, tmp_path):
    # Unpacked away from the checkout (no pyproject.toml beside it), so nothing but the
    # wheel's own layout can resolve convtheory.proofs.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, "-m", "convtheory.proofs", "multichannel",
                           "--output", str(tmp_path / "c.json")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("HOLDS  multichannel_block_matrix")
    where = subprocess.run([sys.executable, "-c", "import convtheory.proofs as p; print(p.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert where.stdout.strip() == str(site / "convtheory" / "proofs" / "__init__.py")
    assert not (site / "proofs").exists()


def test_a_checkout_resolves_convtheory_proofs_to_its_folder():
    import convtheory.proofs

    assert Path(convtheory.proofs.__file__).resolve() == ROOT / "proofs" / "__init__.py"
