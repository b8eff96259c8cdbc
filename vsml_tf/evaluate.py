"""Meta-test: run the learner with fixed meta-parameters on held-out episodes.

    vsml-evaluate --config=configs/NAME.py --workdir=DIR [--config.evaluation.datasets=a,b]

restores the latest checkpoint in DIR and writes DIR/eval/curves.csv, DIR/eval/curves.png
and DIR/eval/summary.txt (also printed). No gradient is taken: the learner learns inside
its activations.
"""

from __future__ import annotations

import os

from absl import logging

from vsml_tf import checkpoints, cli, curves, experiment
from vsml_tf.config import split_list


def meta_test(config, trainer) -> list[dict]:
    """Curves of trainer.theta on the test split of every evaluation dataset."""
    results = []
    learner = trainer.network
    ev = config.evaluation
    for dataset in split_list(ev.datasets):
        sampler = experiment.sampler(config, learner, dataset, "test", ev.episode_length)
        loss, acc = trainer.meta_test(sampler, ev.num_episodes, chunk=ev.chunk)
        results.append(dict(learner=config.learner, dataset=dataset, loss=loss, accuracy=acc))
    return results


def write_outputs(results: list[dict], workdir: str) -> str:
    out = os.path.join(workdir, "eval")
    curves.write_csv(os.path.join(out, "curves.csv"), results)
    curves.plot(os.path.join(out, "curves.png"), results)
    table = curves.summary_table(results)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write(table + "\n")
    return table


def evaluate(config, workdir: str, trainer=None) -> list[dict]:
    """Meta-test the latest checkpoint in `workdir` (or `trainer`'s current theta)."""
    if trainer is None:
        trainer = experiment.build_trainer(config)
        path = checkpoints.restore_meta_params(trainer.theta, workdir)
        logging.info("Meta-testing %s", path)
    results = meta_test(config, trainer)
    table = write_outputs(results, workdir)
    print(f"\nMeta-test ({config.evaluation.num_episodes} episodes of "
          f"{config.evaluation.episode_length} steps), outputs in "
          f"{os.path.join(workdir, 'eval')}:\n{table}", flush=True)
    return results


def main(argv):
    del argv
    config, workdir = cli.config_and_workdir()
    try:
        evaluate(config, workdir)
    except (FileNotFoundError, ValueError) as e:
        cli.fail(str(e))


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
