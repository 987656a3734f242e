"""The console script, run as a user runs it: in a subprocess.

Installed (``pip install -e .``, as in CI) the real ``convtheory`` script
runs; in a plain checkout the same entry point runs as ``python -m convtheory``.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMING_KEYS = {"seconds", "timing"}


def _command():
    script = shutil.which("convtheory")
    return [script] if script else [sys.executable, "-m", "convtheory"]


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")


def run(*args, cwd=None):
    env = _env()
    return subprocess.run(_command() + [str(a) for a in args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=600)


def _one_line_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def _drop_timings(value):
    if isinstance(value, dict):
        return {k: _drop_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_drop_timings(v) for v in value]
    return value


@pytest.fixture(scope="module")
def quick_reports(tmp_path_factory):
    """Two quick runs with the same seed into two directories."""
    base = tmp_path_factory.mktemp("verify")
    procs = [run("verify", "--quick", "--out", base / name) for name in ("a", "b")]
    return base, procs


class TestVerify:
    def test_writes_the_three_formats_and_figures(self, quick_reports):
        base, (proc, _) = quick_reports
        out = base / "a"
        assert proc.stderr == ""  # no progress bar when stderr is not a terminal
        assert {p.name for p in out.iterdir()} == {
            "verification.md", "verification.html", "verification.json", "figures"}
        figures = sorted(p.name for p in (out / "figures").iterdir())
        assert figures and all(f.endswith((".png", ".gif")) for f in figures)
        md = (out / "verification.md").read_text()
        for figure in figures:  # every figure written is shown in the report
            assert f"](figures/{figure})" in md

    def test_exit_code_says_whether_every_claim_is_confirmed(self, quick_reports):
        base, (proc, _) = quick_reports
        data = json.loads((base / "a" / "verification.json").read_text())
        confirmed = [v["confirmed"] for v in data["verdicts"]]
        assert data["all_confirmed"] == all(confirmed)
        assert proc.returncode == (0 if all(confirmed) else 1)

    def test_every_claim_is_confirmed(self, quick_reports):
        base, (proc, _) = quick_reports
        data = json.loads((base / "a" / "verification.json").read_text())
        not_confirmed = [c["id"] + ": " + c["status"] + " " + c["message"]
                         for c in data["claims"] if not c["confirmed"]]
        assert not_confirmed == []
        assert proc.returncode == 0

    def test_same_seed_gives_the_same_report(self, quick_reports):
        base, _ = quick_reports
        a, b = base / "a", base / "b"
        assert (a / "verification.md").read_bytes() == (b / "verification.md").read_bytes()
        assert (a / "verification.html").read_bytes() == (b / "verification.html").read_bytes()
        ja = json.loads((a / "verification.json").read_text())
        jb = json.loads((b / "verification.json").read_text())
        assert _drop_timings(ja) == _drop_timings(jb)
        for f in (a / "figures").iterdir():
            assert f.read_bytes() == (b / "figures" / f.name).read_bytes(), f.name

    def test_json_schema(self, quick_reports):
        base, _ = quick_reports
        data = json.loads((base / "a" / "verification.json").read_text())
        assert data["schema_version"] == 1
        assert data["seed"] == 0 and data["quick"] is True
        fields = {"name", "statement", "holds", "expected", "confirmed", "method", "scope",
                  "evidence", "seconds"}
        assert data["verdicts"]
        for v in data["verdicts"]:
            assert fields <= set(v)
        assert isinstance(data["certificates"], list)

    def test_markdown_has_no_timings(self, quick_reports):
        base, _ = quick_reports
        md = (base / "a" / "verification.md").read_text()
        assert " s;" not in md and "seconds" not in md

    def test_html_is_self_contained(self, quick_reports):
        base, _ = quick_reports
        page = (base / "a" / "verification.html").read_text()
        assert "http://" not in page and "https://" not in page
        n_figures = len(list((base / "a" / "figures").iterdir()))
        n_gifs = len(list((base / "a" / "figures").glob("*.gif")))
        assert n_gifs == 2  # the sliding-filter animations
        assert page.count('src="data:image/png;base64,') == n_figures - n_gifs
        assert page.count('src="data:image/gif;base64,') == n_gifs

    def test_format_selects_the_files(self, tmp_path):
        proc = run("verify", "--quick", "--section", "channels", "--format", "json,md",
                   "--out", tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "figures", "verification.json", "verification.md"]
        data = json.loads((tmp_path / "verification.json").read_text())
        assert [c["id"] for c in data["claims"]] == ["channels.blocks", "channels.groups"]

    def test_list_names_every_claim_without_running(self, tmp_path):
        from convtheory.report import all_claims

        proc = run("verify", "--list", "--out", tmp_path / "r")
        assert proc.returncode == 0, proc.stderr
        header, *lines = proc.stdout.splitlines()
        assert header.split() == ["claim", "expected", "statement"]
        ids = [line.split()[0] for line in lines]
        assert ids == [c.id for c in all_claims()]
        # The expected outcome sits under its header, column for column.
        column = header.index("expected")
        assert {line[column:column + 5] for line in lines} == {"holds", "fails"}
        assert "equivariance.zero_padding_border" in ids and not (tmp_path / "r").exists()

    def test_bad_flag_is_a_usage_error(self, tmp_path):
        _one_line_error(run("verify", "--no-such-flag", "--out", tmp_path / "r"), "--no-such-flag")
        assert not (tmp_path / "r").exists()

    @pytest.mark.parametrize("args, needle", [
        (("--format", "md,pdf"), "--format"),
        (("--seed", "-3"), "--seed"),
        (("--seed", "abc"), "--seed"),
        (("--section", "nope"), "--section"),
        (("--out", ""), "--out"),
    ])
    def test_bad_values_are_usage_errors(self, tmp_path, args, needle):
        _one_line_error(run("verify", "--out", tmp_path / "r", *args), needle)
        assert not (tmp_path / "r").exists()

    def test_out_that_is_a_file_says_so(self, tmp_path):
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        _one_line_error(run("verify", "--quick", "--out", blocker),
                        "it is a file, not a directory")

    def test_a_repeated_section_runs_once(self, tmp_path):
        proc = run("verify", "--quick", "--section", "channels", "--section", "channels",
                   "--format", "json", "--out", tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("2/2 claims confirmed")

    def test_unwritable_out_is_refused_and_leaves_nothing(self, tmp_path):
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        for out in (blocker / "report", blocker / "deeper" / "report", blocker):
            line = _one_line_error(run("verify", "--quick", "--out", out), "--out")
            assert str(out) in line
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
        assert blocker.read_text() == "not a directory"


TEXTBOOK = """\
conv_matrix: 4 x 16, 36 stored entries, 9 weights (kernel 1x1x3x3 on input 1x4x4); '.' = no connection

       x00   x01   x02   x03   x10   x11   x12   x13   x20   x21   x22   x23   x30   x31   x32   x33
y00  w_0_0 w_0_1 w_0_2     . w_1_0 w_1_1 w_1_2     . w_2_0 w_2_1 w_2_2     .     .     .     .     .
y01      . w_0_0 w_0_1 w_0_2     . w_1_0 w_1_1 w_1_2     . w_2_0 w_2_1 w_2_2     .     .     .     .
y10      .     .     .     . w_0_0 w_0_1 w_0_2     . w_1_0 w_1_1 w_1_2     . w_2_0 w_2_1 w_2_2     .
y11      .     .     .     .     . w_0_0 w_0_1 w_0_2     . w_1_0 w_1_1 w_1_2     . w_2_0 w_2_1 w_2_2
"""


class TestMatrix:
    def test_textbook_symbolic(self):
        proc = run("matrix", "--symbolic", "3x3", "--input", "4x4")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == TEXTBOOK

    def test_textbook_numeric(self):
        proc = run("matrix", "--kernel", "1,2,3;4,5,6;7,8,9", "--input", "4x4")
        assert proc.returncode == 0, proc.stderr
        rows = proc.stdout.splitlines()[3:]
        # Written out by hand: output (1,1) reads pixels (1..3, 1..3).
        assert rows[3].split() == ["y11", ".", ".", ".", ".", ".", "1", "2", "3", ".", "4", "5",
                                   "6", ".", "7", "8", "9"]

    def test_multichannel_symbolic(self):
        proc = run("matrix", "--symbolic", "2", "--input", "2x3", "--in-channels", "2",
                   "--out-channels", "1")
        assert proc.returncode == 0, proc.stderr
        rows = proc.stdout.splitlines()[3:]
        assert rows[0].split() == ["y0", "w_0_0_0", "w_0_0_1", ".", "w_0_1_0", "w_0_1_1", "."]

    def test_spy(self, tmp_path):
        path = tmp_path / "spy.png"
        proc = run("matrix", "--kernel", "1,-1", "--input", "8", "--spy", path)
        assert proc.returncode == 0, proc.stderr
        assert path.read_bytes()[:4] == b"\x89PNG"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["spy.png"]

    def test_spy_of_a_kernel_shows_its_values(self, tmp_path):
        # A Sobel kernel and a kernel of the same shape with other values draw different spies.
        sobel, other = tmp_path / "sobel.png", tmp_path / "other.png"
        for path, kernel in ((sobel, "1,0,-1;2,0,-2;1,0,-1"), (other, "1,1,1;1,1,1;1,1,1")):
            proc = run("matrix", "--kernel", kernel, "--input", "5x5", "--padding", "1",
                       "--spy", path)
            assert proc.returncode == 0, proc.stderr
        assert sobel.read_bytes() != other.read_bytes()

    def test_table_counts_stored_entries_and_the_zeros_among_them(self):
        proc = run("matrix", "--kernel", "1,0,-1", "--input", "4")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("conv_matrix: 2 x 4, 6 stored entries (2 hold 0), 3 weights")

    @pytest.mark.parametrize("args, needle", [
        (("--kernel", "1,2;3,4", "--input", "5"),
         "--kernel gives a 2-D single-channel kernel but --input 5 has 1 axes"),
        (("--kernel", "1,2;3,4", "--input", "3x5x5"), "use --symbolic with --in-channels"),
        (("--kernel", "1e400", "--input", "5"), "kernel values must be less than 2**62"),
        (("--kernel", "99999999999999999999", "--input", "5"), "less than 2**62"),
        (("--kernel", "1,2", "--input", "5", "--stride", "99999999999999999999"),
         "stride must be less than 2**62 in magnitude, got stride=99999999999999999999"),
        (("--kernel", "1,2", "--input", "5", "--padding", "99999999999999999999"),
         "padding must be less than 2**62"),
        (("--symbolic", "99999999999999999999", "--input", "5"),
         "--symbolic: shape entries must be less than 2**62"),
        (("--symbolic", "3", "--input", "99999999999999999999"), "--input"),
        # Size first: sympy would build ten billion symbols before any check.
        (("--symbolic", "100000x100000", "--input", "5x5"),
         "--symbolic 100000x100000 makes 10,000,000,000 weight symbols (at most 10,000)"),
        (("--kernel", "1,2", "--input", "5", "--stride", "0"), "stride"),
        (("--kernel", "1,x", "--input", "5"), "--kernel"),
        (("--kernel", "1,2;3", "--input", "5"), "--kernel"),
        (("--symbolic", "3", "--input", "0"), "--input"),
        (("--kernel", "1,2", "--input", "5", "--padding-mode", "wrap"), "--padding-mode"),
        (("--kernel", "1,2;3,4", "--input", "100x100"), "--spy"),
        (("--kernel", "1,2", "--input", "5", "--spy", "a.gif"), "--spy"),
        (("--input", "5",), "--kernel"),
        (("--kernel", "1,2", "--input", "5", "--in-channels", "2"), "convtheory matrix: error"),
        (("--symbolic", "3", "--input", "3x5", "--in-channels", "2"), "must start with"),
    ])
    def test_user_errors(self, args, needle):
        _one_line_error(run("matrix", *args), needle)

    def test_spy_checks_the_size_before_building_anything(self, tmp_path):
        # 100000 x 100000 used to run out of memory in the taps; now refused from the shape.
        line = _one_line_error(run("matrix", "--symbolic", "3x3", "--input", "100000x100000",
                                   "--spy", tmp_path / "x.png"), "--spy")
        assert "a 9,999,600,004 x 10,000,000,000 matrix is too big for --spy" in line
        assert list(tmp_path.iterdir()) == []

    def test_spy_checks_the_file_type_before_building_anything(self, tmp_path):
        _one_line_error(run("matrix", "--symbolic", "3x3", "--input", "100000x100000",
                            "--spy", tmp_path / "x.gif"), "must end in .png, .svg or .pdf")

    def test_an_unwritable_spy_is_one_line(self, tmp_path):
        _one_line_error(run("matrix", "--kernel", "1,-1", "--input", "8", "--spy",
                            tmp_path / "missing" / "x.png"), "cannot write --spy")


@pytest.mark.parametrize("command", ["verify", "matrix", "prove", "train", "graph",
                                     "receptive-field"])
def test_help_shows_an_example(command):
    proc = run(command, "--help")
    assert proc.returncode == 0
    assert "example:" in proc.stdout and f"convtheory {command}" in proc.stdout


def test_no_command_prints_help_and_is_a_usage_error():
    proc = run()
    assert proc.returncode == 2
    assert "verify" in proc.stderr


def test_main_returns_exit_codes_without_raising(capsys):
    from convtheory.cli import main

    assert main(["matrix", "--kernel", "1,-1", "--input", "3"]) == 0
    assert main(["matrix", "--bogus"]) == 2
    assert main(["--version"]) == 0
    captured = capsys.readouterr()
    assert "x0 x1 x2" in captured.out and "error:" in captured.err


class TestFrontEnds:
    def test_receptive_field(self):
        proc = run("receptive-field", "k=3,p=1", "k=3,s=2", "k=2,s=2", "--input", "32x32")
        assert proc.returncode == 0, proc.stderr
        # By hand: r = 1 + 2 + 2 + 1*2 = 7, jump 1*2*2 = 4, padding 1; 32 -> 32 -> 15 -> 7.
        assert proc.stdout.splitlines() == [
            "receptive field (closed): size 7x7, jump (stride) 4x4, effective padding 1x1",
            "output 7x7; output unit 0 sees input [-1, 6), [-1, 6)"]

    def test_receptive_field_exact_agrees(self):
        closed = run("receptive-field", "k=3,p=1", "k=3,s=2", "--input", "16x16")
        exact = run("receptive-field", "k=3,p=1", "k=3,s=2", "--input", "16x16", "--exact")
        assert exact.returncode == 0, exact.stderr
        assert exact.stdout.replace("(exact)", "(closed)") == closed.stdout

    @pytest.mark.parametrize("args, needle", [
        (("k=0",), "kernel_size"), (("k3",), "LAYER"), (("k=3,q=1",), "LAYER"),
        (("k=3", "--exact"), "--input"),
    ])
    def test_receptive_field_errors(self, args, needle):
        _one_line_error(run("receptive-field", *args), needle)

    def test_graph(self, tmp_path):
        proc = run("graph", "--kernel", "1,-1", "--input", "4x4", "--figure", tmp_path / "g.png")
        assert proc.returncode == 0, proc.stderr
        # The seed's example by hand: 4 rows x 3 outputs x 2 taps = 24 edges of 16 x 12 = 192.
        assert proc.stdout.splitlines()[0] == (
            "conv layer 1x4x4 -> 1x4x3: 28 units, 24 edges of the dense layer's 192 "
            "(12.5% kept), 2 tie labels (weights)")
        assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"

    def test_graph_refuses_a_blur(self, tmp_path):
        proc = run("graph", "--kernel", "1,-1", "--input", "20x20", "--figure",
                   tmp_path / "g.png")
        _one_line_error(proc, "780 units are too many to draw with --figure")
        assert proc.stdout == ""   # refused before the summary is printed
        assert list(tmp_path.iterdir()) == []

    def test_graph_checks_the_figure_type_first(self, tmp_path):
        proc = run("graph", "--kernel", "1,-1", "--input", "4x4", "--figure", tmp_path / "g.gif")
        _one_line_error(proc, "--figure", "must end in .png, .svg or .pdf")
        assert proc.stdout == ""

    def test_receptive_field_refuses_a_repeated_key(self):
        _one_line_error(run("receptive-field", "k=3,k=5"), "kernel_size is given twice in 'k=3,k=5'")

    def test_train_names_the_filter_option(self):
        line = _one_line_error(run("train", "--filter", "nosuch"), "--filter must be one of")
        assert "kernel=" not in line and "'nosuch'" in line

    def test_prove_help_example_runs(self):
        help_text = run("prove", "--help").stdout
        example = help_text.split("example:")[1].split()
        assert example[:2] == ["convtheory", "prove"]
        proc = run(*example[1:])
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("HOLDS  shift_commuting_iff_circulant")

    def test_train(self):
        proc = run("train", "--filter", "sobel_x")
        assert proc.returncode == 0, proc.stderr
        assert "(converged, tol 1e-06)" in proc.stdout.splitlines()[0]

    def test_train_unknown_filter(self):
        _one_line_error(run("train", "--filter", "nope"), "sobel_x")

    def test_prove_unknown_name(self):
        _one_line_error(run("prove", "--only", "adjoint", "--only", "nope"), "nope")

    def test_prove(self):
        proc = run("prove")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        lines = proc.stdout.splitlines()
        assert len(lines) == 7 and all(line.startswith("HOLDS  ") for line in lines[:-1])
        assert lines[-1].startswith("6/6 hold, ")

    def test_prove_uses_the_word_of_python_m_proofs(self, tmp_path):
        # One word for a proof result, whichever front end prints it.
        out = tmp_path / "c.json"
        cli = run("prove", "--only", "multichannel", "--output", str(out))
        module = subprocess.run([sys.executable, "-m", "convtheory.proofs", "multichannel",
                                 "--output", str(tmp_path / "d.json")],
                                capture_output=True, text=True, env=_env())
        assert cli.returncode == 0 == module.returncode, cli.stderr + module.stderr
        first = [p.stdout.splitlines()[0].split()[:2] for p in (cli, module)]
        assert first[0] == first[1] == ["HOLDS", "multichannel_block_matrix"]
        assert json.loads(out.read_text())[0]["theorem"] == "multichannel_block_matrix"

    def test_prove_refuses_an_output_that_is_not_json(self):
        _one_line_error(run("prove", "--output", "c.txt"), "--output 'c.txt' must end in .json")


@pytest.mark.parametrize("error", [MemoryError, OverflowError])
def test_a_memory_or_overflow_error_is_one_line_as_a_last_resort(error, monkeypatch, capsys):
    from convtheory import matrices
    from convtheory.cli import main

    def too_big(*args, **kwargs):
        raise error("simulated")
    monkeypatch.setattr(matrices, "conv_matrix", too_big)
    assert main(["matrix", "--kernel", "1,-1", "--input", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"convtheory matrix: error: the values are too large to compute "
                   f"({error.__name__}: simulated); use smaller sizes"]


@pytest.mark.parametrize("command, module", [
    (["graph", "--kernel", "1,-1", "--input", "4x4"], "convtheory.graph"),
    (["receptive-field", "k=3"], "convtheory.receptive_field"),
    (["train"], "convtheory.nn.experiments"),
    (["prove"], "convtheory.proofs"),
])
def test_a_missing_module_is_one_clear_line(command, module, monkeypatch, capsys):
    from convtheory.cli import main

    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"({module}) is not available" in err


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal (POSIX)")
@pytest.mark.parametrize("columns", [100, 0])  # 0: a terminal that reports no width
def test_verify_on_a_terminal_shows_a_line_per_claim_a_bar_and_a_summary(tmp_path, columns):
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen(_command() + ["verify", "--quick", "--section", "channels",
                                          "--out", str(tmp_path / "r")],
                            stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=_env())
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=600) == 0
    os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "verify:" in screen and "claim" in screen  # the bar
    assert "ok channels.blocks (" in screen and "ok channels.groups (" in screen
    assert screen.rstrip().splitlines()[-1].lstrip("\r ").startswith("2/2 claims confirmed in ")
