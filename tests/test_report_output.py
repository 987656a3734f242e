"""The report directory is written as a set: a run killed at any point never leaves two runs mixed."""

import os
import signal

import pytest

from convtheory.report import output, run_report, write_report

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked run (POSIX)")

SECTIONS = ["matrix", "channels"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs with different seeds, and the file set each writes into an empty directory."""
    reports, sets = [], []
    for seed in (1, 2):
        report = run_report(seed=seed, quick=True, sections=SECTIONS, progress=False)
        out = tmp_path_factory.mktemp(f"run{seed}")
        write_report(report, out)
        reports.append(report)
        sets.append(_files(out))
    assert sets[0]["verification.md"] != sets[1]["verification.md"]
    assert any(name.endswith(".png") for name in sets[0])
    return reports, sets


def _files(out) -> dict:
    """Every file under ``out`` (relative path -> bytes), leftovers of killed runs aside."""
    files = {}
    for root, dirs, names in os.walk(out):
        dirs[:] = [d for d in dirs if not d.startswith((output.STAGING_PREFIX, output.RETIRED_PREFIX))]
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, out)] = f.read()
    return files


def _count(monkeypatch, name, report, out) -> int:
    calls = []
    original = getattr(output, name)
    monkeypatch.setattr(output, name, lambda *a: (calls.append(a), original(*a))[1])
    write_report(report, out)
    monkeypatch.setattr(output, name, original)
    return len(calls)


def _killed_write(report, out, name, after) -> None:
    """Run ``write_report`` in a child killed by SIGKILL just before its call number ``after`` of ``name``."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            calls = [0]
            original = getattr(output, name)

            def deadly(*args):
                if calls[0] == after:
                    os.kill(os.getpid(), signal.SIGKILL)
                calls[0] += 1
                return original(*args)
            setattr(output, name, deadly)
            write_report(report, out)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def test_a_run_killed_between_two_files_leaves_the_old_report_whole(runs, tmp_path, monkeypatch):
    (old, new), (old_files, new_files) = runs
    writes = _count(monkeypatch, "_write", new, tmp_path / "count")
    assert writes == len(new_files)  # one staged write per file of the set
    for after in range(writes):
        out = tmp_path / f"killed{after}"
        write_report(old, out)
        _killed_write(new, out, "_write", after)
        assert _files(out) == old_files, f"killed before write {after}"
        write_report(new, out)  # the next run clears the leftovers and writes its own set
        assert _files(out) == new_files
        assert sorted(os.listdir(out)) == ["figures", "verification.html", "verification.json",
                                           "verification.md"]


def test_a_run_killed_during_the_swap_shows_files_of_one_run_only(runs, tmp_path, monkeypatch):
    (old, new), (old_files, new_files) = runs
    write_report(old, tmp_path / "count")
    renames = _count(monkeypatch, "_rename", new, tmp_path / "count")
    assert renames == 8  # four members of the set out, four in
    for after in range(renames + 1):
        out = tmp_path / f"killed{after}"
        write_report(old, out)
        if after < renames:
            _killed_write(new, out, "_rename", after)
        else:
            write_report(new, out)
        seen = _files(out)
        only_old = [p for p, data in seen.items() if data == old_files.get(p) != new_files.get(p)]
        only_new = [p for p, data in seen.items() if data == new_files.get(p) != old_files.get(p)]
        foreign = [p for p, data in seen.items() if data not in (old_files.get(p), new_files.get(p))]
        assert not foreign and not (only_old and only_new), (after, only_old, only_new)
    assert _files(out) == new_files


def test_a_user_file_in_figures_survives_and_old_figures_go(runs, tmp_path):
    (old, new), (_, new_files) = runs
    write_report(old, tmp_path)
    (tmp_path / "figures" / "mine.png").write_bytes(b"a user's file")
    (tmp_path / "figures" / "matrix.gone.spy.png").write_bytes(b"an earlier run's figure")
    (tmp_path / "notes.txt").write_text("kept")
    write_report(new, tmp_path)
    seen = _files(tmp_path)
    assert seen.pop("figures/mine.png") == b"a user's file"
    assert seen.pop("notes.txt") == b"kept"
    assert seen == new_files
