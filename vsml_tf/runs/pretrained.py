"""Meta-trained learners shipped inside the package: use them with no training and no workdir.

Each learner is a directory `vsml_tf/pretrained_data/NAME/` holding
- `config.json`: the resolved config of the `vsml-train` run that produced it (the file
  that run wrote; read with `workdir.read_config`, so it loads like any workdir's);
- `meta_params.npz`: the flat meta-parameters `meta_params` [D] (float32, a few kB);
- `metadata.json`: how it was made (command, iterations, wall time, seed, package version,
  git commit) and its meta-test table, with the per-episode window accuracies so that a
  test can re-measure any subset of the same episodes.

    python -m vsml_tf.apps.pretrained                        # list them (loading.listing)
    vsml-evaluate --pretrained=quickstart_digits        # meta-test one (episodes of --config)
    VSMLClassifier()                                    # learn your own data (DEFAULT)

`python -m vsml_tf.apps.pretrained export --workdir=DIR --name=NAME ...` adds a finished run.
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np

from vsml_tf._version import __version__
from vsml_tf.core.errors import UserError
from vsml_tf.runs import checkpoints, curves

# The learner VSMLClassifier and classifier_bench use by default: `long_horizon_4k`
# (truncated backprop through 4,000-step episodes of MNIST, its transformations and the
# synthetic `sum` task) continued by ES over whole 10,000-step episodes of MNIST and of
# MNIST rendered like UCI digits, and checked to keep learning over 10,000-step streams of
# both MNIST and digits (docs/experiments/long-horizon.md). `quickstart_digits` starts
# faster on tiny streams.
DEFAULT = "long_horizon_10k"

# $VSML_PRETRAINED_DIR replaces the package's own directory (tests, private collections).
DATA_DIR = os.environ.get("VSML_PRETRAINED_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pretrained_data")


def names() -> list[str]:
    """The shipped learners."""
    if not os.path.isdir(DATA_DIR):
        return []
    return sorted(n for n in os.listdir(DATA_DIR)
                  if os.path.exists(os.path.join(DATA_DIR, n, "metadata.json")))


def directory(name: str) -> str:
    if name not in names():
        raise UserError(f"No shipped learner {name!r}: choose one of {names()} "
                        f"(python -m vsml_tf.apps.pretrained lists them).")
    return os.path.join(DATA_DIR, name)


def metadata(name: str) -> dict:
    return read_metadata(directory(name))


def read_metadata(path: str) -> dict:
    """The metadata.json of the shipped learner in directory `path`."""
    with open(os.path.join(path, "metadata.json")) as f:
        return json.load(f)


def is_shipped(path: str) -> bool:
    """Whether `path` is a shipped learner's directory (not a run's workdir)."""
    return os.path.exists(os.path.join(path, "meta_params.npz")) and os.path.exists(
        os.path.join(path, "metadata.json"))


def meta_params(path: str) -> np.ndarray:
    """The flat meta-parameters [D] of the shipped learner in directory `path`."""
    with np.load(os.path.join(path, "meta_params.npz")) as f:
        return np.asarray(f["meta_params"], np.float32)


def window_table(curves_csv: str, learner: str = "") -> dict:
    """{dataset: {"episodes", "steps", "windows": {"a-b": {"mean", "per_episode"}}}} from a
    meta-test's curves.csv (windows as in the summary table), of `learner` (its label in
    the curves; needed only where they hold several learners)."""
    results = curves.read_csv(curves_csv)
    labels = sorted({r["learner"] for r in results})
    if learner:
        if learner not in labels:
            raise UserError(f"{curves_csv} has no learner {learner!r}; it has {labels}.")
        results = [r for r in results if r["learner"] == learner]
    elif len(labels) > 1:
        raise UserError(f"{curves_csv} holds the curves of {labels}: name the exported "
                        f"one (--learner).")
    table = {}
    for r in results:
        acc = r["accuracy"]
        table[r["dataset"]] = {
            "episodes": int(acc.shape[0]), "steps": int(acc.shape[1]),
            "windows": {f"{a}-{b}": {"mean": round(float(acc[:, a:b].mean()), 4),
                                     "per_episode": [round(float(v), 4)
                                                     for v in acc[:, a:b].mean(1)]}
                        for a, b in curves.windows(acc.shape[1])}}
    return table


def export(workdir: str, name: str, command: str, wall_time_s: float,
           git_commit: str = "", curves_csv: str = "", learner: str = "",
           horizon: int = 0, iterations: int = 0) -> str:
    """Copy a finished vsml-train run (latest checkpoint, config.json, and the meta-test
    of `curves_csv`, default its eval/curves.csv, of its learner labelled `learner` there)
    into DATA_DIR as learner `name`. `horizon` > 0 records the longest stream (steps) it
    was checked to keep learning on (`tools.stability`); VSMLClassifier warns past it.
    `iterations` > 0 records the iterations of a whole chain of runs (`command`), where
    the checkpoint counts only the last run's."""
    with open(os.path.join(workdir, "config.json")) as f:
        config = json.load(f)
    theta, iteration = checkpoints.read_latest(workdir)
    if not git_commit:
        git_commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                    text=True, cwd=os.path.dirname(__file__)).stdout.strip()
    package_version = __version__
    out = os.path.join(DATA_DIR, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    np.savez_compressed(os.path.join(out, "meta_params.npz"), meta_params=theta)
    meta = {"name": name, "learner": config["learner"], "command": command,
            "iterations": iterations or iteration, "wall_time_s": round(float(wall_time_s), 1),
            "seed": config["seed"], "package_version": package_version,
            "git_commit": git_commit, "num_meta_params": int(theta.size),
            "meta_test": window_table(curves_csv or os.path.join(workdir, "eval",
                                                                 "curves.csv"), learner)}
    if horizon:
        meta["horizon"] = int(horizon)
    with open(os.path.join(out, "metadata.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return out
