"""The command line, fed what a user mistypes."""

import pytest

from convtheory.cli import main


@pytest.mark.parametrize("kernel", ["1,,2", "1,2,", ",1,2", "1,2;3,,4"])
def test_an_empty_kernel_entry_is_a_usage_error_not_a_shorter_kernel(kernel, capsys):
    # "1,,2" used to print the matrix of the kernel [1, 2]: a typo became another kernel.
    assert main(["matrix", "--kernel", kernel, "--input", "4"]) == 2
    err = capsys.readouterr().err
    assert "argument --kernel: expected numbers separated by commas" in err and repr(kernel) in err


def test_kernel_entries_may_still_be_spaced(capsys):
    assert main(["matrix", "--kernel", "1, 2", "--input", "3"]) == 0
    assert "y1   .  1  2" in capsys.readouterr().out


@pytest.mark.parametrize("padding, rows", [
    # n=3, k=2, s=2: out ceil(3/2)=2, total padding (2-1)*2 + 2 - 3 = 1, on the high side
    # for same_upper (pads (0, 1)) and on the low side for same_lower (pads (1, 0)).
    ("same_upper", ["y0   1  2  .", "y1   .  .  1"]),
    ("same_lower", ["y0   2  .  .", "y1   .  1  2"]),
])
def test_same_upper_and_same_lower_are_accepted(padding, rows, capsys):
    # The error for padding='same' with a stride names same_upper as the way out, but the
    # command line refused it.
    assert main(["matrix", "--kernel", "1,2", "--input", "3", "--stride", "2",
                 "--padding", padding]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == rows


def test_the_blur_consistency_claim_runs():
    # convtheory.checks re-exports the function shift_consistency, which shadows the module of
    # that name: the report's claim read checks.shift_consistency.smooth_inputs and errored.
    from types import SimpleNamespace

    from convtheory.report.sections.pooling import blur_consistency
    v = blur_consistency(SimpleNamespace(quick=True, seed=0))
    assert v.name == "shift_consistency" and v.holds
