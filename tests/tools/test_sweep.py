"""Launcher scripts and sweeps: syntax, usage, and the flags a sweep point expands to."""

import glob
import os
import subprocess
import sys

import pytest

from vsml_tf.tools import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def test_sweep_points_become_config_flags(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("def get_sweep():\n"
                    "    return [{'data.dataset': d, 'es.population_size': 8}\n"
                    "            for d in ('mnist', 'kmnist')]\n")
    points = sweep.load(str(path))
    assert sweep.flags_for(points[1]) == ["--config.data.dataset=kmnist",
                                          "--config.es.population_size=8"]
    out = subprocess.run([sys.executable, "-m", "vsml_tf.tools.sweep", str(path), "--index=0"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "--config.data.dataset=mnist --config.es.population_size=8"
    listing = subprocess.run([sys.executable, "-m", "vsml_tf.tools.sweep", str(path)],
                             capture_output=True, text=True, cwd=ROOT).stdout.splitlines()
    assert len(listing) == 2 and listing[1].startswith("1\tdataset=kmnist-population_size=8")


def test_sweep_with_unknown_key_is_rejected(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("def get_sweep():\n    return [{'es.popsize': 8}]\n")
    out = subprocess.run([sys.executable, "-m", "vsml_tf.tools.sweep", str(path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "es.popsize" in out.stderr

