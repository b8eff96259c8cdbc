"""Where metrics go: TensorBoard, Weights & Biases (offline by default) and the log."""

from __future__ import annotations

import hashlib
import os

import tensorflow as tf
from absl import logging

from vsml_tf.runs.config import split_list


class MetricWriter:
    """Writes scalars to every enabled sink; a no-op on non-chief workers."""

    def __init__(self, config, workdir: str, enabled: bool = True):
        self.enabled = enabled
        self._tb = None
        self._wandb = None
        if not enabled:
            return
        if config.logging.tensorboard:
            self._tb = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))
        if config.logging.wandb.enabled:
            self._wandb = _init_wandb(config, workdir)

    def write(self, step: int, scalars: dict) -> None:
        if not self.enabled:
            return
        logging.info("step %d: %s", step,
                     ", ".join(f"{k}={v:.4g}" for k, v in sorted(scalars.items())))
        if self._tb is not None:
            with self._tb.as_default(step=step):
                for key, value in scalars.items():
                    tf.summary.scalar(key, value)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None


def _init_wandb(config, workdir: str):
    import wandb

    wb = config.logging.wandb
    # A stable id per workdir: a resumed run continues the same wandb run.
    run_id = hashlib.sha1(os.path.abspath(workdir).encode()).hexdigest()[:12]
    return wandb.init(project=wb.project, entity=wb.entity or None,
                      tags=split_list(wb.tags) or None, dir=workdir, id=run_id,
                      resume="allow", config=config.to_dict(),
                      mode=os.environ.get("WANDB_MODE", wb.mode),
                      name=os.path.basename(os.path.abspath(workdir)))
