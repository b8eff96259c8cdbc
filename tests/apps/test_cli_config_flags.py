"""--config from any directory by name, one-line errors for every config problem,
--print_config and --help; vsml-evaluate reads the run's own config.json."""

import json
import os
import subprocess
import sys

import pytest
from checkout import ROOT

from vsml_tf.runs.config import SECTIONS, base_config

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "WANDB_MODE": "offline",
       "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}


def command(module, *args, cwd):
    return subprocess.run([sys.executable, "-m", f"vsml_tf.apps.{module}", *args], cwd=cwd,
                          env=ENV, capture_output=True, text=True, timeout=600)


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_every_section_of_the_schema_has_its_line():
    assert sorted(SECTIONS) == sorted(base_config().keys())


@pytest.mark.slow
def test_a_missing_config_file_is_one_line_naming_the_shipped_ones(tmp_path):
    result = command("train", "--config=nope.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result)
    assert line.startswith("error: cannot load --config=nope.py: no file 'nope.py'")
    assert "quickstart" in line and "testing" in line


@pytest.mark.slow
def test_a_bad_config_argument_is_one_line_with_its_place(tmp_path):
    result = command("train", "--config=quickstart:esx", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = error_lines(result)
    assert "ValueError: configs/quickstart.py:esx: use no argument or ':es'." in line
    assert "quickstart.py, line" in line


@pytest.mark.slow
def test_a_bug_in_a_config_file_is_one_line_with_its_line_number(tmp_path):
    path = tmp_path / "bug.py"
    path.write_text("from vsml_tf.runs.config import base_config\n\n"
                    "def get_config():\n    c = base_config()\n    c.seed = oops\n"
                    "    return c\n")
    result = command("train", f"--config={path}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = error_lines(result)
    assert f"NameError: name 'oops' is not defined ({path}, line 5)" in line


@pytest.mark.slow
def test_shipped_configs_resolve_from_any_directory_and_print(tmp_path):
    for name in ("testing", "testing.py", "configs/testing.py"):
        result = command("train", f"--config={name}", "--config.seed=7", "--print_config",
                         cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        printed = json.loads(result.stdout)
        assert printed["seed"] == 7 and printed["checkpoint"]["every"] == 2  # testing.py's
    assert not os.listdir(tmp_path)  # printing runs nothing


@pytest.mark.slow
def test_help_names_the_flags_the_sections_and_the_reference(tmp_path):
    result = command("train", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for text in ["--config", "--workdir", "--print_config", *[f"  {s} " for s in SECTIONS],
                 "docs/reference/config.md", "--helpfull"]:
        assert text in result.stdout, text


@pytest.mark.slow
def test_evaluate_without_config_meta_tests_the_run_with_its_own_config(tmp_path):
    workdir = str(tmp_path / "run")
    other = ["--config.model.backward_pass=True", "--config.model.separate_backward_rnn=True"]
    trained = command("train", "--config=testing", f"--workdir={workdir}",
                      "--config.training.num_iterations=1", "--config.evaluation.every=0",
                      "--config.logging.wandb.enabled=False", *other, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    os.remove(os.path.join(workdir, "eval", "summary.txt"))
    result = command("evaluate", f"--workdir={workdir}", "--config.evaluation.num_episodes=2",
                     "--config.evaluation.chunk=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.path.exists(os.path.join(workdir, "eval", "summary.txt"))
    assert "episodes of" in result.stdout and "(2 episodes" in result.stdout

    result = command("evaluate", "--config=testing", f"--workdir={workdir}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = error_lines(result)
    assert "holds checkpoints of another config (model.backward_pass" in line
