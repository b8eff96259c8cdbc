"""Sweep of the online SGD / Adam baseline: layers x optimizer (paper Sec. 4, Fig. 6).

`get_sweep()` returns one dict of config overrides per run ({dotted key: value}, the keys
of `--config.KEY=VALUE`) for configs/sgd.py; the optimizer comes with its paper learning
rate (SGD 0.01, Adam 1e-3). Running this file prints the four runs -- `vsml-train` on a
learner without meta-parameters only writes config.json and meta-tests -- and one
`vsml-evaluate` that compares them on the same episodes in one curves.csv and plot:

    python configs/sweeps/sgd.py | sh        # about 2 minutes on a 2-core CPU
    python configs/sweeps/sgd.py CONFIG ROOT # another base config / output root

Paper scale: add `--config.evaluation.episode_length=16000` and the paper's datasets.
"""

import itertools
import shlex
import sys

NUM_LAYERS = {"linear": 1, "hidden": 2}  # hidden: one tanh layer of 160 units
OPTIMIZERS = {"sgd": 0.01, "adam": 1e-3}


def get_sweep() -> list[dict]:
    return [{"baselines.sgd.num_layers": layers, "baselines.sgd.optimizer": optimizer,
             "baselines.sgd.learning_rate": lr}
            for (layers, (optimizer, lr)) in itertools.product(NUM_LAYERS.values(),
                                                               OPTIMIZERS.items())]


def run_name(overrides: dict) -> str:
    layers = {v: k for k, v in NUM_LAYERS.items()}[overrides["baselines.sgd.num_layers"]]
    return f"{overrides['baselines.sgd.optimizer']}_{layers}"


def commands(config: str = "configs/sgd.py", root: str = "vsml_runs/sgd_sweep") -> list[str]:
    """One vsml-evaluate per sweep point, then one that compares them all."""
    lines, entries = [], []
    for overrides in get_sweep():
        name = run_name(overrides)
        flags = " ".join(f"--config.{k}={v}" for k, v in overrides.items())
        # vsml-train writes config.json (for the comparison) and meta-tests: nothing to train.
        lines.append(f"vsml-train --config={config} --workdir={root}/{name} {flags}")
        entries.append(f"{name}={root}/{name}")
    lines.append(f"vsml-evaluate --config={config} --workdir={root} "
                 f"--config.evaluation.compare={shlex.quote(','.join(entries))}")
    return lines


if __name__ == "__main__":
    print("\n".join(commands(*sys.argv[1:])))
