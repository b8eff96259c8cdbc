"""Checkpoints of a meta-trainer under WORKDIR/checkpoints.

TensorFlow writes a checkpoint's files first and then points the `checkpoint` index at
them, so an interruption while saving leaves the previous checkpoint as the latest.
"""

from __future__ import annotations

import os

import tensorflow as tf

from vsml_tf.errors import MissingFileError


def directory(workdir: str) -> str:
    return os.path.join(workdir, "checkpoints")


def manager(items: dict, workdir: str, max_to_keep: int = 3) -> tf.train.CheckpointManager:
    return tf.train.CheckpointManager(tf.train.Checkpoint(**items), directory(workdir),
                                      max_to_keep=max_to_keep)


def restore_meta_params(theta: tf.Variable, workdir: str) -> str:
    """Load only the meta-parameters of the latest checkpoint into `theta`."""
    path = tf.train.latest_checkpoint(directory(workdir))
    if path is None:
        raise MissingFileError(
            f"No checkpoint in {directory(workdir)}: run vsml-train with "
            f"--workdir={workdir} first (or pass the workdir of a trained run).")
    tf.train.Checkpoint(meta_params=theta).restore(path).expect_partial()
    return path
