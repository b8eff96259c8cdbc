"""Introspection: occurrence counting against a brute-force count, the labels it reads
are the ones the learner was shown, class subsets at meta-test, online SGD rebuilt for
other episode shapes, and the command end to end on the shipped learner."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from vsml_tf.apps import evaluate
from vsml_tf.core.errors import UserError
from vsml_tf.meta.meta_test import _chunk_seeds, episode_labels, meta_test
from vsml_tf.meta.runner import meta_test_seeds
from vsml_tf.runs import builder, loading, pretrained
from vsml_tf.runs.config import base_config, with_episodes_of
from vsml_tf.tools import introspect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_occurrence_index_counts_earlier_steps_of_the_same_class():
    labels = np.random.default_rng(0).integers(0, 4, size=(3, 50))
    occurrence = introspect.occurrence_index(labels)
    for e in range(3):
        for t in range(50):
            assert occurrence[e, t] == np.sum(labels[e, :t + 1] == labels[e, t])
    values = np.random.default_rng(1).random((3, 50))
    means, counts = introspect.by_occurrence(values, occurrence, 30)
    for k in range(1, 31):
        picked = [values[e, t] for e in range(3) for t in range(50) if occurrence[e, t] == k]
        assert counts[k - 1] == len(picked)
        if picked:
            assert means[k - 1] == pytest.approx(np.mean(picked))
        else:
            assert np.isnan(means[k - 1])


def digits_config(**evaluation):
    config = base_config()
    config.evaluation.datasets = "digits"
    config.evaluation.episode_length = 30
    config.evaluation.num_episodes = 5
    config.evaluation.chunk = 2
    for key, value in evaluation.items():
        config.evaluation[key] = value
    return config


def test_episode_labels_are_the_labels_meta_test_shows_the_learner():
    config = digits_config()
    learner, _ = builder.build_learner(config)
    sampler = builder.sampler(config, learner, "digits", "test", 30)
    labels = episode_labels(sampler, 5, seed=3, chunk=2)
    assert labels.shape == (5, 30, 1)
    shown = []
    for seeds in _chunk_seeds(5, 3, 2):  # the calls meta_test makes
        _, ys = sampler.sample(meta_test_seeds(seeds)[0])
        shown.append(np.argmax(ys.numpy(), -1).transpose(1, 0, 2))
    np.testing.assert_array_equal(labels, np.concatenate(shown)[:5])


def test_evaluation_filter_classes_keeps_those_classes_relabeled_in_order():
    from vsml_tf import datasets

    config = digits_config(filter_classes="5,8")
    learner, _ = builder.build_learner(config)
    sampler = builder.sampler(config, learner, "digits", "test", 30)
    assert sampler.num_classes == 2
    index, labels = sampler.episode_indices(meta_test_seeds(
        next(_chunk_seeds(2, 0, 2)))[0])
    full = datasets.load("digits", "test")
    kept = full.labels[np.isin(full.labels, [5, 8])]
    np.testing.assert_array_equal(np.where(kept[index.numpy()] == 5, 0, 1), labels.numpy())


def test_online_sgd_is_rebuilt_for_episodes_of_another_shape():
    """Set up on digits (64 inputs, 10 classes), meta-tested on 'sum' (784 inputs, 2
    classes) with no padding; a learner with meta-parameters is left as it is."""
    config = digits_config()
    config.learner = "sgd"
    config.evaluation.datasets = "digits,sum"
    runner, theta = builder.load_meta_params(config, None)
    results = evaluate.meta_test_datasets(config, runner, theta)
    assert [r["accuracy"].shape for r in results] == [(5, 30), (5, 30)]
    vsml = digits_config()
    learner, _ = builder.build_learner(vsml)
    run = builder.runner(vsml, learner)
    sampler = builder.sampler(vsml, learner, "sum", "test", 30)
    assert builder.runner_for_episodes(vsml, run, sampler) is run


def test_meta_test_reads_data_from_the_invoking_config(tmp_path):
    learner_config = base_config()
    learner_config.data.data_dir = "/the/run/machine"
    config = base_config()
    config.data.data_dir = str(tmp_path)
    config.data.source = "files"
    merged = with_episodes_of(learner_config, config)
    assert merged.data.data_dir == str(tmp_path) and merged.data.source == "files"


def test_bad_baseline_specs_are_one_line_errors():
    assert introspect.parse_baseline("adam_hidden@0.03") == ("adam", "hidden", 0.03)
    for spec in ("adam@0.1", "sgd_linear", "sgd_linear@-1", "rmsprop_linear@0.1"):
        with pytest.raises(UserError, match="OPTIMIZER_NETWORK@RATE"):
            introspect.parse_baseline(spec)


@pytest.mark.skipif("quickstart_digits" not in pretrained.names(),
                    reason="the shipped quickstart learner is not installed")
def test_introspect_command_on_the_shipped_learner(tmp_path):
    out = tmp_path / "intro"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "vsml_tf.tools.introspect", "--config=configs/quickstart.py",
         "--pretrained=quickstart_digits", f"--out={out}", "--baselines=sgd_linear@0.1",
         "--classes=2", "--max_occurrence=4", "--config.evaluation.num_episodes=4",
         "--config.evaluation.chunk=4", "--config.evaluation.episode_length=40"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "occurrences.csv") as f:
        rows = list(csv.DictReader(f))
    assert {(r["learner"], r["classes"]) for r in rows} == {
        ("vsml", "all"), ("vsml", "2"), ("sgd_linear (lr 0.1)", "all"),
        ("sgd_linear (lr 0.1)", "2")}
    # Every step of every episode is counted at exactly one occurrence (up to max 4):
    # with 2 classes and 40 steps, occurrences 1 and 2 happen twice per episode.
    two = [r for r in rows if r["learner"] == "vsml" and r["classes"] == "2"]
    assert [int(r["count"]) for r in two[:2]] == [8, 8]
    with open(out / "episode.csv") as f:
        episode = [r for r in csv.DictReader(f) if r["learner"] == "vsml"
                   and r["classes"] == "2"]
    assert sum(int(r["first"]) for r in episode) == 2
    # The per-step probabilities are the meta-test's: exp(-cross-entropy) of episode 0.
    learner_config, theta = loading.load("quickstart_digits")
    config = with_episodes_of(learner_config, digits_config(
        episode_length=40, num_episodes=4, chunk=4, filter_classes="0,1"))
    config.seed = 0
    runner, theta = builder.runner_with(config, theta)
    sampler = builder.sampler(config, runner.learner, "digits", "test", 40)
    loss, _ = meta_test(runner, tf.constant(theta), sampler, 4, seed=0, chunk=4)
    np.testing.assert_allclose([float(r["p_true"]) for r in episode], np.exp(-loss[0]),
                               rtol=1e-4)
    for name in ("occurrences_digits.png", "episode_digits_all.png", "episode_digits_2.png"):
        assert (out / name).stat().st_size > 1000
