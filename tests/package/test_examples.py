"""Every script in examples/ runs with its default settings (a new script is picked up
here by itself): the examples the README points to keep working."""

import glob
import os
import subprocess
import sys

import pytest
from checkout import ROOT

SCRIPTS = sorted(glob.glob(os.path.join(ROOT, "examples", "*.py")))
SLOW = set()  # names of scripts over 60 s on a 2-core machine (none so far)


@pytest.mark.parametrize("script", [
    pytest.param(path, id=os.path.basename(path),
                 marks=[pytest.mark.slow] if os.path.basename(path) in SLOW else [])
    for path in SCRIPTS])
def test_example_runs(script, tmp_path):
    result = subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": ROOT,
                                 "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "an example says what it found"


def test_every_example_has_a_docstring_and_a_readme_line():
    with open(os.path.join(ROOT, "examples", "README.md")) as f:
        readme = f.read()
    for path in SCRIPTS:
        name = os.path.basename(path)
        assert f"`{name}`" in readme, f"examples/README.md has no line for {name}"
        with open(path) as f:
            assert f.read().lstrip().startswith('"""'), f"{name} has no docstring"
