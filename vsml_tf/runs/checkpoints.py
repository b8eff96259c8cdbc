"""Checkpoints of a meta-trainer under WORKDIR/checkpoints, and a restore that survives
damaged files.

TensorFlow writes a checkpoint's files first and then points the `checkpoint` state file
at them, so an interruption while saving leaves the previous checkpoint as the latest.
Files can still be damaged afterwards (a full disk, a copy cut short, a flipped bit), so
restoring does not trust the state file: it lists the `ckpt-N` files on disk, newest
first, reads every tensor of each (TensorFlow verifies their checksums) and restores the
first that reads back whole, warning about each one skipped and why. A missing or
damaged state file is rebuilt from the files on disk. Nothing is ever restarted from
iteration 0 while checkpoint files exist: if none of them reads back, it is an error.
Rotation (`max_to_keep`) deletes old checkpoints only after a new one has been read back.
"""

from __future__ import annotations

import os
import re

import numpy as np
import tensorflow as tf
from absl import logging

from vsml_tf.core.errors import MissingFileError, UserError

STATE_FILE = "checkpoint"
_NUMBERED = re.compile(r"^ckpt-(\d+)\.(index|data-\d+-of-\d+)$")


def directory(workdir: str) -> str:
    return os.path.join(workdir, "checkpoints")


def _join(folder: str, name: str) -> str:
    return f"{folder.rstrip('/')}/{name}" if folder.startswith("gs://") else \
        os.path.join(folder, name)


def on_disk(folder: str) -> list[tuple[int, str]]:
    """(N, prefix) of every ckpt-N with any file in `folder`, newest first."""
    if not tf.io.gfile.isdir(folder):
        return []
    numbers = {int(m.group(1)) for m in map(_NUMBERED.match, tf.io.gfile.listdir(folder))
               if m}
    return [(n, _join(folder, f"ckpt-{n}")) for n in sorted(numbers, reverse=True)]


def problem(prefix: str) -> str | None:
    """Why the checkpoint at `prefix` cannot be restored (None: every tensor reads back
    and matches its checksum)."""
    if not tf.io.gfile.exists(prefix + ".index"):
        return "its .index file is missing"
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as e:  # DataLossError, OpError, IndexError, ...: all mean unreadable
        return f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
    return None


def state_problem(folder: str) -> str | None:
    """What is wrong with the `checkpoint` state file (None: absent-and-unneeded or fine)."""
    path = _join(folder, STATE_FILE)
    if not tf.io.gfile.exists(path):
        return "it is missing"
    try:
        text = tf.io.gfile.GFile(path).read()
    except Exception as e:
        return f"it cannot be read ({type(e).__name__})"
    match = re.search(r'^model_checkpoint_path: "([^"]+)"\s*$', text, re.M)
    if not match:
        return "it is damaged (no model_checkpoint_path)"
    latest = match.group(1)
    if not os.path.isabs(latest) and not latest.startswith("gs://"):
        latest = _join(folder, latest)
    if not tf.io.gfile.exists(latest + ".index"):
        return f"it names {os.path.basename(latest)}, whose files are missing"
    return None


def write_state(folder: str, latest: str, all_paths: list[str]) -> None:
    """Write the state file as CheckpointManager does (names relative to `folder`),
    atomically."""
    lines = [f'model_checkpoint_path: "{os.path.basename(latest)}"']
    lines += [f'all_model_checkpoint_paths: "{os.path.basename(p)}"' for p in all_paths]
    path = _join(folder, STATE_FILE)
    with tf.io.gfile.GFile(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    tf.io.gfile.rename(path + ".tmp", path, overwrite=True)


def _first_usable(folder: str, what: str):
    """(prefix, [(skipped prefix, why)]) of the newest checkpoint that reads back;
    raises ValueError when files exist but none does."""
    skipped = []
    for _, prefix in on_disk(folder):
        why = problem(prefix)
        if why is None:
            for bad, reason in skipped:
                logging.warning("Skipping damaged checkpoint %s (%s); %s %s instead.",
                                bad, reason, what, os.path.basename(prefix))
            return prefix, skipped
        skipped.append((prefix, why))
    if skipped:
        listed = "; ".join(f"{os.path.basename(p)}: {why}" for p, why in skipped)
        raise UserError(f"No usable checkpoint in {folder} ({listed}). Move that folder "
                        f"away to start from iteration 0.")
    return None, []


class Manager:
    """`tf.train.CheckpointManager`'s interface (save, latest_checkpoint, checkpoints,
    restore_or_initialize) with the fallback and safe rotation described above."""

    def __init__(self, checkpoint: tf.train.Checkpoint, folder: str, max_to_keep: int = 3):
        self._checkpoint = checkpoint
        self.directory = folder
        self.max_to_keep = max_to_keep
        self._manager = None

    def _tf_manager(self) -> tf.train.CheckpointManager:
        if self._manager is None:  # reads the state file: only once it has been checked
            self._manager = tf.train.CheckpointManager(self._checkpoint, self.directory,
                                                       max_to_keep=None)
        return self._manager

    @property
    def latest_checkpoint(self) -> str | None:
        return self._tf_manager().latest_checkpoint

    @property
    def checkpoints(self) -> list[str]:
        return self._tf_manager().checkpoints

    def restore_or_initialize(self) -> str | None:
        """Restore the newest checkpoint that reads back; None when there is none."""
        prefix, skipped = _first_usable(self.directory, "restoring")
        state = state_problem(self.directory)
        if prefix is None:
            if state not in (None, "it is missing"):
                logging.warning("%s/%s: %s; no checkpoint files: starting from iteration 0.",
                                self.directory, STATE_FILE, state)
            self._manager = None
            return None
        if skipped or state is not None:
            if state is not None:
                logging.warning("%s/%s: %s; rebuilt from the checkpoint files on disk "
                                "(latest: %s).", self.directory, STATE_FILE, state,
                                os.path.basename(prefix))
            older = [p for n, p in reversed(on_disk(self.directory))
                     if n < int(prefix.rsplit("-", 1)[1])]
            write_state(self.directory, prefix, (older + [prefix])[-self.max_to_keep:])
        self._manager = None  # re-read the (possibly rebuilt) state file
        self._checkpoint.restore(prefix)
        self._tf_manager()
        return prefix

    def save(self, checkpoint_number: int) -> str:
        """Write checkpoint N, read it back, then delete the oldest beyond max_to_keep."""
        older = [p for n, p in reversed(on_disk(self.directory)) if n < checkpoint_number]
        path = self._tf_manager().save(checkpoint_number=checkpoint_number)
        self._manager = None
        why = problem(path)
        if why is not None:
            if older:
                write_state(self.directory, older[-1], older[-self.max_to_keep:])
            raise UserError(f"Checkpoint {path} does not read back ({why}); the older "
                            f"checkpoints are kept. Check the disk and re-run to resume.")
        kept = older[len(older) - self.max_to_keep + 1:] if self.max_to_keep > 1 else []
        for old in older:
            if old not in kept:
                for name in tf.io.gfile.glob(old + ".*"):
                    tf.io.gfile.remove(name)
        write_state(self.directory, path, kept + [path])
        return path


def manager(items: dict, workdir: str, max_to_keep: int = 3) -> Manager:
    return Manager(tf.train.Checkpoint(**items), directory(workdir), max_to_keep)


def latest_readable(workdir: str) -> str | None:
    """The prefix of the newest checkpoint in `workdir` that reads back (None: no
    checkpoint files; an error when there are some but none reads back)."""
    return _first_usable(directory(workdir), "reading")[0]


def restore_meta_params(theta: tf.Variable, workdir: str) -> str:
    """Load only the meta-parameters of the newest checkpoint that reads back."""
    prefix = _latest_or_fail(workdir)
    tf.train.Checkpoint(meta_params=theta).restore(prefix).expect_partial()
    return prefix


def _latest_or_fail(workdir: str) -> str:
    prefix = latest_readable(workdir)
    if prefix is None:
        raise MissingFileError(
            f"No checkpoint in {directory(workdir)}: run vsml-train with "
            f"--workdir={workdir} first (or pass the workdir of a trained run).")
    return prefix


def variable_key(name: str) -> str:
    """The key of tf.train.Checkpoint item `name` in a checkpoint file."""
    return f"{name}/.ATTRIBUTES/VARIABLE_VALUE"


def read_meta_params(prefix: str) -> tuple[np.ndarray, int]:
    """(meta-parameters [D] float32, iteration) of the checkpoint at `prefix`."""
    reader = tf.train.load_checkpoint(prefix)
    theta = reader.get_tensor(variable_key("meta_params")).astype(np.float32)
    iteration = variable_key("iteration")
    return theta, int(reader.get_tensor(iteration)) if reader.has_tensor(iteration) else 0


def read_latest(workdir: str) -> tuple[np.ndarray, int]:
    """(meta-parameters [D] float32, iteration) of the newest checkpoint that reads back."""
    return read_meta_params(_latest_or_fail(workdir))
