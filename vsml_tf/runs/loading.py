"""Where a learner's meta-parameters come from: a shipped learner or a run's workdir.

A *source* is the name of a shipped learner (`python -m vsml_tf.apps.pretrained` lists
them), a shipped learner's directory, or the workdir of a `vsml-train` run. Every command
and API that takes a learned learner resolves it here, and only here: `training.init_from`,
`vsml-evaluate` (`--pretrained` and `evaluation.compare`), `VSMLClassifier`,
`vsml_tf.load_learner`, the tools and the listing of shipped learners. `builder.load`
adds the built learner to what `load` returns. What a workdir's checkpoint files look like
is known to `checkpoints` alone, a shipped learner's files to `pretrained` alone.
"""

from __future__ import annotations

import dataclasses
import os

import ml_collections
import numpy as np
import tensorflow as tf

from vsml_tf.core.errors import MissingFileError, UserError
from vsml_tf.runs import checkpoints, per_worker, pretrained, workdir

SHIPPED, WORKDIR = "shipped", "workdir"


class UnknownSourceError(MissingFileError):
    """Neither a shipped learner's name nor a directory (the message lists the names)."""


@dataclasses.dataclass(frozen=True)
class Source:
    """A resolved source (hashable: a cache key of the learner it holds).

    kind: 'shipped' or 'workdir'.
    path: its directory, absolute.
    name: the shipped learner's name, or the workdir as given.
    checkpoint: for a workdir, the checkpoint read (`pinned`); None: its newest."""

    kind: str
    path: str
    name: str
    checkpoint: str | None = None


def names() -> list[str]:
    """The shipped learners' names."""
    return pretrained.names()


def is_source(source: str) -> bool:
    """Whether `source` names a shipped learner or a directory (that may hold one)."""
    return source in names() or os.path.isdir(source)


def _choose() -> str:
    return (f"choose one of the shipped learners {names()} (python -m "
            f"vsml_tf.apps.pretrained lists them) or the --workdir of a vsml-train run")


def resolve(source: str | os.PathLike | Source) -> Source:
    """The Source that `source` names; a clear error when it names none. A workdir must
    hold the config.json every vsml-train run writes first; its checkpoints are looked
    for only when read (`pinned`, `meta_params`)."""
    if isinstance(source, Source):
        return source
    given = os.fspath(source)
    if given in names():
        return Source(SHIPPED, os.path.abspath(pretrained.directory(given)), given)
    if pretrained.is_shipped(given):
        return Source(SHIPPED, os.path.abspath(given), os.path.basename(given.rstrip("/")))
    if not os.path.isdir(given):
        raise UnknownSourceError(f"No shipped learner {given!r} and no directory of that "
                                 f"name: {_choose()}.")
    if not os.path.exists(os.path.join(given, workdir.CONFIG_FILE)):
        raise MissingFileError(f"No {workdir.CONFIG_FILE} in {given}: a directory with "
                               f"no {workdir.CONFIG_FILE} is not the workdir of a "
                               f"vsml-train run (nor a shipped learner's directory); run "
                               f"vsml-train with --workdir={given} first, or choose one "
                               f"of the shipped learners {names()}.")
    return Source(WORKDIR, os.path.abspath(given), given)


def pinned(source: str | os.PathLike | Source) -> Source:
    """`source` resolved, a workdir's with its newest checkpoint that reads back named (a
    later checkpoint of a run still training does not change what it loads)."""
    source = resolve(source)
    if source.kind == SHIPPED or source.checkpoint is not None:
        return source
    prefix = checkpoints.latest_readable(source.path)
    if prefix is None:
        raise MissingFileError(
            f"{source.name} has no checkpoint in {checkpoints.directory(source.name)}: run "
            f"vsml-train with --workdir={source.name} until it saves one "
            f"(checkpoint.every), or pass the workdir of a trained run.")
    return dataclasses.replace(source, checkpoint=prefix)


def read_config(source: str | os.PathLike | Source) -> ml_collections.ConfigDict:
    """The resolved config the learner was meta-trained with (its config.json)."""
    return workdir.read_config(resolve(source).path)


def meta_params(source: str | os.PathLike | Source) -> np.ndarray:
    """The flat meta-parameters [D] float32 (a workdir's: of its newest checkpoint that
    reads back, or of the one `pinned` named)."""
    source = pinned(source)
    if source.kind == SHIPPED:
        return pretrained.meta_params(source.path)
    return checkpoints.read_meta_params(source.checkpoint)[0]


def load(source: str | os.PathLike | Source) -> tuple[ml_collections.ConfigDict, np.ndarray]:
    """(config, theta [D] float32): the learner's resolved config and its meta-parameters
    (a shipped learner's, or the newest readable checkpoint of a workdir)."""
    return read_config(source), meta_params(source)


def metadata(source: str | os.PathLike | Source) -> dict:
    """How the learner was made: a shipped learner's metadata.json (command, iterations,
    wall time, seed, version, meta-test table); for a workdir, what its files say
    (learner, checkpoint, iteration, number of meta-parameters)."""
    source = pinned(source)
    if source.kind == SHIPPED:
        return pretrained.read_metadata(source.path)
    theta, iteration = checkpoints.read_meta_params(source.checkpoint)
    return {"name": source.name, "learner": read_config(source).learner,
            "workdir": source.path, "checkpoint": source.checkpoint,
            "iterations": iteration, "num_meta_params": int(theta.size)}


def config_horizon(config: ml_collections.ConfigDict) -> int:
    """The longest episodes (steps) a run's config meta-trains or meta-tests on."""
    lengths = [config.training.episode_length, config.evaluation.episode_length]
    return int(max(max(per_worker.options(n)) for n in lengths))


def horizon(source: str | os.PathLike | Source) -> int:
    """The longest stream (steps) the learner is known to keep learning on: the
    metadata's `horizon` where one was checked and recorded, else the longest of its
    recorded meta-test episodes and of its config's meta-training and meta-test ones.
    Past it a learned learner may stop learning or collapse (VSMLClassifier warns)."""
    info = metadata(source)
    if "horizon" in info:
        return int(info["horizon"])
    steps = [int(t["steps"]) for t in info.get("meta_test", {}).values() if "steps" in t]
    return max(steps + [config_horizon(read_config(source))])


def init_from(theta: tf.Variable, source: str) -> str:
    """training.init_from: another run's latest meta-parameters, or a shipped learner's,
    into `theta` (same learner and sizes required): a curriculum starts where an earlier
    meta-training ended. Returns what it loaded."""
    try:
        where = pinned(source)
    except MissingFileError as e:
        raise MissingFileError(f"training.init_from={source}: neither a workdir with "
                               f"checkpoints nor a shipped learner {names()} (or 'clone' "
                               f"to meta-train from a fresh clone of online SGD): "
                               f"{e}") from None
    values = meta_params(where)
    if values.shape != tuple(theta.shape.as_list()):
        what = "the shipped learner has" if where.kind == SHIPPED else \
            "its meta-parameters have"
        raise UserError(f"training.init_from={source}: {what} {values.size} "
                        f"meta-parameters, this learner {theta.shape.num_elements()}; use "
                        f"a run of the same learner and model settings.")
    theta.assign(values)
    return f"shipped learner {where.name}" if where.kind == SHIPPED else where.checkpoint


def listing() -> str:
    """The shipped learners with how each was made and its meta-test figures."""
    lines = []
    for name in names():
        m = metadata(name)
        lines.append(f"{name}: {m['learner']}, {m['num_meta_params']} meta-parameters, "
                     f"{m['iterations']} iterations, {m['wall_time_s'] / 60:.1f} min, "
                     f"seed {m['seed']}, vsml-tf {m['package_version']} "
                     f"({m['git_commit'][:10]})")
        lines.append(f"  trained by: {m['command']}")
        lines.append(f"  horizon: {horizon(name)} steps (VSMLClassifier warns past it)")
        for dataset, t in m["meta_test"].items():
            cells = "  ".join(f"[{w}] {v['mean']:.3f}" for w, v in t["windows"].items())
            lines.append(f"  meta-test {dataset} ({t['episodes']} episodes of {t['steps']} "
                         f"steps): accuracy by online steps {cells}")
    return "\n".join(lines) if lines else "No shipped learners."
