"""Checkpoints of a meta-trainer under WORKDIR/checkpoints.

TensorFlow writes a checkpoint's files first and then points the `checkpoint` index at
them, so an interruption while saving leaves the previous checkpoint as the latest.
"""

from __future__ import annotations

import os

import tensorflow as tf


def directory(workdir: str) -> str:
    return os.path.join(workdir, "checkpoints")


def manager(items: dict, workdir: str, max_to_keep: int = 3) -> tf.train.CheckpointManager:
    return tf.train.CheckpointManager(tf.train.Checkpoint(**items), directory(workdir),
                                      max_to_keep=max_to_keep)


def restore_meta_params(theta: tf.Variable, workdir: str) -> str:
    """Load only the meta-parameters of the latest checkpoint into `theta`."""
    path = tf.train.latest_checkpoint(directory(workdir))
    if path is None:
        raise FileNotFoundError(
            f"No checkpoint in {directory(workdir)}: run vsml-train with "
            f"--workdir={workdir} first (or pass the workdir of a trained run).")
    tf.train.Checkpoint(meta_params=theta).restore(path).expect_partial()
    return path


def init_from(theta: tf.Variable, workdir: str) -> str:
    """training.init_from: another run's latest meta-parameters into `theta` (same
    learner and sizes required)."""
    path = tf.train.latest_checkpoint(directory(workdir))
    if path is not None:
        shape = tf.train.load_checkpoint(path).get_variable_to_shape_map().get(
            "meta_params/.ATTRIBUTES/VARIABLE_VALUE")
        if shape is not None and list(shape) != theta.shape.as_list():
            raise ValueError(f"training.init_from={workdir}: its meta-parameters have "
                             f"shape {list(shape)}, this learner's {theta.shape.as_list()}; "
                             f"use a run of the same learner and model settings.")
    return restore_meta_params(theta, workdir)
