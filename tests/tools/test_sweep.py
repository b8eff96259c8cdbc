"""Sweeps (tools/sweep.py): the flags a sweep point expands to, unknown keys rejected."""

import subprocess
import sys

import pytest
from checkout import ROOT

from vsml_tf.tools import sweep

pytestmark = pytest.mark.slow  # every test here takes more than ~5 s


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
