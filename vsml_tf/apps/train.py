"""Meta-train a learner, then meta-test it.

    vsml-train --config=configs/NAME.py --workdir=DIR [--config.a.b=VALUE ...]

Re-running the same command resumes from DIR/checkpoints. SIGTERM or SIGINT finishes the
current iteration, saves a checkpoint and exits 0.
"""

from __future__ import annotations

import math
import sys
import time

from absl import logging
from tqdm import tqdm

from vsml_tf.apps import cli, clone, evaluate
from vsml_tf.apps.interrupts import Interrupted, StopRequest
from vsml_tf.core.errors import UserError
from vsml_tf.meta import cloning
from vsml_tf.meta.estimators import ESTIMATORS
from vsml_tf.meta.meta_test import meta_test
from vsml_tf.runs import builder, checkpoints, curves
from vsml_tf.runs import workdir as workdir_lib
from vsml_tf.runs.config import split_list
from vsml_tf.runs.writers import MetricWriter

# training.algorithm values that fit theta without episodes or a MetaTrainer.
SUPERVISED = {cloning.ALGORITHM: clone.run}


class IterationRate:
    """Iterations per second since the previous summary, for `iterations_per_second`.

    The clock starts when this process's first iteration ends: that iteration traces and
    compiles the step (seconds to minutes), which a rate counted from the start would
    average in for the whole run. Each `take` covers the iterations finished since the
    previous one (or since the first), wall time in between included (evaluations and
    checkpoints too)."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._since = None  # end of the first iteration, then of the previous `take`
        self._count = 0

    def tick(self) -> None:
        """One iteration ended."""
        if self._since is None:
            self._since = self._clock()  # the first (compiling) one is not counted
        else:
            self._count += 1

    def take(self) -> float | None:
        """The rate since the previous `take`, and restart; None before any iteration
        after the first."""
        if not self._count:
            return None
        now = self._clock()
        rate = self._count / max(now - self._since, 1e-9)
        self._since, self._count = now, 0
        return rate


def _progress(config, initial: int, total: int, chief: bool = True, stream=None):
    """The tqdm bar, on a terminal only: in a log file its carriage-return redraws would
    interleave with the log lines."""
    stream = stream or sys.stderr
    return tqdm(initial=initial, total=total, file=stream,
                disable=not (config.logging.progress_bar and chief and stream.isatty()),
                desc="meta-training", unit="it", dynamic_ncols=True, mininterval=1.0)


def check_finite(metrics: dict, iteration: int, config, last_checkpoint) -> None:
    """Stop before a non-finite meta-loss, gradient or theta reaches a checkpoint."""
    if metrics.pop("finite") and math.isfinite(metrics["meta_loss"]):
        return
    name = ESTIMATORS.lookup(config.training.algorithm).CONFIG_SECTION
    hint = ", ".join(f"{name}.{k}={config[name][k]}"
                     for k in ("learning_rate", "sigma", "clip_norm") if k in config[name])
    kept = f"the last good checkpoint, {last_checkpoint}, is kept" if last_checkpoint else \
        "nothing was saved"
    raise UserError(
        f"Iteration {iteration}: meta-loss {metrics['meta_loss']}, gradient norm "
        f"{metrics['grad_norm']}: not finite, so theta is no longer usable; {kept}. Likely "
        f"cause: a step size too large or a zero perturbation ({hint}); lower it and re-run.")


def train(config, workdir: str, replicas=None, allow_config_change: bool = False):
    """Meta-train until config.training.num_iterations; returns (trainer, stopped_early).

    Every process restores the latest checkpoint; only the chief logs and writes."""
    workdir_lib.check(config, workdir, allow_config_change)  # before any work
    replicas = replicas or builder.replicas(config)
    chief = replicas.is_chief
    if chief:
        workdir_lib.claim(config, workdir)  # locks it and records the config
    trainer = builder.build_trainer(config, replicas)
    if not trainer.layout.size:
        print(f"Learner {config.learner!r} has no meta-parameters: nothing to meta-train; "
              f"meta-testing it directly (as vsml-evaluate does).", flush=True)
        return trainer, False
    manager = checkpoints.manager(trainer.checkpoint_items(), workdir,
                                  config.checkpoint.max_to_keep)
    if manager.restore_or_initialize():
        logging.info("Resumed from %s at iteration %d", manager.latest_checkpoint,
                     int(trainer.iteration.numpy()))
    elif config.training.init_from:
        with StopRequest("this cloning step") as stop:
            start = builder.start_from(trainer, config, workdir=workdir if chief else None,
                                       should_stop=lambda: stop.requested)
        if start is None:
            logging.warning("Stopped while cloning; saved. Re-run the same command to "
                            "resume.")
            return trainer, True
        logging.info("Starting from %s", start)
    replicas.broadcast_from_chief([trainer.theta])
    writer = MetricWriter(config, workdir, enabled=chief)
    ev = config.evaluation
    eval_sampler = None
    if ev.every and chief:
        eval_sampler = builder.sampler(config, trainer.learner, split_list(ev.datasets)[0],
                                          "test", ev.episode_length)

    def save(iteration):
        if chief:
            manager.save(checkpoint_number=iteration)

    total = config.training.num_iterations
    iteration = int(trainer.iteration.numpy())
    stopped = False
    with StopRequest() as stop, _progress(config, iteration, total, chief) as bar:
        rate = IterationRate()
        while iteration < total and not stopped:
            metrics = trainer.step(stop.requested)
            stopped = metrics.pop("stop") > 0  # any process asked: all leave together
            check_finite(metrics, iteration, config, manager.latest_checkpoint)
            index, iteration = iteration, iteration + 1  # index of the iteration just run
            rate.tick()
            bar.set_postfix(meta_loss=f"{metrics['meta_loss']:.4f}", refresh=False)
            bar.update(1)
            if index % config.logging.summary_every == 0:
                per_second = rate.take()  # None at the first summary after a (re)start
                if per_second is not None:
                    metrics["iterations_per_second"] = per_second
                writer.write(index, metrics)
            if eval_sampler is not None and index % ev.every == 0:
                _, acc = meta_test(trainer.runner, trainer.theta, eval_sampler,
                                   ev.num_episodes_during_training, seed=config.seed,
                                   chunk=ev.chunk)
                writer.write(index, {f"eval/accuracy_{a}_{b}": float(acc[:, a:b].mean())
                                     for a, b in curves.windows(acc.shape[1])})
            if iteration % config.checkpoint.every == 0:
                save(iteration)
        if manager.latest_checkpoint is None or not manager.latest_checkpoint.endswith(
                f"-{iteration}"):
            save(iteration)
    writer.close()
    if stopped:
        logging.warning("Stopped at iteration %d; checkpoint saved. Re-run the same "
                        "command to resume.", iteration)
    return trainer, stopped


def main(argv):
    del argv
    config, workdir = cli.config_and_workdir()
    with cli.user_errors():
        if config.training.algorithm in SUPERVISED:  # e.g. cloning: no meta-trainer
            SUPERVISED[config.training.algorithm](config, workdir)
            return
        trainer, stopped = train(config, workdir,
                                 allow_config_change=cli.ALLOW_CONFIG_CHANGE.value)
        if stopped or not trainer.replicas.is_chief:
            return
        with StopRequest("the meta-test", raise_at_once=True):
            try:
                evaluate.evaluate(config, workdir, (trainer.runner, trainer.theta))
            except Interrupted:
                print(f"Meta-test interrupted; meta-training is saved in {workdir}: "
                      f"vsml-evaluate --workdir={workdir} meta-tests it.", flush=True)


def run():
    cli.run(main)


if __name__ == "__main__":
    run()
