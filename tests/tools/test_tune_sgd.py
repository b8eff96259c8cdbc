"""The tuned online SGD/Adam baseline: every grid point is the plain `vsml-evaluate` of
that baseline on the same episodes, the best per window is the grid's maximum, and the
compared learners share those episodes."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
from checkout import ROOT

from vsml_tf.core.errors import UserError
from vsml_tf.runs import curves
from vsml_tf.tools import tune_sgd

EPISODES = ["--config.evaluation.episode_length=40", "--config.evaluation.num_episodes=4",
            "--config.evaluation.chunk=4"]


def run(module, *args):
    env = {**os.environ, "WANDB_MODE": "offline", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_windows_default_to_the_first_100_steps_and_the_last_quarter():
    assert tune_sgd.default_windows(2000) == [(0, 100), (1500, 2000)]
    assert tune_sgd.default_windows(40) == [(0, 40), (30, 40)]
    assert tune_sgd.parse_windows(["0-10", "20-40"], 40) == [(0, 10), (20, 40)]
    with pytest.raises(UserError, match="START-END"):
        tune_sgd.parse_windows(["10"], 40)
    with pytest.raises(UserError, match="<= 40"):
        tune_sgd.parse_windows(["0-50"], 40)


def test_best_per_window_is_the_maximum_over_learning_rates():
    w1, w2 = (0, 10), (10, 20)
    grid = {("d", "sgd_linear", 0.1): {w1: 0.5, w2: 0.7},
            ("d", "sgd_linear", 0.01): {w1: 0.6, w2: 0.6},
            ("d", "sgd_linear", 1.0): {w1: 0.6, w2: 0.2}}  # ties: the smaller rate
    best = tune_sgd.best_per_window(grid, [w1, w2])
    assert best[("d", "sgd_linear", w1)] == (0.6, 0.01)
    assert best[("d", "sgd_linear", w2)] == (0.7, 0.1)


@pytest.mark.slow
def test_grid_points_equal_vsml_evaluate_of_the_same_baseline(tmp_path):
    """Two learning rates of linear Adam on 40-step digit episodes, with the quickstart's
    VSML compared: tuning.csv holds exactly the window means of `vsml-evaluate
    --config=configs/sgd.py` at each rate, and the VSML row exactly those of vsml-evaluate
    of that learner (so all saw the same episodes)."""
    out = tmp_path / "tuned"
    run("vsml_tf.tools.tune_sgd", "--config=configs/quickstart.py", f"--workdir={out}",
        "--learning_rates=0.01,0.1", "--optimizers=adam", "--networks=linear",
        "--config.evaluation.compare=vsml=quickstart_digits", *EPISODES)
    with open(out / "tuning.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["learning_rate"] for r in rows} == {"0.01", "0.1"}
    assert {r["window"] for r in rows} == {"0-40", "30-40"}
    for lr in ("0.01", "0.1"):
        alone = tmp_path / f"adam_{lr}"
        run("vsml_tf.apps.evaluate", "--config=configs/sgd.py", f"--workdir={alone}",
            "--config.evaluation.datasets=digits", f"--config.baselines.sgd.learning_rate={lr}",
            *EPISODES)
        (result,) = curves.read_csv(str(alone / "eval" / "curves.csv"))
        for r in rows:
            if r["learning_rate"] == lr:
                a, b = map(int, r["window"].split("-"))
                np.testing.assert_allclose(float(r["accuracy"]),
                                           result["accuracy"][:, a:b].mean(), rtol=1e-5)
    best = [r for r in rows if r["window"] == "30-40"]
    top = max(float(r["accuracy"]) for r in best)
    assert f"{top:.3f}" in (out / "best.txt").read_text()
    shown = {r["learner"]: r for r in curves.read_csv(str(out / "eval" / "curves.csv"))}
    assert sorted(shown) == ["adam_linear lr=0.01", "vsml"] or \
        sorted(shown) == ["adam_linear lr=0.1", "vsml"]
    shipped = tmp_path / "shipped"
    run("vsml_tf.apps.evaluate", "--config=configs/quickstart.py", f"--workdir={shipped}",
        "--pretrained=quickstart_digits", *EPISODES)
    (alone,) = curves.read_csv(str(shipped / "eval" / "curves.csv"))
    np.testing.assert_array_equal(shown["vsml"]["accuracy"], alone["accuracy"])


@pytest.mark.slow
def test_the_results_command_runs_on_every_dataset_from_its_official_files(tmp_path):
    """Issue 30's table command (tuned SGD/Adam next to a shipped learner) on small files
    in each dataset's official format, with no MNIST and no training data at hand:
    every dataset and learner gets its rows, and
    the learner's curves are exactly vsml-evaluate's on the same episodes."""
    from official_format import write_every_official_format

    data = tmp_path / "data"
    names = write_every_official_format(data)
    episodes = [f"--config.data.data_dir={data}", "--config.data.source=files",
                f"--config.evaluation.datasets={','.join(names)}",
                "--config.evaluation.episode_length=12", "--config.evaluation.num_episodes=2",
                "--config.evaluation.chunk=2", "--config.evaluation.compare=lh=long_horizon_mnist"]
    out = tmp_path / "tuned"
    run("vsml_tf.tools.tune_sgd", "--config=configs/long_horizon.py", f"--workdir={out}",
        "--learning_rates=0.1", "--optimizers=sgd", "--networks=linear", *episodes)
    with open(out / "tuning.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted({r["dataset"] for r in rows}) == sorted(names)
    shown = curves.read_csv(str(out / "eval" / "curves.csv"))
    assert sorted((r["dataset"], r["learner"]) for r in shown) == sorted(
        (n, learner) for n in names for learner in ("lh", "sgd_linear lr=0.1"))
    alone = tmp_path / "alone"
    run("vsml_tf.apps.evaluate", "--config=configs/long_horizon.py", f"--workdir={alone}",
        *episodes)
    for r in curves.read_csv(str(alone / "eval" / "curves.csv")):
        (same,) = [s for s in shown if (s["dataset"], s["learner"]) == (r["dataset"], "lh")]
        np.testing.assert_array_equal(same["accuracy"], r["accuracy"])
