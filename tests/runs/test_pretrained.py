"""Shipped learners: each re-measured against its metadata; export, load and
`vsml-evaluate --pretrained` end to end on a learner exported from a tiny workdir."""

import ast
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
from checkout import ROOT
from learner_workdirs import write_workdir
from official_format import require_shared_mnist

from vsml_tf.apps import evaluate
from vsml_tf.core.errors import UserError
from vsml_tf.meta.meta_test import meta_test
from vsml_tf.runs import builder, checkpoints, curves, loading, per_worker, pretrained, workdir
from vsml_tf.runs.config import base_config

RECHECK_EPISODES = 8
OFFLINE = ("digits", "sum", "random")  # bundled or synthetic: no files needed


@pytest.mark.slow
@pytest.mark.parametrize("name", pretrained.names() or
                         [pytest.param("none", marks=pytest.mark.skip("no learner shipped"))])
def test_shipped_learner_matches_its_metadata(name):
    """The first 8 of the metadata's meta-test episodes again (episodes depend only on
    (seed, index)): the mean over each window must match the stored mean of the same 8
    episodes within 0.02. Only floating-point order differs (8 episodes per compiled call
    instead of the run's chunk), which flips at most a few of the 8 x 50 or 8 x 100
    predictions of a window: 0.02 is 8 of 400, 16 of 800."""
    config, theta = loading.load(name)
    meta = pretrained.metadata(name)
    runner, theta = builder.runner_with(config, theta)
    # Offline datasets first: without the MNIST files the test skips after checking them.
    for dataset, table in sorted(meta["meta_test"].items(), key=lambda i: i[0] not in OFFLINE):
        config.data.source, config.data.data_dir = "auto", ""  # not the run's machine
        if dataset not in OFFLINE:
            if dataset != "mnist":
                continue  # only MNIST's official files are on the test machines
            config.data.source, config.data.data_dir = "files", require_shared_mnist()
        sampler = builder.sampler(config, runner.learner, dataset, "test", table["steps"])
        _, acc = meta_test(runner, theta, sampler, RECHECK_EPISODES, seed=config.seed,
                           chunk=RECHECK_EPISODES)
        for window, stored in table["windows"].items():
            a, b = map(int, window.split("-"))
            per_episode = np.asarray(stored["per_episode"])
            assert abs(np.mean(per_episode) - stored["mean"]) < 1e-3  # the table's figure
            assert acc[:, a:b].mean() == pytest.approx(per_episode[:RECHECK_EPISODES].mean(),
                                                       abs=0.02), (dataset, window)


@pytest.mark.slow
def test_export_load_and_evaluate_pretrained_cli(tmp_path, monkeypatch):
    config = base_config()
    config.evaluation.episode_length = 12
    config.evaluation.num_episodes = 3
    config.evaluation.chunk = 3
    run = str(tmp_path / "run")
    trainer = write_workdir(run, config)
    evaluate.evaluate(config, run, (trainer.runner, trainer.theta))  # run/eval/curves.csv
    monkeypatch.setattr(pretrained, "DATA_DIR", str(tmp_path / "shipped"))
    pretrained.export(run, "tiny", command="write_workdir", wall_time_s=1.0,
                      git_commit="0" * 40)
    assert pretrained.names() == ["tiny"]
    loaded, theta = loading.load("tiny")
    np.testing.assert_array_equal(theta, trainer.theta.numpy())
    assert loaded.to_dict() == config.to_dict()
    assert "tiny: vsml, 2384 meta-parameters" in loading.listing()
    assert loading.horizon("tiny") == max(config.training.episode_length, 12)
    pretrained.export(run, "checked", command="write_workdir", wall_time_s=1.0,
                      git_commit="0" * 40, horizon=10000, iterations=4904)
    assert loading.horizon("checked") == 10000
    assert pretrained.metadata("checked")["iterations"] == 4904
    assert pretrained.metadata("tiny")["iterations"] == checkpoints.read_latest(run)[1]
    assert "horizon: 10000 steps" in loading.listing()
    shutil.rmtree(pretrained.directory("checked"))

    env = dict(os.environ, PYTHONPATH=ROOT, VSML_PRETRAINED_DIR=str(tmp_path / "shipped"))
    out = str(tmp_path / "out")
    proc = subprocess.run(
        [sys.executable, "-m", "vsml_tf.apps.evaluate", "--pretrained=tiny", f"--workdir={out}",
         "--config.evaluation.episode_length=12", "--config.evaluation.num_episodes=3",
         "--config.evaluation.chunk=3"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Same learner, same episodes (seed 0, episode indices 0..2): the same curves.
    (mine,), (theirs,) = (curves.read_csv(os.path.join(d, "eval", "curves.csv"))
                          for d in (run, out))
    np.testing.assert_array_equal(mine["accuracy"], theirs["accuracy"])
    # Issue 33 (6a): labelled with the shipped learner's name, not its kind ('vsml').
    assert (mine["learner"], theirs["learner"]) == ("vsml", "tiny")
    table = proc.stdout.split("outputs in")[1].splitlines()
    assert any(line.split()[:1] == ["tiny"] for line in table), proc.stdout

    proc = subprocess.run([sys.executable, "-m", "vsml_tf.apps.evaluate", "--pretrained=nope"],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 2 and "No shipped learner 'nope'" in proc.stderr


def test_window_table_of_curves_holding_several_learners(tmp_path):
    """A clone's meta-test holds the clone and the SGD it clones: the export takes the
    named learner's windows, and without a name refuses instead of mixing them."""
    rng = np.random.default_rng(0)
    results = [dict(learner=name, dataset="digits", loss=rng.random((3, 400)),
                    accuracy=(rng.random((3, 400)) < p).astype(float))
               for name, p in (("vsml_clone", 0.3), ("sgd_clone_target", 0.7))]
    path = str(tmp_path / "curves.csv")
    curves.write_csv(path, results)
    with pytest.raises(UserError, match="name the exported one"):
        pretrained.window_table(path)
    with pytest.raises(UserError, match="no learner 'vsml'"):
        pretrained.window_table(path, "vsml")
    table = pretrained.window_table(path, "vsml_clone")["digits"]
    assert (table["episodes"], table["steps"]) == (3, 400)
    for window, stored in table["windows"].items():
        a, b = map(int, window.split("-"))
        np.testing.assert_allclose(stored["per_episode"],
                                   results[0]["accuracy"][:, a:b].mean(1), atol=1e-4)


@pytest.mark.parametrize("name", pretrained.names() or
                         [pytest.param("none", marks=pytest.mark.skip("no learner shipped"))])
def test_shipped_learners_recorded_command_gives_its_config(name):
    """The config file (and :ARG) a shipped learner's command names resolves, today, to
    the config it was meta-trained with, in every key that changes what its
    meta-parameters mean: the command still reproduces it (a config file that changes
    its recipe must move the old one to an argument the command names). A chain of
    commands (a run continued by others) is read from its last config file on, with the
    `--config.KEY=VALUE` overrides given there and in the continuations after it."""
    directory = pretrained.directory(name)
    with open(os.path.join(directory, "metadata.json")) as f:
        command = json.load(f)["command"]
    matches = list(re.finditer(r"--config=configs/(\w+\.py)(?::(\w+))?", command))
    assert matches, f"{name}: no --config=configs/FILE.py in {command!r}"
    match = matches[-1]
    spec = importlib.util.spec_from_file_location(
        "shipped_config", os.path.join(ROOT, "configs", match.group(1)))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(os.path.join(directory, "config.json")) as f:
        recorded = json.load(f)
    config = module.get_config(match.group(2))
    apply_overrides(config, shlex.split(command[match.end():]))
    assert workdir.differences(recorded, config) == []


def apply_overrides(config, tokens):
    """`--config.KEY=VALUE` tokens applied as the command line would (worker_split, a
    Python literal, else the string; a plain value for a field that holds a worker_split
    becomes a one-option worker_split); a later token wins."""
    flat = {}
    for token in tokens:
        if token.startswith("--config.") and "=" in token:
            key, value = token[len("--config."):].split("=", 1)
            split = per_worker.as_worker_split(value)
            value = split or literal_or_string(value)
            if split is None and per_worker.as_worker_split(config[key]) is not None:
                value = per_worker.WorkerSplit((value,))
            flat[key] = value
    with config.ignore_type():
        config.update_from_flattened_dict(flat)


def literal_or_string(value: str):
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value
