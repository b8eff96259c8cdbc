"""The laptop Fig. 8 grid (configs/sweeps/fig8_laptop.py): its commands run end to end on
tiny settings, the table's cells are the window means of the curves they wrote (recomputed
here from the CSVs), and --shipped's figures label fixed and permuted labels."""

import csv
import importlib.util
import os
import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest
from checkout import ROOT

from vsml_tf.runs import curves

spec = importlib.util.spec_from_file_location(
    "fig8_laptop", os.path.join(ROOT, "configs", "sweeps", "fig8_laptop.py"))
SWEEP = importlib.util.module_from_spec(spec)
spec.loader.exec_module(SWEEP)

STEPS = 12
TINY_EVAL = ["--config.data.dataset=digits", f"--config.evaluation.episode_length={STEPS}", "--config.evaluation.num_episodes=2",
             "--config.evaluation.chunk=2", "--config.logging.wandb.enabled=False",
             "--config.logging.progress_bar=False"]
TINY_TRAIN = ["--config.training.num_iterations=1",
              "--config.training.episode_length=4", "--config.gradient.meta_batch_size=2",
              "--config.evaluation.every=0", "--config.evaluation.datasets=digits"]


def window_means(path):
    """{(learner, dataset): [mean over steps 0-11, mean over 9-11]} straight from CSV."""
    acc = defaultdict(lambda: defaultdict(list))
    with open(path) as f:
        for row in csv.DictReader(f):
            acc[(row["learner"], row["dataset"])][int(row["step"])].append(float(row["accuracy"]))
    return {key: [np.mean([a for t in range(STEPS) for a in by_step[t]]),
                  np.mean([a for t in range(9, STEPS) for a in by_step[t]])]
            for key, by_step in acc.items()}


@pytest.mark.slow
def test_grid_commands_and_table(tmp_path):
    run = str(tmp_path / "fig8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "WANDB_MODE": "offline"}
    commands = SWEEP.commands(run, datasets="digits,sum", vsml="quickstart_digits")
    assert len(commands) == len(SWEEP.BASELINES) + 2
    for command in commands:
        args = command.split()
        tool = {"vsml-train": ["-m", "vsml_tf.apps.train"], "vsml-evaluate": ["-m", "vsml_tf.apps.evaluate"],
                "python": []}[args[0]]
        extra = TINY_EVAL + (TINY_TRAIN if args[0] == "vsml-train" else [])
        if "tune_sgd" in command:
            extra.append("--learning_rates=0.03")
        result = subprocess.run([sys.executable, *tool, *args[1:], *extra], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, (command, result.stderr[-3000:])

    with open(os.path.join(run, "metarnn", "config.json")) as f:
        trained = f.read()
    assert '"pad_inputs": "28x28x1"' in trained and '"pad_classes": 62' in trained

    table, figures = SWEEP.grid(run)
    lines = table.splitlines()
    assert lines[0] == "| learner | labels | digits (0–11 / 9–11) | sum (0–11 / 9–11) |"
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): line.split("|")[3:-1]
            for line in lines[2:]}
    learners = ("vsml",) + SWEEP.BASELINES
    assert list(rows) == [(n, labels) for n in learners for labels in ("fixed", "permuted")] + [
        (f"{SWEEP.TUNED} (best per window)", "either")]
    expected = {"fixed": window_means(os.path.join(run, "fixed", "eval", "curves.csv")),
                "permuted": window_means(os.path.join(run, "permuted", "curves.csv"))}
    for (learner, labels), cells in rows.items():
        if labels == "either":
            continue
        for dataset, cell in zip(("digits", "sum"), cells):
            np.testing.assert_allclose([float(v) for v in cell.split("/")],
                                       expected[labels][(learner, dataset)], atol=5e-4)
    best = defaultdict(float)
    with open(os.path.join(run, "fixed", "tuning.csv")) as f:
        for row in csv.DictReader(f):
            best[(row["dataset"], row["window"])] = max(best[(row["dataset"], row["window"])],
                                                        float(row["accuracy"]))
    for dataset, cell in zip(("digits", "sum"), rows[(f"{SWEEP.TUNED} (best per window)",
                                                      "either")]):
        np.testing.assert_allclose([float(v) for v in cell.split("/")],
                                   [best[(dataset, "0-12")], best[(dataset, "9-12")]], atol=5e-4)
    # Permuting labels changed the episodes the baselines saw.
    assert any(expected["fixed"][(n, "digits")] != expected["permuted"][(n, "digits")]
               for n in SWEEP.BASELINES)
    # One figure per dataset: every learner with both labelings, plus one tuned baseline.
    assert set(figures) == {"digits", "sum"}
    assert len(figures["digits"]) == 2 * len(learners) + 1
    SWEEP.main([run, "--table"])
    assert os.path.getsize(os.path.join(run, "fig8_sum.png")) > 1000


def result(learner, dataset="mnist", episodes=3, steps=50, seed=0, p=0.5):
    rng = np.random.default_rng(seed)
    acc = (rng.random((episodes, steps)) < p).astype(float)
    return dict(learner=learner, dataset=dataset, accuracy=acc, loss=1 - acc)


def load_sweep():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "fig8_laptop", os.path.join(ROOT, "configs", "sweeps", "fig8_laptop.py"))
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    return sweep


def test_fig8_shipped_figures_label_fixed_and_permuted(tmp_path, monkeypatch):
    """--shipped's layout (no tuning.csv): the learners meta-tested with permuted labels
    are the meta-learned ones, each drawn twice (solid, dashed); the baseline once."""
    sweep = load_sweep()
    run = str(tmp_path)
    fixed = [result(n, d, seed=i) for i, n in enumerate(["vsml", "vsml_long", "adam_hidden"])
             for d in ("mnist", "digits")]
    permuted = [result(n, d, seed=9) for n in ("vsml", "vsml_long") for d in ("mnist", "digits")]
    curves.write_csv(os.path.join(run, "fixed", "eval", "curves.csv"), fixed)
    curves.write_csv(os.path.join(run, "permuted", "curves.csv"), permuted)
    table, figures = sweep.grid(run)
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    assert [[c.strip() for c in row] for row in rows] == [
        ["vsml", "fixed"], ["vsml", "permuted"], ["vsml_long", "fixed"],
        ["vsml_long", "permuted"], ["adam_hidden", "either"]]
    assert [r["learner"] for r in figures["mnist"]] == [
        "vsml (fixed)", "vsml (permuted)", "vsml_long (fixed)", "vsml_long (permuted)",
        "adam_hidden lr=0.0003"]
    plotted = []
    monkeypatch.setattr(curves, "plot", lambda path, shown, title=None: plotted.append(
        (os.path.basename(path), title)))
    sweep.main([run, "--table"])
    assert plotted == [("fig8_mnist.png", "Meta-trained on MNIST, meta-tested on mnist: "
                                          "fixed vs permuted labels"),
                       ("fig8_digits.png", "Meta-trained on MNIST, meta-tested on digits: "
                                           "fixed vs permuted labels")]
    commands = sweep.shipped_commands("R", "D")
    assert len(commands) == 2 and "--config.evaluation.permute_labels=True" in commands[1]
    assert "adam_hidden=sgd" in commands[0] and "adam_hidden" not in commands[1]
    assert all("vsml=mnist_rand_proj_laptop,vsml_long=mnist_rand_proj_laptop_long" in c
               for c in commands)
