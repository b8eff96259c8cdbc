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
  LABEL=SHIPPED   a learner shipped with the package (python -m vsml_tf.pretrained);
  NAME, LABEL=NAME  a registered learner without meta-parameters (e.g. sgd), set up by
                  the --config's own sections (e.g. baselines.sgd).
Then exactly these learners are meta-tested (the run in --workdir only if listed) and
--workdir receives the outputs, with LABEL in the `learner` column. Every learner sees the
same episodes: datasets, episode length and count, batch size and seed all come from
--config (each learner keeps its own data settings otherwise, e.g. padding).
"""

from __future__ import annotations

import json
import os

import ml_collections
from absl import logging

from vsml_tf import cli, curves, experiment, learners, pretrained, workers
from vsml_tf.config import ConfigError, base_config, split_list, validate
from vsml_tf.errors import MissingFileError, UserError
from vsml_tf.meta_test import meta_test


def meta_test_datasets(config, runner, theta, label: str | None = None) -> list[dict]:
    """Curves of `theta` on the test split of every evaluation dataset, on the episodes
    of config.seed."""
    results = []
    ev = config.evaluation
    for dataset in split_list(ev.datasets):
        sampler = experiment.sampler(config, runner.learner, dataset, "test",
                                     ev.episode_length)
        loss, acc = meta_test(experiment.runner_for_episodes(config, runner, sampler),
                              theta, sampler, ev.num_episodes, seed=config.seed,
                              chunk=ev.chunk)
        results.append(dict(learner=label or config.learner, dataset=dataset, loss=loss,
                            accuracy=acc))
    return results


def write_outputs(results: list[dict], workdir: str, out: str | None = None) -> str:
    """curves.csv, curves.png and summary.txt into `out` (default WORKDIR/eval)."""
    out = out or os.path.join(workdir, "eval")
    curves.write_csv(os.path.join(out, "curves.csv"), results)
    curves.plot(os.path.join(out, "curves.png"), results)
    table = curves.summary_table(results)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write(table + "\n")
    return table


def run_config(workdir: str) -> ml_collections.ConfigDict:
    """The resolved config a vsml-train run wrote to WORKDIR/config.json."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise MissingFileError(f"No config.json in {workdir}: a compare entry LABEL=WORKDIR "
                                f"needs the workdir of a vsml-train run.")
    config = base_config()

    def merge(target, values, prefix):
        for key, value in values.items():
            if key not in target:
                raise ConfigError(f"{path}: unknown config key '{prefix}{key}' (a run of "
                                  f"another version of vsml_tf?).")
            if isinstance(target[key], ml_collections.ConfigDict):
                merge(target[key], value, f"{prefix}{key}.")
            elif workers.is_worker_split(value):  # written as 'worker_split([...])'
                with target.ignore_type():
                    target[key] = workers.parse(value)
            else:
                target[key] = value

    with open(path) as f:
        merge(config, json.load(f), "")
    validate(config)
    return config


# Where this machine keeps the data: taken from the invoking config, not the learner's run.
DATA_SOURCE_KEYS = ("source", "data_dir", "tfds_data_dir", "tfds_download")


def with_episodes_of(learner_config, config) -> ml_collections.ConfigDict:
    """learner_config, meta-tested on the episodes of `config` (its evaluation section,
    seed and in-episode batch size), reading the data from where `config` says."""
    learner_config = ml_collections.ConfigDict(learner_config.to_dict())
    for key, value in config.evaluation.items():
        learner_config.evaluation[key] = value
    learner_config.evaluation.compare = ""
    learner_config.seed = config.seed
    learner_config.data.batch_size = config.data.batch_size
    for key in DATA_SOURCE_KEYS:
        learner_config.data[key] = config.data[key]
    return learner_config


def compare_entries(config) -> list[tuple[str, ml_collections.ConfigDict, str | None]]:
    """(label, learner config, workdir or None) for each entry of evaluation.compare."""
    entries, labels = [], set()
    for item in split_list(config.evaluation.compare):
        label, _, source = (s.strip() for s in item.partition("="))
        source = source or label
        if not label or label in labels:
            raise UserError(f"evaluation.compare entry {item!r}: labels must be unique and "
                            f"non-empty (LABEL=WORKDIR or NAME).")
        labels.add(label)
        if os.path.isdir(source):
            learner_config, workdir = run_config(source), source
        elif source in pretrained.names():
            learner_config, workdir = pretrained.load(source)[0], pretrained.directory(source)
        elif source in learners.LEARNERS:
            learner_config, workdir = ml_collections.ConfigDict(config.to_dict()), None
            learner_config.learner = source
        else:
            raise UserError(f"evaluation.compare entry {item!r}: {source!r} is neither a "
                            f"directory, nor a shipped learner {pretrained.names()}, nor a "
                            f"registered learner {sorted(learners.LEARNERS)}.")
        entries.append((label, with_episodes_of(learner_config, config), workdir))
    return entries


def evaluate(config, workdir: str, trained=None, out: str | None = None) -> list[dict]:
    """Meta-test the latest checkpoint in `workdir` (or `trained` = (runner, theta) of a
    run just finished), or the learners of `evaluation.compare`; write the outputs to
    `out` (default workdir/eval)."""
    entries = compare_entries(config)
    runs = []
    if trained is not None:
        runs.append((config.learner, config, *trained))
    elif not entries:
        runs.append((config.learner, config, *experiment.load_meta_params(config, workdir)))
    runs += [(label, learner_config, *experiment.load_meta_params(learner_config, source,
                                                                  label))
             for label, learner_config, source in entries]  # every error before any work
    results = []
    for label, learner_config, runner, theta in runs:
        logging.info("Meta-testing %s (%s)", label, learner_config.learner)
        results += meta_test_datasets(learner_config, runner, theta, label)
    out = out or os.path.join(workdir, "eval")
    table = write_outputs(results, workdir, out)
    print(f"\nMeta-test ({config.evaluation.num_episodes} episodes of "
          f"{config.evaluation.episode_length} steps), outputs in {out}:\n{table}",
          flush=True)
    return results


def main(argv):
    del argv
    config, workdir = cli.config_and_workdir()
    with cli.user_errors():
        if cli.PRETRAINED.value:
            from vsml_tf import pretrained
            pretrained.evaluate(cli.PRETRAINED.value, config, cli.WORKDIR.value)
        else:
            evaluate(config, workdir, out=cli.EVAL_DIR.value)


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
