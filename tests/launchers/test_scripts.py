"""The launcher scripts parse (bash -n) and document their usage."""

import glob
import os
import subprocess

import pytest
from checkout import ROOT

SCRIPTS = sorted(glob.glob(os.path.join(ROOT, "launchers", "*.sh")) +
                 glob.glob(os.path.join(ROOT, "launchers", "slurm", "*")))


@pytest.mark.parametrize("script", SCRIPTS, ids=os.path.basename)
def test_launcher_parses_and_documents_its_usage(script):
    assert subprocess.run(["bash", "-n", script]).returncode == 0
    header = open(script).read().split("\nset -euo pipefail")[0]
    assert "# Usage:" in header
    if script.endswith(".sh"):  # no arguments (--help where none are needed): usage, exit 2
        args = ["--help"] if script.endswith("install_horovod.sh") else []
        out = subprocess.run(["bash", script, *args], capture_output=True, text=True,
                             env={**os.environ, "PATH": os.environ["PATH"]})
        assert out.returncode == 2 and "Usage:" in out.stdout
