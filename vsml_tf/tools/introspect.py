"""How a learned learner learns, next to online SGD on the same episodes (paper Sec. 5).

    python -m vsml_tf.tools.introspect --pretrained=quickstart_digits \\
        --tuned=vsml_runs/quickstart_tuned_sgd        # baselines at their tuned rates
    python -m vsml_tf.tools.introspect --workdir=DIR --config=configs/rand_proj.py:laptop \\
        --baselines=sgd_linear@0.1,adam_linear@0.01 --config.data.data_dir=DATA

The learner is a shipped one (--pretrained) or the latest checkpoint of a run
(--workdir); the episodes are those of --config (evaluation section and seed, as in
vsml-evaluate), on every evaluation dataset with all its classes and with only the first
2 and 3 classes (--classes). Baselines are online SGD/Adam (OPTIMIZER_NETWORK@RATE), or
with --tuned=DIR each at the rate that `python -m vsml_tf.tools.tune_sgd` found best
over the first window of that dataset. Outputs in --out (default DIR/introspect or
vsml_runs/introspect_NAME):

- `occurrences.csv`, `occurrences_DATASET.png`: accuracy and probability of the true
  class at the k-th occurrence of a class in the episode (k = 1: the class was never
  seen; k = 2: seen once, ...);
- `episode.csv`, `episode_DATASET_CLASSES.png`: the probability of the true class at
  every step of the first episode, with a marker where each class first appears.

The paper's claim: VSML learns by fast association -- a class becomes predictable after
one or very few examples of it, while SGD needs many.
"""

from __future__ import annotations

import csv
import os

import ml_collections
import numpy as np
import tensorflow as tf
from absl import flags

from vsml_tf.apps import cli
from vsml_tf.core.errors import UserError
from vsml_tf.meta.meta_test import episode_labels, meta_test
from vsml_tf.runs import builder, curves
from vsml_tf.runs.config import split_list, with_episodes_of
from vsml_tf.tools import tune_sgd

_TUNED = flags.DEFINE_string("tuned", None, "Output directory of vsml_tf.tools.tune_sgd "
                             "(its tuning.csv): baselines at their best rate over the "
                             "first window, per dataset.")
_BASELINES = flags.DEFINE_list("baselines", None, "Online SGD baselines as "
                               "OPTIMIZER_NETWORK@RATE, e.g. sgd_linear@0.1 (default with "
                               "--tuned: all four tuned ones; else sgd_linear@0.01 and "
                               "adam_linear@0.001, the paper's rates, untuned).")
_CLASSES = flags.DEFINE_list("classes", ["2", "3"], "Also run episodes of only the "
                             "first K classes of each dataset, for each K.")
_MAX_OCCURRENCE = flags.DEFINE_integer("max_occurrence", 10, "Occurrences reported.")
_OUT = flags.DEFINE_string("out", None, "Output directory.")

UNTUNED = ["sgd_linear@0.01", "adam_linear@0.001"]


def occurrence_index(labels: np.ndarray) -> np.ndarray:
    """labels [E, T] -> [E, T]: k if step t shows its class for the k-th time (1 = new)."""
    out = np.zeros(labels.shape, np.int64)
    for e, row in enumerate(labels):
        seen = {}
        for t, label in enumerate(row):
            seen[label] = seen.get(label, 0) + 1
            out[e, t] = seen[label]
    return out


def by_occurrence(values: np.ndarray, occurrence: np.ndarray, max_k: int):
    """Mean of `values` [E, T] at each occurrence k = 1..max_k -> (means, counts) [max_k];
    NaN where no step has that occurrence."""
    means, counts = np.full(max_k, np.nan), np.zeros(max_k, np.int64)
    for k in range(1, max_k + 1):
        mask = occurrence == k
        counts[k - 1] = mask.sum()
        if counts[k - 1]:
            means[k - 1] = values[mask].mean()
    return means, counts


def parse_baseline(spec: str) -> tuple[str, str, float]:
    """'sgd_linear@0.1' -> ('sgd', 'linear', 0.1)."""

    name, _, rate = spec.partition("@")
    optimizer, _, network = name.partition("_")
    try:
        rate = float(rate)
    except ValueError:
        rate = -1.0
    if optimizer not in tune_sgd.OPTIMIZERS or network not in tune_sgd.NETWORKS or rate <= 0:
        raise UserError(f"--baselines entry {spec!r}: write OPTIMIZER_NETWORK@RATE with "
                        f"OPTIMIZER in {tune_sgd.OPTIMIZERS}, NETWORK in "
                        f"{tuple(tune_sgd.NETWORKS)}, e.g. sgd_linear@0.1.")
    return optimizer, network, rate


def tuned_rates(directory: str) -> dict:
    """{(dataset, 'OPT_NET'): rate} best over the first window of tune_sgd's tuning.csv."""
    path = os.path.join(directory, "tuning.csv")
    if not os.path.exists(path):
        raise UserError(f"--tuned={directory}: no tuning.csv; run python -m "
                        f"vsml_tf.tools.tune_sgd --workdir={directory} first.")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    first = min({r["window"] for r in rows}, key=lambda w: tuple(map(int, w.split("-"))))
    best = {}
    for r in rows:
        key, acc = (r["dataset"], r["learner"]), float(r["accuracy"])
        if r["window"] == first and (key not in best or acc > best[key][0]):
            best[key] = (acc, float(r["learning_rate"]))
    return {key: rate for key, (_, rate) in best.items()}


def with_classes(config, k: int | None):
    """`config` meta-tested on the first k classes (None: all)."""
    config = ml_collections.ConfigDict(config.to_dict())
    config.evaluation.filter_classes = ",".join(map(str, range(k))) if k else ""
    return config


def learner_runs(config, learner_config, theta_runner, dataset, tuned, baselines):
    """(label, config, (runner, theta)) of the learner and the baselines for `dataset`."""

    runs = [("vsml" if learner_config.learner == "vsml" else learner_config.learner,
             learner_config, theta_runner)]
    specs = baselines
    if specs is None:
        specs = ([f"{name}@{rate:g}" for (d, name), rate in sorted(tuned.items())
                  if d == dataset] if tuned else UNTUNED)
    for spec in specs:
        optimizer, network, rate = parse_baseline(spec)
        if tuned and baselines is None:
            label = f"{optimizer}_{network} (tuned, lr {rate:g})"
        else:
            label = f"{optimizer}_{network} (lr {rate:g})"
        sgd = tune_sgd.baseline_config(config, optimizer, network, rate)
        runs.append((label, sgd, builder.load_meta_params(sgd, None)))
    return runs


def introspect(config, learner_config, runner, theta, out: str, tuned=None, baselines=None,
               classes=(2, 3), max_k: int = 10) -> list[dict]:
    """Run every learner on every dataset and class subset; write CSVs and plots."""
    ev = config.evaluation
    rows, episode_rows = [], []
    for dataset in split_list(ev.datasets):
        if tuned and baselines is None and not any(d == dataset for d, _ in tuned):
            raise UserError(f"--tuned has no rates for dataset {dataset!r}: tune on the "
                            f"same evaluation datasets.")
        runs = learner_runs(config, learner_config, (runner, theta), dataset, tuned,
                            baselines)
        for k in (None, *classes):
            for label, run_config, built in runs:
                run_config = with_classes(with_episodes_of(run_config, config), k)
                if run_config.data.batch_size != 1:
                    raise UserError("introspection counts occurrences per step: use "
                                    "data.batch_size=1.")
                run_runner, run_theta = built
                sampler = builder.sampler(run_config, run_runner.learner, dataset,
                                             "test", ev.episode_length)
                run_runner = builder.runner_for_episodes(run_config, run_runner, sampler)
                loss, acc = meta_test(run_runner, run_theta, sampler, ev.num_episodes,
                                      seed=config.seed, chunk=ev.chunk)
                labels = episode_labels(sampler, ev.num_episodes, config.seed,
                                        ev.chunk)[..., 0]
                p_true = np.exp(-loss)  # cross-entropy of the true class, batch 1
                occurrence = occurrence_index(labels)
                acc_k, counts = by_occurrence(acc, occurrence, max_k)
                p_k, _ = by_occurrence(p_true, occurrence, max_k)
                name = "all" if k is None else str(k)
                for i in range(max_k):
                    rows.append(dict(learner=label, dataset=dataset, classes=name,
                                     occurrence=i + 1, accuracy=acc_k[i],
                                     p_true=p_k[i], count=int(counts[i])))
                for t in range(labels.shape[1]):
                    episode_rows.append(dict(learner=label, dataset=dataset, classes=name,
                                             step=t, label=int(labels[0, t]),
                                             first=int(occurrence[0, t] == 1),
                                             p_true=float(p_true[0, t])))
    _write_csv(os.path.join(out, "occurrences.csv"), rows)
    _write_csv(os.path.join(out, "episode.csv"), episode_rows)
    _plot(out, rows, episode_rows)
    return rows


def _write_csv(path: str, rows: list[dict]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v
                             for k, v in row.items()})
    os.replace(path + ".tmp", path)


def _plot(out: str, rows: list[dict], episode_rows: list[dict], steps: int = 60) -> None:
    """occurrences_DATASET.png and episode_DATASET_CLASSES.png, in the learning curves'
    colours, line styles and chance line (`curves.curve_styles`, `curves.chance_line`).
    Both x axes stay linear: occurrences are 1..10, and the episode plot marks single
    steps (a class's first appearance) of one episode, unsmoothed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = curves.curve_styles(r["learner"] for r in rows + episode_rows)
    for dataset in sorted({r["dataset"] for r in rows}):
        classes = curves.num_classes({"dataset": dataset})
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for label in dict.fromkeys(r["learner"] for r in rows):
            mine = [r for r in rows if r["dataset"] == dataset and r["learner"] == label
                    and r["classes"] == "all"]
            ks = [r["occurrence"] for r in mine]
            for ax, key in zip(axes, ("accuracy", "p_true")):
                ax.plot(ks, [r[key] for r in mine], marker="o", markersize=3.5,
                        linewidth=1.5, label=label, **styles[label])
        for ax, title in zip(axes, ("accuracy", "probability of the true class")):
            if classes:
                curves.chance_line(ax, classes)
            ax.set_xlabel("occurrence of the class in the episode")
            ax.set_title(f"{dataset}: {title}", fontsize="medium")
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.25)
        axes[1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                       frameon=False, title="mean over the steps of every\nepisode "
                       "where a class occurs\nfor the k-th time", title_fontsize="small")
        fig.tight_layout()
        curves.save_png(fig, os.path.join(out, f"occurrences_{dataset}.png"), dpi=80)
        plt.close(fig)
        for name in dict.fromkeys(r["classes"] for r in episode_rows):
            fig, ax = plt.subplots(figsize=(10, 3.2))
            firsts = []
            for label in dict.fromkeys(r["learner"] for r in episode_rows):
                mine = [r for r in episode_rows if r["dataset"] == dataset and
                        r["learner"] == label and r["classes"] == name][:steps]
                ax.plot([r["step"] for r in mine], [r["p_true"] for r in mine], label=label,
                        linewidth=1.5, **styles[label])
                firsts = [r["step"] for r in mine if r["first"]]
            for t in firsts:
                ax.axvline(t, color="k", alpha=0.25, linestyle=":", linewidth=1)
            chance = classes if name == "all" else int(name)
            if chance:
                curves.chance_line(ax, chance)
            ax.set_xlabel("online step of the first episode (dotted: a class appears for "
                          "the first time)")
            ax.set_ylabel("p(true class)")
            ax.set_title(f"{dataset}, {name} classes", fontsize="medium")
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.25)
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      frameon=False)
            fig.tight_layout()
            curves.save_png(fig, os.path.join(out, f"episode_{dataset}_{name}.png"), dpi=80)
            plt.close(fig)


def main(argv):
    del argv
    tf.get_logger().setLevel("ERROR")  # one compiled episode per learner and subset
    config, workdir = cli.config_and_workdir()
    with cli.user_errors():
        source = cli.PRETRAINED.value or workdir
        learner_config, learner, theta = builder.load(source)
        runner = builder.runner(learner_config, learner)
        out = _OUT.value or (os.path.join("vsml_runs", f"introspect_{source}")
                             if cli.PRETRAINED.value else os.path.join(workdir, "introspect"))
        tuned = tuned_rates(_TUNED.value) if _TUNED.value else None
        classes = [int(k) for k in _CLASSES.value if k]
        introspect(config, learner_config, runner, theta, out, tuned, _BASELINES.value,
                   classes, _MAX_OCCURRENCE.value)
        print(f"Introspection outputs in {out}", flush=True)


if __name__ == "__main__":
    cli.run(main)
