"""Meta-test one run of configs/invariances.py under the authors' invariance variants.

    python configs/sweeps/invariances.py RUN [--config=configs/invariances.py:laptop] \
        [--data_dir=DIR] | sh                  # one vsml-evaluate per variant
    python configs/sweeps/invariances.py RUN [RUN2 ...] --table   # one markdown table

Each variant meta-tests the latest checkpoint of RUN on MNIST's test split (the
episodes of the config: same seed, length and count for every variant) into
RUN/invariances/VARIANT/ (curves.csv, curves.png, summary.txt):

- all_classes: native 28x28, all 10 classes;
- classes_58142: only classes 5, 8, 1, 4, 2 (relabeled 0..4 in this order);
- resize_48x48, resize_21x21: resized (sizes no worker saw in meta-training);
- rand_proj: through a random projection (worker 0's, which meta-training never used);
- shuffle_pixels: with a fixed random permutation of the pixels.
"""

from __future__ import annotations

import argparse
import os
import shlex

BASE = "configs/invariances.py:laptop"
# Task variants apply at meta-test only with evaluation.preprocessing='all', which also
# applies worker 0's resize and class subset: cleared here (worker 0 has none anyway).
_PLAIN = {"data.resize": 'worker_split([""])', "data.filter_classes": 'worker_split([""])',
          "evaluation.preprocessing": "all"}
VARIANTS = {
    "all_classes": {},
    "classes_58142": {"evaluation.filter_classes": "5,8,1,4,2"},
    "resize_48x48": {"data.resize": 'worker_split(["48x48"])',
                     "evaluation.preprocessing": "shape"},
    "resize_21x21": {"data.resize": 'worker_split(["21x21"])',
                     "evaluation.preprocessing": "shape"},
    "rand_proj": {**_PLAIN, "data.rand_proj": "worker_split([True])"},
    "shuffle_pixels": {**_PLAIN, "data.rand_proj": "worker_split([False])",
                       "data.shuffle_pixels": True},
}


def get_sweep() -> list[dict]:
    """[{'name': VARIANT, config key: value, ...}, ...]."""
    return [{"name": name, **overrides} for name, overrides in VARIANTS.items()]


def commands(run: str, config: str = BASE, data_dir: str = "",
             dataset: str = "mnist") -> list[str]:
    out = []
    for point in get_sweep():
        args = ["vsml-evaluate", f"--config={config}", f"--workdir={run}",
                f"--eval_dir={os.path.join(run, 'invariances', point['name'])}",
                f"--config.evaluation.datasets={dataset}"]
        args += [f"--config.{key}={value}" for key, value in point.items() if key != "name"]
        if data_dir:
            args.append(f"--config.data.data_dir={data_dir}")
        out.append(shlex.join(args))
    return out


def table(*runs: str) -> str:
    """Markdown: one row per variant; per run (column label: the run's directory name)
    the accuracy over the first 100 steps and the last quarter of the episodes."""
    from vsml_tf.runs import curves
    from vsml_tf.tools.tune_sgd import default_windows

    header, rows = ["variant", "episodes"], {name: [] for name in VARIANTS}
    for run in runs:
        label = os.path.basename(os.path.normpath(run))
        for name in VARIANTS:
            path = os.path.join(run, "invariances", name, "curves.csv")
            if not os.path.exists(path):
                raise SystemExit(f"{path} is missing: run the sweep's commands first.")
            (result,) = curves.read_csv(path)
            acc = result["accuracy"]
            windows = default_windows(acc.shape[1])
            if name == next(iter(VARIANTS)):  # this run's columns
                header += [(f"{label} " if len(runs) > 1 else "") + f"acc. steps {a}–{b - 1}"
                           for a, b in windows]
            if not rows[name]:
                rows[name].append(str(acc.shape[0]))
            rows[name] += [f"{acc[:, a:b].mean():.3f}" for a, b in windows]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows.items()]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="+", help="workdir(s) of configs/invariances.py runs "
                        "(several: --table puts them side by side)")
    parser.add_argument("--config", default=BASE)
    parser.add_argument("--data_dir", default="")
    parser.add_argument("--table", action="store_true", help="print the results table")
    args = parser.parse_args(argv)
    if args.table:
        print(table(*args.run))
    else:
        print("\n".join(c for run in args.run
                        for c in commands(run, args.config, args.data_dir)))


if __name__ == "__main__":
    main()
