"""Where a learner's meta-parameters come from: a shipped learner or a run's workdir.

A *source* is the name of a shipped learner (`python -m vsml_tf.apps.pretrained` lists
them), a shipped learner's directory, or the workdir of a `vsml-train` run. Every command
and API that takes a learned learner resolves it here: `training.init_from`,
`vsml-evaluate`, `evaluation.compare`, `VSMLClassifier` and the tools.
"""

from __future__ import annotations

import os

import ml_collections
import numpy as np
import tensorflow as tf

from vsml_tf.core.errors import MissingFileError, UserError
from vsml_tf.runs import checkpoints, pretrained, workdir


def is_source(source: str) -> bool:
    """Whether `source` names a shipped learner or a directory with a learner."""
    return source in pretrained.names() or os.path.isdir(source)


def load(source: str) -> tuple[ml_collections.ConfigDict, np.ndarray]:
    """(config, theta [D] float32): the learner's resolved config and its meta-parameters
    (a shipped learner's, or the newest readable checkpoint of a workdir)."""
    if source in pretrained.names():
        source = pretrained.directory(source)
    if pretrained.is_shipped(source):
        return workdir.read_config(source), pretrained.meta_params(source)
    if not os.path.isdir(source):
        raise MissingFileError(f"No shipped learner {source!r} and no directory of that "
                               f"name: choose one of {pretrained.names()} (python -m "
                               f"vsml_tf.apps.pretrained lists them) or a vsml-train workdir.")
    config = workdir.read_config(source)
    return config, checkpoints.read_latest(source)[0]


def restore(theta: tf.Variable, source: str) -> str:
    """Load `source`'s meta-parameters into `theta`; returns what was loaded."""
    if source in pretrained.names():
        source = pretrained.directory(source)
    if pretrained.is_shipped(source):
        theta.assign(pretrained.meta_params(source))
        return source
    return checkpoints.restore_meta_params(theta, source)


def init_from(theta: tf.Variable, source: str) -> str:
    """training.init_from: another run's latest meta-parameters, or a shipped learner's,
    into `theta` (same learner and sizes required): a curriculum starts where an earlier
    meta-training ended."""
    if not os.path.isdir(checkpoints.directory(source)) and source not in pretrained.names():
        raise MissingFileError(f"training.init_from={source}: neither a workdir with "
                               f"checkpoints nor a shipped learner {pretrained.names()} "
                               f"(or 'clone' to meta-train from a fresh clone of online SGD).")
    if not os.path.isdir(checkpoints.directory(source)):
        values = pretrained.meta_params(pretrained.directory(source))
        if values.shape != tuple(theta.shape.as_list()):
            raise UserError(f"training.init_from={source}: the shipped learner has "
                            f"{values.size} meta-parameters, this learner "
                            f"{theta.shape.num_elements()}; use a learner with its "
                            f"model settings.")
        theta.assign(values)
        return f"shipped learner {source}"
    shape = checkpoints.meta_params_shape(source)
    if shape is not None and shape != theta.shape.as_list():
        raise UserError(f"training.init_from={source}: its meta-parameters have "
                        f"shape {shape}, this learner's {theta.shape.as_list()}; "
                        f"use a run of the same learner and model settings.")
    return checkpoints.restore_meta_params(theta, source)
