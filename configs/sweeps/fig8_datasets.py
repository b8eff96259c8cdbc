"""Paper Fig. 8: which meta-training datasets give a learning algorithm that generalizes.

Eleven runs of configs/paper_es.py: meta-train on each of mnist, fashion_mnist, random,
emnist, kmnist alone; on all five (worker i trains on dataset i mod 5); and on each set
of four (leave one out). Every run meta-tests on mnist, fashion_mnist, random, emnist,
kmnist and sum, at native size (EMNIST has 62 classes, sum 2; the learner adapts).

    python configs/sweeps/fig8_datasets.py [--workdir=runs/fig8] [--data_dir=DIR]

prints one `vsml-train` command per run; `get_sweep()` returns the runs as override dicts
({config key: value}) for a launcher. Each run is paper scale (1024 pairs, 500-step
episodes, 10,001 iterations; the paper used 128 GPUs for ~4 h per run). Expected (paper
Fig. 8): meta-test accuracy on every dataset for every training set, the grid of the
figure; not reproduced here. Runs that mix datasets give shard i of the population the
dataset i mod k (`training.num_shards` defaults to a multiple of k); shards run as
separate computations, so EMNIST's 62 classes mix with the others' 10 as they are. The
all-five run uses 1280 pairs so that five shards split the population evenly.

    python -m vsml_tf.tools.sweep configs/sweeps/fig8_datasets.py       # the points' flags

configs/sweeps/fig8_laptop.py is the laptop-scale grid (VSML and the baselines meta-trained
on MNIST, meta-tested everywhere with labels fixed and permuted), measured in docs/experiments/fig8.md.
"""

from __future__ import annotations

import argparse
import shlex

TRAIN = ("mnist", "fashion_mnist", "random", "emnist", "kmnist")
TEST = "mnist,fashion_mnist,random,emnist,kmnist,sum"
BASE = "configs/paper_es.py"


def _datasets(names):
    if len(names) == 1:
        return names[0]
    from vsml_tf.runs.per_worker import worker_split

    return worker_split(list(names))


def get_sweep() -> list[dict]:
    """[{'name': ..., 'data.dataset': ..., 'evaluation.datasets': ...}, ...]."""
    groups = [(f"train_{name}", (name,)) for name in TRAIN]
    groups.append(("train_all", TRAIN))
    groups += [(f"train_all_but_{left}", tuple(d for d in TRAIN if d != left))
               for left in TRAIN]
    points = [{"name": name, "data.dataset": _datasets(names), "evaluation.datasets": TEST}
              for name, names in groups]
    for point in points:
        if point["name"] == "train_all":
            point["es.population_size"] = 1280  # divisible by the 5 dataset shards
    return points


def commands(workdir: str = "runs/fig8", data_dir: str = "") -> list[str]:
    out = []
    for run in get_sweep():
        args = ["vsml-train", f"--config={BASE}", f"--workdir={workdir}/{run['name']}"]
        args += [f"--config.{key}={value}" for key, value in run.items() if key != "name"]
        if data_dir:
            args.append(f"--config.data.data_dir={data_dir}")
        out.append(shlex.join(args))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Print the Fig. 8 sweep's commands.")
    parser.add_argument("--workdir", default="runs/fig8")
    parser.add_argument("--data_dir", default="")
    args = parser.parse_args(argv)
    print("\n".join(commands(args.workdir, args.data_dir)))


if __name__ == "__main__":
    main()
