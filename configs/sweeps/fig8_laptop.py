"""Paper Fig. 8 at laptop scale: VSML and the meta-learned baselines, meta-trained on
MNIST, meta-tested on every dataset with labels fixed and permuted per episode.

    python configs/sweeps/fig8_laptop.py RUN [--data_dir=DIR] [--datasets=a,b] | sh
    python configs/sweeps/fig8_laptop.py RUN --table      # markdown grid + one PNG per dataset

The printed commands, in order:
1. meta-train each baseline (Meta RNN, Fast Weight Memory, Hebbian, FWP) on MNIST into
   RUN/NAME: its own config (gradient through 16 episodes of 100 steps per iteration),
   `ITERATIONS` iterations, inputs padded to 28x28x1 and outputs to 62 classes as the paper
   did, so that one model serves every dataset;
2. `tune_sgd` into RUN/fixed: online SGD/Adam (linear, one hidden layer) at every rate of
   `RATES` on the episodes of configs/rand_proj.py:laptop (32 episodes of 2,000 steps,
   native sizes, seed 0), with every meta-learned learner meta-tested on the same episodes;
3. `vsml-evaluate` into RUN/permuted: the meta-learned learners again, labels permuted per
   episode, so that no class -> label map from meta-training helps.

VSML is `--vsml` (default the shipped `mnist_rand_proj_laptop`, made by
configs/rand_proj.py:laptop: ES on 100-step MNIST episodes; or the workdir of a run). Tuned SGD/Adam start every episode from fresh weights drawn symmetrically over the
classes, so permuting labels does not change what they can reach: they are tuned once.

Measured (seed 0, 2-core CPU, mnist,digits,random,sum; about 37 min in all; docs/experiments/fig8.md, "the
dataset grid"): the baselines 0.91-0.97 on MNIST with fixed labels, chance with permuted
labels and on every other dataset; VSML the same with fixed and permuted labels (MNIST
0.576 / 0.734 over steps 0-99 / 1500-1999, digits 0.672 / 0.800).

Without meta-training (minutes, not the sweep's 37): the learners shipped with the package
on the same episodes, fixed and permuted labels, next to the tuned baseline the sweep found
best late on MNIST (Adam, one hidden layer, rate 3e-4):

    python configs/sweeps/fig8_laptop.py RUN --shipped [--data_dir=DIR] | sh
    python configs/sweeps/fig8_laptop.py RUN --table       # the same table and PNGs

The figures (`curves.plot`: log step axis, trailing mean over the last 20% of steps, band
mean +- 1 standard error over the episodes, chance line) are docs/fig8_laptop_*.png.
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex

BASELINES = ("metarnn", "fwmemory", "hebbian", "fwp")
ITERATIONS = 500
DATASETS = "mnist,fashion_mnist,kmnist,emnist,digits,random,sum"
EPISODES = "configs/rand_proj.py:laptop"
# Covers every rate tune_sgd found best on digits and MNIST (docs/baselines.md).
RATES = "3e-4,1e-3,3e-3,1e-2,3e-2,0.1,0.3"
TRAIN = {"data.dataset": "mnist", "data.pad_inputs": "28x28x1", "data.pad_classes": 62,
         "training.num_iterations": ITERATIONS, "evaluation.datasets": "mnist"}
TUNED = "tuned SGD/Adam"
# --shipped: learners shipped with the package, and the tuned baseline as `sgd` settings.
# docs/fig8_laptop_{mnist,digits}.png were made so (seed 0, the episodes of EPISODES:
# 32 of 2,000 steps; the two commands it prints, run with the outputs of the second in
# RUN/permuted/eval, then moved to RUN/permuted/curves.csv):
#   python configs/sweeps/fig8_laptop.py RUN --shipped --data_dir=/work/shared/data | sh
#   python configs/sweeps/fig8_laptop.py RUN --table
# Wall time on the 2-core CPU shared with a test run: 299 s (fixed labels, 3 learners)
# + 287 s (permuted, 2 learners) + 17 s (table and PNGs).
SHIPPED = {"vsml": "mnist_rand_proj_laptop", "vsml_long": "mnist_rand_proj_laptop_long"}
SHIPPED_SGD = {"baselines.sgd.optimizer": "adam", "baselines.sgd.num_layers": 2,
               "baselines.sgd.learning_rate": 3e-4}
SHIPPED_SGD_LABEL = "adam_hidden"


def compare(run: str, vsml: str) -> str:
    """evaluation.compare: VSML and the baselines meta-trained into RUN."""
    return ",".join([f"vsml={vsml}"] + [f"{name}={os.path.join(run, name)}"
                                        for name in BASELINES])


def commands(run: str, data_dir: str = "", datasets: str = DATASETS,
             vsml: str = "mnist_rand_proj_laptop") -> list[str]:
    data = [f"--config.data.data_dir={data_dir}"] if data_dir else []
    out = []
    for name in BASELINES:
        args = ["vsml-train", f"--config=configs/{name}.py",
                f"--workdir={os.path.join(run, name)}"]
        args += [f"--config.{key}={value}" for key, value in TRAIN.items()]
        out.append(shlex.join(args + data))
    episodes = [f"--config={EPISODES}", f"--config.evaluation.datasets={datasets}",
                f"--config.evaluation.compare={compare(run, vsml)}"] + data
    out.append(shlex.join(["python", "-m", "vsml_tf.tools.tune_sgd", *episodes,
                           f"--workdir={os.path.join(run, 'fixed')}",
                           f"--learning_rates={RATES}"]))
    out.append(shlex.join(["vsml-evaluate", *episodes, f"--workdir={run}",
                           f"--eval_dir={os.path.join(run, 'permuted')}",
                           "--config.evaluation.permute_labels=True"]))
    return out


def shipped_commands(run: str, data_dir: str = "", datasets: str = "mnist,digits") -> list[str]:
    """Two `vsml-evaluate`s of the shipped learners (no meta-training), into the layout
    of `commands`: RUN/fixed/eval (with the tuned Adam) and RUN/permuted."""
    data = ([f"--config.data.data_dir={data_dir}", "--config.data.source=files"]
            if data_dir else [])
    episodes = [f"--config={EPISODES}", f"--config.evaluation.datasets={datasets}", *data]
    episodes += [f"--config.{key}={value}" for key, value in SHIPPED_SGD.items()]
    learners = ",".join(f"{label}={name}" for label, name in SHIPPED.items())
    return [shlex.join(["vsml-evaluate", *episodes, f"--workdir={os.path.join(run, 'fixed')}",
                        f"--config.evaluation.compare={learners},{SHIPPED_SGD_LABEL}=sgd"]),
            shlex.join(["vsml-evaluate", *episodes, f"--workdir={run}",
                        f"--eval_dir={os.path.join(run, 'permuted')}",
                        "--config.evaluation.permute_labels=True",
                        f"--config.evaluation.compare={learners}"])]


def _best_tuned(path: str) -> dict:
    """{(dataset, 'a-b'): accuracy}: the best baseline and rate of tune_sgd's grid."""
    best = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            key = (row["dataset"], row["window"])
            best[key] = max(best.get(key, 0.0), float(row["accuracy"]))
    return best


def _read(path: str) -> list[dict]:
    from vsml_tf.runs import curves

    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: run the sweep's commands first.")
    return curves.read_csv(path)


def grid(run: str) -> tuple[str, dict]:
    """(markdown table, {dataset: [curves]}): rows learner x labels, columns dataset,
    cells accuracy over the first 100 steps / the last quarter of the episodes."""
    from vsml_tf.tools.tune_sgd import default_windows

    results = {}  # (learner, labels, dataset) -> curves
    paths = {"permuted": os.path.join(run, "permuted", "curves.csv"),
             "fixed": os.path.join(run, "fixed", "eval", "curves.csv")}
    permuted = _read(paths["permuted"])
    learners = tuple(dict.fromkeys(r["learner"] for r in permuted))  # the meta-learned
    for labels, path in paths.items():
        for r in permuted if labels == "permuted" else _read(path):
            if r["learner"] in learners:
                results[(r["learner"], labels, r["dataset"])] = r
            else:  # tune_sgd's baselines at their best late-window rate (--shipped: one)
                results[(r["learner"], "tuned", r["dataset"])] = r
    tuning = os.path.join(run, "fixed", "tuning.csv")
    tuned = _best_tuned(tuning) if os.path.exists(tuning) else None
    datasets = list(dict.fromkeys(k[2] for k in results))
    steps = next(iter(results.values()))["accuracy"].shape[1]
    windows = default_windows(steps)
    span = " / ".join(f"{a}–{b - 1}" for a, b in windows)
    header = ["learner", "labels"] + [f"{d} ({span})" for d in datasets]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for learner in learners:
        for labels in ("fixed", "permuted"):
            cells = []
            for dataset in datasets:
                r = results.get((learner, labels, dataset))
                cells.append(" / ".join(f"{r['accuracy'][:, a:b].mean():.3f}"
                                        for a, b in windows) if r else "")
            lines.append(f"| {learner} | {labels} | " + " | ".join(cells) + " |")
    if tuned is not None:
        cells = []
        for dataset in datasets:
            best = [tuned.get((dataset, f"{a}-{b}")) for a, b in windows]
            cells.append("" if None in best else " / ".join(f"{v:.3f}" for v in best))
        lines.append(f"| {TUNED} (best per window) | either | " + " | ".join(cells) + " |")
    else:  # --shipped: the one baseline's own row
        for learner in dict.fromkeys(k[0] for k in results if k[1] == "tuned"):
            cells = [" / ".join(f"{results[(learner, 'tuned', d)]['accuracy'][:, a:b].mean():.3f}"
                                for a, b in windows) if (learner, "tuned", d) in results
                     else "" for d in datasets]
            lines.append(f"| {learner} | either | " + " | ".join(cells) + " |")
    figures = {}
    for dataset in datasets:
        shown = [dict(results[(learner, labels, dataset)], learner=f"{learner} ({labels})")
                 for learner in learners for labels in ("fixed", "permuted")
                 if (learner, labels, dataset) in results]
        late = windows[-1]
        sgd = [r for (_, labels, d), r in results.items() if d == dataset and labels == "tuned"]
        if sgd:  # the tuned baseline best over the last window
            best = max(sgd, key=lambda r: r["accuracy"][:, late[0]:late[1]].mean())
            if best["learner"] == SHIPPED_SGD_LABEL:  # --shipped: say its rate
                rate = SHIPPED_SGD["baselines.sgd.learning_rate"]
                best = dict(best, learner=f"{best['learner']} lr={rate:g}")
            shown.append(best)
        figures[dataset] = shown
    return "\n".join(lines), figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="directory of the sweep's runs and outputs")
    parser.add_argument("--data_dir", default="")
    parser.add_argument("--datasets", default=DATASETS,
                        help="meta-test datasets (those without local files or TFDS fail)")
    parser.add_argument("--vsml", default="mnist_rand_proj_laptop",
                        help="VSML learner: a shipped name or a vsml-train workdir")
    parser.add_argument("--table", action="store_true",
                        help="print the grid; write RUN/fig8_DATASET.png per dataset")
    parser.add_argument("--shipped", action="store_true",
                        help="print the commands that meta-test the shipped learners only "
                             "(no meta-training; --datasets default mnist,digits)")
    args = parser.parse_args(argv)
    if args.shipped and not args.table:
        datasets = args.datasets if args.datasets != DATASETS else "mnist,digits"
        print("\n".join(shipped_commands(args.run, args.data_dir, datasets)))
        return
    if not args.table:
        print("\n".join(commands(args.run, args.data_dir, args.datasets, args.vsml)))
        return
    text, figures = grid(args.run)
    for dataset, shown in figures.items():
        plot(os.path.join(args.run, f"fig8_{dataset}.png"), dataset, shown)
    print(text)


def plot(path: str, dataset: str, shown: list[dict]) -> None:
    """One dataset's figure in the package's style (`curves.plot`): colour per learner,
    dashed where labels were permuted."""
    from vsml_tf.runs import curves

    curves.plot(path, shown, title=f"Meta-trained on MNIST, meta-tested on {dataset}: "
                                   f"fixed vs permuted labels")


if __name__ == "__main__":
    main()
