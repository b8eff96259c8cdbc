"""`vsml-train` (apps/train.py) run for real: every output, resume equal to the
uninterrupted run (VSML and a baseline), SIGTERM, a non-finite theta, and a learner without
meta-parameters (only meta-tested)."""

import csv
import glob
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from baseline_configs import tiny_config
from checkout import ROOT, TESTING, cli, make_config

from vsml_tf.apps.train import train
from vsml_tf.runs import checkpoints

pytestmark = pytest.mark.slow  # every test here takes more than ~5 s


def test_baseline_resume_equals_uninterrupted_run(tmp_path):
    """Weights that depend on the data are created later than VSML's, still from the seed."""
    config = tiny_config("fwp", evaluation__every=0)
    config.training.num_iterations = 4
    whole, _ = train(config, str(tmp_path / "whole"))
    config.training.num_iterations = 2
    train(config, str(tmp_path / "parts"))
    config.training.num_iterations = 4
    resumed, _ = train(config, str(tmp_path / "parts"))
    np.testing.assert_array_equal(whole.theta.numpy(), resumed.theta.numpy())


def test_train_on_learner_without_meta_parameters_only_meta_tests(tmp_path):
    workdir = str(tmp_path / "sgd")
    env = {**os.environ, "WANDB_MODE": "offline", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "vsml_tf.apps.train", f"--config={ROOT}/configs/sgd.py",
         f"--workdir={workdir}", "--config.evaluation.num_episodes=2",
         "--config.evaluation.chunk=2", "--config.evaluation.episode_length=20"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no meta-parameters: nothing to meta-train" in result.stdout
    assert not os.path.exists(os.path.join(workdir, "checkpoints"))
    assert os.path.exists(os.path.join(workdir, "config.json"))
    rows = list(csv.DictReader(open(os.path.join(workdir, "eval", "curves.csv"))))
    assert len(rows) == 2 * 20 and {r["learner"] for r in rows} == {"sgd"}


def test_train_then_evaluate_write_every_output(tmp_path):
    workdir = str(tmp_path / "run")
    result = cli("train", f"--config={TESTING}", f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr[-3000:]

    resolved = json.load(open(os.path.join(workdir, "config.json")))
    assert resolved["training"]["num_iterations"] == 4
    assert resolved["es"]["population_size"] == 4
    assert tf.train.latest_checkpoint(checkpoints.directory(workdir)).endswith("ckpt-4")
    assert glob.glob(os.path.join(workdir, "tensorboard", "events.out.tfevents.*"))
    assert glob.glob(os.path.join(workdir, "wandb", "offline-run-*", "run-*.wandb"))

    rows = list(csv.DictReader(open(os.path.join(workdir, "eval", "curves.csv"))))
    assert list(rows[0]) == ["learner", "dataset", "episode", "step", "loss", "accuracy"]
    assert len(rows) == 3 * 12  # evaluation.num_episodes x evaluation.episode_length
    assert {r["learner"] for r in rows} == {"vsml"} and {r["dataset"] for r in rows} == {"digits"}
    assert all(float(r["accuracy"]) in (0.0, 1.0) for r in rows)
    with open(os.path.join(workdir, "eval", "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "digits" in result.stdout and "[0:12]" in result.stdout

    os.remove(os.path.join(workdir, "eval", "curves.csv"))
    result = cli("evaluate", f"--config={TESTING}", f"--workdir={workdir}",
                 "--config.evaluation.num_episodes=2", "--config.evaluation.chunk=2")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader(open(os.path.join(workdir, "eval", "curves.csv"))))
    assert len(rows) == 2 * 12


def trained_state(workdir, **overrides):
    trainer, stopped = train(make_config(**overrides), workdir)
    assert not stopped
    return trainer


def assert_same_trainer_state(a, b):
    np.testing.assert_array_equal(a.theta.numpy(), b.theta.numpy())
    assert a.iteration.numpy() == b.iteration.numpy()
    for va, vb in zip(a.optimizer.variables, b.optimizer.variables):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())


@pytest.mark.parametrize("algorithm", ["es", "gradient"])
def test_resumed_run_equals_uninterrupted_run(tmp_path, algorithm):
    whole = trained_state(str(tmp_path / "whole"), training__num_iterations=4,
                          training__algorithm=algorithm)
    trained_state(str(tmp_path / "parts"), training__num_iterations=2,
                  training__algorithm=algorithm)
    resumed = trained_state(str(tmp_path / "parts"), training__num_iterations=4,
                            training__algorithm=algorithm)
    assert_same_trainer_state(whole, resumed)


def test_sigterm_saves_exits_zero_and_resumes_exactly(tmp_path):
    workdir = str(tmp_path / "run")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vsml_tf.apps.train", f"--config={TESTING}", f"--workdir={workdir}",
         "--config.training.num_iterations=100000", "--config.checkpoint.every=100000",
         "--config.evaluation.every=0", "--config.logging.wandb.enabled=False"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    for line in proc.stdout:  # wait until a few iterations have run
        if "step 3:" in line or time.time() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output[-3000:]
    latest = tf.train.latest_checkpoint(checkpoints.directory(workdir))
    stopped_at = int(latest.rsplit("-", 1)[1])
    assert 4 <= stopped_at < 100000

    resumed = trained_state(workdir, training__num_iterations=stopped_at + 2,
                            evaluation__every=0)
    whole = trained_state(str(tmp_path / "whole"), training__num_iterations=stopped_at + 2,
                          evaluation__every=0)
    assert_same_trainer_state(whole, resumed)


def test_non_finite_theta_stops_before_it_is_saved(tmp_path):
    """Issue 17, defect 1: a step size that overflows theta stops the run with one line,
    and every checkpoint left on disk holds finite meta-parameters."""
    from vsml_tf.core.errors import UserError

    config = make_config(es__learning_rate=3e38, checkpoint__every=1, evaluation__every=0)
    config.training.num_iterations = 6
    with pytest.raises(UserError, match=r"Iteration \d+: .*not finite.*es.learning_rate"):
        train(config, str(tmp_path))
    saved = glob.glob(str(tmp_path / "checkpoints" / "ckpt-*.index"))
    assert saved  # the first step's theta (~3e38) is still finite and was saved
    for index in saved:
        theta = tf.train.load_variable(index[:-len(".index")],
                                       "meta_params/.ATTRIBUTES/VARIABLE_VALUE")
        assert np.isfinite(theta).all(), index
