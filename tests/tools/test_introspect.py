"""Introspection: occurrence counting against a brute-force count, baseline specs, its
plots in the shared style, and the command end to end on the shipped learner."""

import csv
import os
import subprocess
import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from checkout import ROOT
from eval_configs import digits_config

from vsml_tf.core.errors import UserError
from vsml_tf.meta.meta_test import meta_test
from vsml_tf.runs import builder, curves, loading, pretrained
from vsml_tf.runs.config import with_episodes_of
from vsml_tf.tools import introspect


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


def test_bad_baseline_specs_are_one_line_errors():
    assert introspect.parse_baseline("adam_hidden@0.03") == ("adam", "hidden", 0.03)
    for spec in ("adam@0.1", "sgd_linear", "sgd_linear@-1", "rmsprop_linear@0.1"):
        with pytest.raises(UserError, match="OPTIMIZER_NETWORK@RATE"):
            introspect.parse_baseline(spec)


@pytest.mark.slow
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


def test_introspect_plots_use_the_shared_styles_and_chance_line(tmp_path, monkeypatch):
    from vsml_tf.tools import introspect

    rows = [dict(learner=label, dataset="digits", classes="all", occurrence=k,
                 accuracy=0.5, p_true=0.4, count=3)
            for label in ("vsml", "sgd_linear (tuned, lr 0.1)") for k in (1, 2, 3)]
    episode_rows = [dict(learner=label, dataset="digits", classes=c, step=t, label=0,
                         first=int(t == 0), p_true=0.3)
                    for label in ("vsml", "sgd_linear (tuned, lr 0.1)")
                    for c in ("all", "2") for t in range(5)]
    figures = []
    monkeypatch.setattr(curves, "save_png", lambda fig, path, dpi=110: figures.append(
        (os.path.basename(path), fig)))
    introspect._plot(str(tmp_path), rows, episode_rows)
    styles = curves.curve_styles(["vsml", "sgd_linear (tuned, lr 0.1)"])
    names = [name for name, _ in figures]
    assert names == ["occurrences_digits.png", "episode_digits_all.png",
                     "episode_digits_2.png"]
    for (name, fig), chance in zip(figures, (0.1, 0.1, 0.5)):
        for ax in fig.axes:
            drawn = {line.get_label(): line for line in ax.lines}
            for label, style in styles.items():
                assert matplotlib.colors.to_hex(drawn[label].get_color()) == \
                    style["color"].lower()
            assert drawn[f"chance (1/{round(1 / chance)})"].get_ydata()[0] == chance
        plt.close(fig)
