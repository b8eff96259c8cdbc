"""The baselines in the pipeline: ES and gradient meta-training, resume, the learner without
meta-parameters in vsml-train / vsml-evaluate, comparisons on the same episodes, the sweep."""

import csv
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from gradient_check import assert_meta_gradient_matches_finite_differences

from vsml_tf.apps import evaluate
from vsml_tf.apps.train import train
from vsml_tf.runs import builder
from vsml_tf.runs import config as config_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
META_LEARNED = ["metarnn", "fwmemory", "hebbian", "fwp"]
SMALL = {"metarnn": {"hidden_size": 8}, "fwmemory": {"hidden_size": 8, "memory_size": 4},
         "hebbian": {}, "fwp": {"fast_size": 8}, "sgd": {"hidden_size": 8}}


def load_module(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_config(learner, algorithm="es", **sections):
    """configs/testing.py (seconds-long) with `learner` at a small size."""
    config = load_module(os.path.join(ROOT, "configs", "testing.py")).get_config(algorithm)
    config.learner = learner
    config.logging.wandb.enabled = False
    config.logging.tensorboard = False
    for key, value in SMALL[learner].items():
        config.baselines[learner][key] = value
    for key, value in sections.items():
        section, name = key.split("__")
        config[section][name] = value
    return config


@pytest.mark.parametrize("learner", META_LEARNED)
@pytest.mark.parametrize("algorithm", ["es", "gradient"])
def test_meta_training_steps_run_compiled(learner, algorithm):
    trainer = builder.build_trainer(tiny_config(learner, algorithm))
    assert trainer.layout.size > 0
    before = trainer.theta.numpy()
    for _ in range(2):
        metrics = trainer.step()
    assert np.isfinite(metrics["meta_loss"]) and np.isfinite(metrics["grad_norm"])
    assert trainer.iteration.numpy() == 2
    assert not np.array_equal(before, trainer.theta.numpy())


@pytest.mark.parametrize("learner", META_LEARNED)
def test_meta_gradient_matches_finite_differences(learner):
    """Gradients reach every meta-parameter through the learner's in-episode updates."""
    trainer = builder.build_trainer(tiny_config(learner, "gradient",
                                                   training__jit_compile=False))
    trainer.theta.assign(trainer.theta.numpy() * 0.5)  # a generic, non-initial point
    assert_meta_gradient_matches_finite_differences(trainer, np.random.default_rng(0),
                                                    atol=1e-3)


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


def test_online_sgd_learns_and_draws_fresh_weights_per_episode(tmp_path):
    """vsml-evaluate runs it without a checkpoint; every episode starts from new weights."""
    config = tiny_config("sgd", evaluation__num_episodes=8, evaluation__chunk=4,
                         evaluation__episode_length=150)
    config.baselines.sgd.learning_rate = 0.05
    results = evaluate.evaluate(config, str(tmp_path))
    acc, loss = results[0]["accuracy"], results[0]["loss"]
    assert acc[:, -50:].mean() > acc[:, :10].mean() + 0.3  # it learns within the episode
    assert len({round(float(l), 5) for l in loss[:, 0]}) == 8  # different initial weights


def test_compare_learners_on_the_same_episodes(tmp_path):
    runs = {}
    for learner in ("hebbian", "fwp"):
        runs[learner] = str(tmp_path / learner)
        train(tiny_config(learner, evaluation__every=0), runs[learner])
    config = tiny_config("sgd", evaluation__num_episodes=3, evaluation__chunk=2)
    config.seed = 5
    config.evaluation.compare = (f"hebb={runs['hebbian']},fwp={runs['fwp']},"
                                 f"again={runs['hebbian']},sgd")
    out = str(tmp_path / "compare")
    results = evaluate.evaluate(config, out)
    assert [r["learner"] for r in results] == ["hebb", "fwp", "again", "sgd"]
    rows = list(csv.DictReader(open(os.path.join(out, "eval", "curves.csv"))))
    assert len(rows) == 4 * 3 * 12
    assert {r["learner"] for r in rows} == {"hebb", "fwp", "again", "sgd"}
    # The same run under two labels: the same episodes (seed 5, not the runs' seed 0).
    np.testing.assert_array_equal(results[0]["loss"], results[2]["loss"])
    alone = evaluate.evaluate(tiny_config("hebbian", evaluation__num_episodes=3,
                                          evaluation__chunk=2), runs["hebbian"])
    assert not np.array_equal(alone[0]["loss"], results[0]["loss"])
    config.seed = 0
    config.evaluation.compare = f"hebb={runs['hebbian']}"
    seed0 = evaluate.evaluate(config, out)
    np.testing.assert_array_equal(seed0[0]["loss"], alone[0]["loss"])
    with open(os.path.join(out, "eval", "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("compare,message", [
    ("metarnn", "has .* meta-parameters; name its trained run as metarnn=WORKDIR"),
    ("a=sgd,a=sgd", "labels must be unique"),
    ("x=/no/such/dir", "neither a directory, nor a shipped learner .*, nor a registered"),
])
def test_compare_entry_errors(tmp_path, compare, message):
    config = tiny_config("sgd", evaluation__compare=compare)
    with pytest.raises(ValueError, match=message):
        evaluate.evaluate(config, str(tmp_path))
    assert not os.path.exists(tmp_path / "eval")  # checked before any meta-test


def test_compare_entry_needs_a_run_directory(tmp_path):
    config = tiny_config("sgd", evaluation__compare=f"x={tmp_path}")
    with pytest.raises(FileNotFoundError, match="No config.json"):
        evaluate.evaluate(config, str(tmp_path))


def test_sgd_sweep_points_are_valid_configs():
    sweep = load_module(os.path.join(ROOT, "configs", "sweeps", "sgd.py"))
    points = sweep.get_sweep()
    assert len(points) == 4
    assert {(p["baselines.sgd.num_layers"], p["baselines.sgd.optimizer"],
             p["baselines.sgd.learning_rate"]) for p in points} == {
        (1, "sgd", 0.01), (2, "sgd", 0.01), (1, "adam", 1e-3), (2, "adam", 1e-3)}
    base = load_module(os.path.join(ROOT, "configs", "sgd.py")).get_config()
    for point in points:
        config = base.copy_and_resolve_references()
        for key, value in point.items():
            config_lib.check_override(key)
            section, learner, name = key.split(".")
            config[section][learner][name] = value
        config_lib.validate(config)
    assert len(sweep.commands()) == 5 and "evaluation.compare" in sweep.commands()[-1]


@pytest.mark.parametrize("name", ["metarnn", "fwmemory", "hebbian", "fwp", "sgd"])
def test_configs_are_valid(name):
    config = load_module(os.path.join(ROOT, "configs", f"{name}.py")).get_config()
    config_lib.validate(config)
    assert config.learner == name
    assert load_module(os.path.join(ROOT, "configs", f"{name}.py")).__doc__.count("vsml-") >= 1
