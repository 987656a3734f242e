"""The README's commands are the ones CI runs, and its examples run."""

import doctest
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = [b.strip() for b in _bash_blocks(readme)]
    assert blocks[0] == "pip install . && convtheory verify"
    test_command = blocks[1]
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci, f"{test_command!r} must appear as a line of .ci/run"


def test_readme_examples_run():
    readme = (ROOT / "README.md").read_text()
    examples = "\n".join(re.findall(r"```python\n(.*?)```", readme, flags=re.S))
    parser = doctest.DocTestParser()
    test = parser.get_doctest(examples, {}, "README", str(ROOT / "README.md"), 0)
    # No NORMALIZE_WHITESPACE: the README shows exactly what a reader's session prints.
    runner = doctest.DocTestRunner(optionflags=0)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
