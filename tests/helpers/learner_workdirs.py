"""Workdirs as vsml-train leaves them, written without training (for loading tests)."""

import json
import os

from vsml_tf.runs import builder, checkpoints


def write_workdir(path, config, theta=None):
    """config.json and one checkpoint of `theta` (default: the learner's initial
    meta-parameters, a function of config.seed). Returns the trainer."""
    trainer = builder.build_trainer(config)
    if theta is not None:
        trainer.theta.assign(theta)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config.to_dict(), f, indent=2, sort_keys=True, default=str)
    checkpoints.manager(trainer.checkpoint_items(), path).save(
        checkpoint_number=int(trainer.iteration.numpy()))
    return trainer
