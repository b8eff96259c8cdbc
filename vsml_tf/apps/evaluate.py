"""Meta-test: run learners with fixed meta-parameters on held-out episodes.

    vsml-evaluate --config=configs/NAME.py --workdir=DIR [--config.evaluation.datasets=a,b]

restores the latest checkpoint in DIR (a learner without meta-parameters, such as online
SGD, needs none) and writes DIR/eval/curves.csv, DIR/eval/curves.png and
DIR/eval/summary.txt (also printed). No gradient is taken: the learner learns inside its
activations (online SGD excepted: its learning *is* gradient descent).

Several learners on the same episodes, into one curves.csv and one plot:

    vsml-evaluate --config=configs/quickstart.py --workdir=vsml_runs/compare \\
        --config.evaluation.compare=vsml=vsml_runs/quickstart,metarnn=vsml_runs/metarnn,sgd

`evaluation.compare` is a comma-separated list of
  LABEL=WORKDIR   a run of vsml-train: learner and settings from WORKDIR/config.json,
                  meta-parameters from the latest checkpoint in WORKDIR/checkpoints;
  LABEL=SHIPPED   a learner shipped with the package (python -m vsml_tf.apps.pretrained);
  NAME, LABEL=NAME  a registered learner without meta-parameters (e.g. sgd), set up by
                  the --config's own sections (e.g. baselines.sgd).
Then exactly these learners are meta-tested (the run in --workdir only if listed) and
--workdir receives the outputs, with LABEL in the `learner` column. Every learner sees the
same episodes: datasets, episode length and count, batch size and seed all come from
--config (each learner keeps its own data settings otherwise, e.g. padding).
"""

from __future__ import annotations

import os

import ml_collections
from absl import logging

from vsml_tf.apps import cli
from vsml_tf.apps.interrupts import Interrupted, StopRequest
from vsml_tf.core.errors import UserError
from vsml_tf.learners import registry
from vsml_tf.runs import builder, curves, loading
from vsml_tf.runs.config import split_list, with_episodes_of


# Meta-tests `theta` on every evaluation dataset (defined in the builder, where
# vsml_tf.load_learner reaches it without this module's command-line flags).
meta_test_datasets = builder.meta_test_datasets


def compare_entries(config) -> list[tuple[str, ml_collections.ConfigDict, str | None]]:
    """(label, learner config, source or None) for each entry of evaluation.compare: a
    source (workdir or shipped learner, resolved by `loading`) holds meta-parameters."""
    entries, labels = [], set()
    for item in split_list(config.evaluation.compare):
        label, _, source = (s.strip() for s in item.partition("="))
        source = source or label
        if not label or label in labels:
            raise UserError(f"evaluation.compare entry {item!r}: labels must be unique and "
                            f"non-empty (LABEL=WORKDIR or NAME).")
        labels.add(label)
        if loading.is_source(source):  # a workdir or a shipped learner
            learner_config = loading.read_config(source)
        elif source in registry.LEARNERS:  # no meta-parameters: set up by --config
            learner_config = ml_collections.ConfigDict(config.to_dict())
            learner_config.learner, source = source, None
        else:
            raise UserError(f"evaluation.compare entry {item!r}: {source!r} is neither a "
                            f"directory, nor a shipped learner {loading.names()}, nor a "
                            f"registered learner {sorted(registry.LEARNERS)}.")
        entries.append((label, with_episodes_of(learner_config, config), source))
    return entries


def evaluate(config, workdir: str, trained=None, out: str | None = None,
             label: str | None = None) -> list[dict]:
    """Meta-test the latest checkpoint in `workdir` (or `trained` = (runner, theta) of a
    run just finished), or the learners of `evaluation.compare`; write the outputs to
    `out` (default workdir/eval). `label` names `trained` in the tables (default: the
    learner, e.g. 'vsml')."""
    entries = compare_entries(config)
    runs = []
    if trained is not None:
        runs.append((label or config.learner, config, *trained))
    elif not entries:
        runs.append((config.learner, config, *builder.load_meta_params(config, workdir)))
    runs += [(label, learner_config, *builder.load_meta_params(learner_config, source,
                                                                  label))
             for label, learner_config, source in entries]  # every error before any work
    results = []
    for name, learner_config, runner, theta in runs:
        logging.info("Meta-testing %s (%s)", name, learner_config.learner)
        results += meta_test_datasets(learner_config, runner, theta, name)
    out = out or os.path.join(workdir, "eval")
    table = curves.write_outputs(results, out)
    print(f"\nMeta-test ({config.evaluation.num_episodes} episodes of "
          f"{config.evaluation.episode_length} steps), outputs in {out}:\n{table}",
          flush=True)
    return results


def evaluate_shipped(name: str, config, workdir: str | None) -> list[dict]:
    """`vsml-evaluate --pretrained=NAME`: meta-test the shipped learner on the episodes of
    `config` (evaluation section, seed, in-episode batch size; the learner keeps its own
    model and data settings), writing to `workdir` (default vsml_runs/pretrained_NAME),
    labelled NAME in the tables."""
    learner_config, learner, theta = builder.load(name, episodes_of=config)
    workdir = workdir or os.path.join("vsml_runs", f"pretrained_{name}")
    return evaluate(learner_config, workdir, (builder.runner(learner_config, learner), theta),
                    label=name)  # its name, not its kind ('vsml'), in the tables


def main(argv):
    del argv
    config, workdir = cli.config_and_workdir(prefer_recorded=True)
    with cli.user_errors(), StopRequest("the meta-test", raise_at_once=True):
        try:
            if cli.PRETRAINED.value:
                evaluate_shipped(cli.PRETRAINED.value, config, cli.WORKDIR.value)
            else:
                evaluate(config, workdir, out=cli.EVAL_DIR.value)
        except Interrupted:
            print("Meta-test interrupted: nothing was written; re-run the command to "
                  "meta-test.", flush=True)


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
