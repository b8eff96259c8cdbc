"""Online SGD and Adam with their learning rate tuned per dataset: the honest baseline.

    python -m vsml_tf.tools.tune_sgd --config=configs/rand_proj.py:laptop \\
        --workdir=runs/tuned_sgd --config.data.data_dir=DIR \\
        [--config.evaluation.compare=vsml=runs/rand_proj_laptop]

For every evaluation dataset of --config, every optimizer (sgd, adam), every network
(linear, one tanh hidden layer) and every learning rate of --learning_rates (default
1e-4 ... 1, three per decade), online SGD meta-tests on the episodes of --config (its
evaluation section, seed and batch size: the episodes every other learner of the
package sees with that config). A baseline tuned on the test episodes is an upper bound
of what tuning could give it, which is the fair comparison for a learner that was not
tuned on them. Learners named in `evaluation.compare` (as in vsml-evaluate) run on the
same episodes and enter the table next to the tuned baselines.

Outputs in --workdir:
- `tuning.csv`: dataset, learner, learning_rate, window, accuracy -- the whole grid;
- `best.txt` (also printed): per dataset and window, each baseline's best accuracy and
  the learning rate that gave it, and the compared learners;
- `eval/curves.csv`, `eval/curves.png`: the curves of each baseline at its learning rate
  best over the last window, and of the compared learners.
"""

from __future__ import annotations

import csv
import itertools
import os

import ml_collections
import numpy as np
import tensorflow as tf
from absl import flags

from vsml_tf.apps import cli, evaluate
from vsml_tf.core.errors import UserError
from vsml_tf.runs import builder, curves
from vsml_tf.runs.config import with_episodes_of

OPTIMIZERS = ("sgd", "adam")
NETWORKS = {"linear": 1, "hidden": 2}  # baselines.sgd.num_layers
DEFAULT_LEARNING_RATES = [f"{m}e{e}" for e in range(-4, 0) for m in (1, 3)] + ["1"]

_LEARNING_RATES = flags.DEFINE_list("learning_rates", DEFAULT_LEARNING_RATES,
                                    "Learning rates tried for every baseline.")
_OPTIMIZERS = flags.DEFINE_list("optimizers", list(OPTIMIZERS), "Optimizers to tune.")
_NETWORKS = flags.DEFINE_list("networks", list(NETWORKS), "Networks to tune (linear, "
                              "hidden).")
_WINDOWS = flags.DEFINE_list("windows", None, "Step windows START-END (default: the "
                             "first 100 steps and the last quarter of the episode).")


def default_windows(steps: int) -> list[tuple[int, int]]:
    """The first 100 steps (fast learning) and the last quarter (where it ends up)."""
    first = (0, min(100, steps))
    last = (steps - steps // 4, steps)
    return [first] if last == first or steps < 8 else [first, last]


def parse_windows(specs, steps: int) -> list[tuple[int, int]]:
    if not specs:
        return default_windows(steps)
    windows = []
    for spec in specs:
        try:
            start, end = (int(v) for v in spec.split("-"))
        except ValueError:
            raise UserError(f"--windows: {spec!r} is not START-END (e.g. 0-100).") from None
        if not 0 <= start < end <= steps:
            raise UserError(f"--windows: {spec!r} must satisfy 0 <= START < END <= "
                            f"{steps} (the evaluation episode length).")
        windows.append((start, end))
    return windows


def baseline_config(config, optimizer: str, network: str, learning_rate: float):
    """Online SGD set up as asked, meta-tested on the episodes of `config`."""
    sgd = ml_collections.ConfigDict(config.to_dict())
    sgd.learner = "sgd"
    sgd.baselines.sgd.optimizer = optimizer
    sgd.baselines.sgd.num_layers = NETWORKS[network]
    sgd.baselines.sgd.learning_rate = learning_rate
    return with_episodes_of(sgd, config)


def window_means(accuracy: np.ndarray, windows) -> dict:
    """Mean accuracy over episodes and steps of each window of accuracy [episodes, T]."""
    return {w: float(accuracy[:, w[0]:w[1]].mean()) for w in windows}


def best_per_window(grid: dict, windows) -> dict:
    """grid {(dataset, learner, lr): {window: accuracy}} -> {(dataset, learner, window):
    (accuracy, lr)}, the best learning rate of each window (ties: the smaller rate)."""
    best = {}
    for (dataset, learner, lr), means in sorted(grid.items()):
        for w in windows:
            key = (dataset, learner, w)
            if key not in best or means[w] > best[key][0]:
                best[key] = (means[w], lr)
    return best


def table(best: dict, compared: dict, windows) -> str:
    """One line per (dataset, learner): accuracy per window; baselines with their lr."""
    header = f"{'dataset':<14} {'learner':<14} " + " ".join(
        f"{f'[{a}:{b}]':>22}" for a, b in windows)
    lines = [header, "-" * len(header)]
    datasets = sorted({k[0] for k in best} | {k[0] for k in compared})
    for dataset in datasets:
        for (d, learner), means in sorted(compared.items()):
            if d == dataset:
                lines.append(f"{dataset:<14} {learner:<14} " + " ".join(
                    f"{means[w]:>22.3f}" for w in windows))
        for learner in sorted({k[1] for k in best if k[0] == dataset}):
            cells = (best[(dataset, learner, w)] for w in windows)
            lines.append(f"{dataset:<14} {learner:<14} " + " ".join(
                f"{f'{acc:.3f} (lr {lr:g})':>22}" for acc, lr in cells))
    return "\n".join(lines)


def tune(config, workdir: str, learning_rates, optimizers, networks, windows=None):
    """Run the grid (see module docstring); returns (best, compared, windows)."""
    ev = config.evaluation
    windows = windows or default_windows(ev.episode_length)
    variants = list(itertools.product(optimizers, networks))
    for optimizer, network in variants:
        if optimizer not in OPTIMIZERS or network not in NETWORKS:
            raise UserError(f"Unknown baseline {optimizer}/{network}: optimizers "
                            f"{OPTIMIZERS}, networks {tuple(NETWORKS)}.")
    entries = evaluate.compare_entries(config)
    loaded = [(label, c, *builder.load_meta_params(c, source, label))
              for label, c, source in entries]  # every error before any work
    grid, curve_of, compared = {}, {}, {}
    for label, learner_config, runner, theta in loaded:
        for r in evaluate.meta_test_datasets(learner_config, runner, theta, label):
            compared[(r["dataset"], label)] = window_means(r["accuracy"], windows)
            curve_of[(r["dataset"], label)] = r
    for (optimizer, network), lr in itertools.product(variants, learning_rates):
        sgd = baseline_config(config, optimizer, network, lr)
        runner, theta = builder.load_meta_params(sgd, None)
        label = f"{optimizer}_{network}"
        print(f"{label} lr={lr:g}", flush=True)
        for r in evaluate.meta_test_datasets(sgd, runner, theta, label):
            grid[(r["dataset"], label, lr)] = window_means(r["accuracy"], windows)
            curve_of[(r["dataset"], label, lr)] = r
    best = best_per_window(grid, windows)
    _write(workdir, grid, best, compared, curve_of, windows)
    return best, compared, windows


def _write(workdir, grid, best, compared, curve_of, windows):
    os.makedirs(workdir, exist_ok=True)
    tmp = os.path.join(workdir, "tuning.csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("dataset", "learner", "learning_rate", "window", "accuracy"))
        for (dataset, learner, lr), means in sorted(grid.items()):
            for (a, b) in windows:
                writer.writerow((dataset, learner, f"{lr:g}", f"{a}-{b}",
                                 f"{means[(a, b)]:.6g}"))
    os.replace(tmp, os.path.join(workdir, "tuning.csv"))
    last = windows[-1]
    shown = [r for key, r in curve_of.items() if len(key) == 2]
    for (dataset, learner, w), (_, lr) in sorted(best.items()):
        if w == last:
            shown.append(dict(curve_of[(dataset, learner, lr)],
                              learner=f"{learner} lr={lr:g}"))
    curves.write_outputs(shown, os.path.join(workdir, "eval"))
    text = table(best, compared, windows)
    with open(os.path.join(workdir, "best.txt"), "w") as f:
        f.write(text + "\n")
    print(text, flush=True)


def main(argv):
    del argv
    tf.get_logger().setLevel("ERROR")  # one compiled episode per grid point is the plan
    config, workdir = cli.config_and_workdir()
    if not cli.WORKDIR.value:  # not into a training run's own eval/
        workdir += "_tuned_sgd"
    with cli.user_errors():
        try:
            rates = sorted(float(v) for v in _LEARNING_RATES.value)
        except ValueError:
            raise UserError(f"--learning_rates: {_LEARNING_RATES.value} are not all "
                            f"numbers.") from None
        if not rates or rates[0] <= 0:
            raise UserError("--learning_rates: give positive learning rates.")
        windows = parse_windows(_WINDOWS.value, config.evaluation.episode_length)
        tune(config, workdir, rates, _OPTIMIZERS.value, _NETWORKS.value, windows)


if __name__ == "__main__":
    cli.run(main)
