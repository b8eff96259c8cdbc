"""The meta-trainer: theta, its optimizer and the iteration, around a gradient estimator.

`MetaTrainer` holds the meta-parameters as one flat variable `theta` (`meta_params.py`),
an Adam optimizer, the iteration and the seed -- everything a checkpoint needs, since all
randomness is keyed by (seed, iteration, member) (`rng.py`). `step()` runs one iteration:

    for each shard of this replica:  losses, grad = estimator.evaluate(...)
    all_losses = all_gather(losses)
    grads      = all_gather([estimator.gradient_sum(..., all_losses, grad) per shard])
    theta      = Adam(theta, estimator.finalize(grads[0] + grads[1] + ..., theta))

A `Curriculum` replaces the episodes and Adam's learning rate of the first iterations
(shorter episodes, a larger step: off the ES plateau sooner); which one applies is a
function of the iteration, so a resumed run continues where it stopped.

The members (ES pairs or meta-batch episodes) are cut into `num_shards` shards, the
paper's "workers": shard i draws its episodes from `samplers[i]`, so per-worker variation
(another dataset, a random projection) is a property of the shard, whatever runs it. Each
replica evaluates whole shards (`shard_pieces`), each with the same compiled function,
and every replica adds the shards' gradients in shard order: the result depends on the
number of shards, never on the number of replicas -- one device with 4 shards computes
what 4 GPUs compute, bit for bit.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import keras
import tensorflow as tf

from vsml_tf.core.distribute import Replicas
from vsml_tf.core.errors import UserError
from vsml_tf.datasets.episodes import EpisodeSampler
from vsml_tf.meta.estimators import Estimator


def shard_pieces(replica: int, replicas: int, total: int, num_shards: int):
    """[(shard, start, stop)]: the whole shards a replica evaluates (shard i owns members
    [i * total/num_shards, (i+1) * total/num_shards))."""
    if total % num_shards:
        raise UserError(f"{total} members (population pairs or meta-batch) cannot be split "
                        f"evenly into {num_shards} shards; choose a multiple of "
                        f"training.num_shards.")
    if num_shards % replicas:
        raise UserError(
            f"training.num_shards={num_shards} is not a multiple of the {replicas} "
            f"replicas: each replica evaluates whole shards, so that the result does not "
            f"depend on the number of replicas. Use a multiple of {replicas} (0 chooses).")
    per_shard, per_replica = total // num_shards, num_shards // replicas
    return [(shard, shard * per_shard, (shard + 1) * per_shard)
            for shard in range(replica * per_replica, (replica + 1) * per_replica)]


@dataclasses.dataclass(frozen=True)
class Curriculum:
    """Iterations 1..`iterations` draw their episodes from `samplers` (one per shard, like
    the trainer's) and step with Adam's `learning_rate`."""

    iterations: int
    samplers: Sequence[EpisodeSampler]
    learning_rate: float

    def schedule(self, learning_rate):
        """Adam's learning rate by optimizer step (0-based): the curriculum's, then
        `learning_rate` (a rate, or a schedule counted from the curriculum's end)."""
        return AfterCurriculum(self.iterations, self.learning_rate, learning_rate)


class AfterCurriculum(keras.optimizers.schedules.LearningRateSchedule):
    """`first` for the first `iterations` optimizer steps, then `then` (a rate, or a
    schedule of the steps after those)."""

    def __init__(self, iterations: int, first: float, then):
        self.iterations, self.first, self.then = iterations, first, then

    def __call__(self, step):
        later = tf.cast(step, tf.float32) - self.iterations
        then = self.then(tf.maximum(later, 0.0)) if callable(self.then) else self.then
        return tf.where(later < 0, tf.cast(self.first, tf.float32), tf.cast(then, tf.float32))

    def get_config(self):
        return {"iterations": self.iterations, "first": self.first, "then": self.then}


def decayed(learning_rate: float, decay: str, iterations: int):
    """Adam's rate for `training.learning_rate_decay` over `iterations` steps: constant
    ('none'), or a cosine from `learning_rate` to 0 ('cosine': a run's last iterations
    take small steps, so the learner it ends with is not caught mid-oscillation)."""
    if decay == "none":
        return learning_rate
    return keras.optimizers.schedules.CosineDecay(learning_rate, max(1, iterations))


LEARNING_RATE_DECAYS = ("none", "cosine")


class MetaTrainer:
    """One meta-training iteration at a time; see the module docstring. `learning_rate`
    is Adam's: a rate or a schedule of the optimizer step (`decayed`)."""

    def __init__(self, estimator: Estimator, samplers: Sequence[EpisodeSampler],
                 initial_theta, learning_rate, seed: int,
                 replicas: Replicas | None = None, jit_compile: bool = True,
                 beta_1: float = 0.9, beta_2: float = 0.999,
                 curriculum: Curriculum | None = None):
        self.estimator = estimator
        self.samplers = samplers
        self.curriculum = curriculum if curriculum and curriculum.iterations else None
        self.replicas = replicas or Replicas()
        self.num_shards = len(samplers)
        self.jit_compile = jit_compile
        shard_pieces(0, self.replicas.count, estimator.num_members, self.num_shards)
        estimator.num_shards = self.num_shards
        if self.curriculum:
            if len(self.curriculum.samplers) != self.num_shards:
                raise ValueError("A curriculum needs one sampler per shard.")
            learning_rate = self.curriculum.schedule(learning_rate)
        with self.replicas.scope():
            self.theta = tf.Variable(initial_theta, name="meta_params")
            self.optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1,
                                                   beta_2=beta_2)
            self.optimizer.build([self.theta])  # slots exist before any restore
            self.iteration = tf.Variable(0, dtype=tf.int64, name="iteration")
            self.seed = tf.Variable(seed, dtype=tf.int64, name="seed")
        self._piece_fns = {}  # (kind, shard's sampler) -> compiled per-shard piece
        # Not one XLA computation even on one replica: the compiled per-shard pieces and the
        # update between them are what every replica count runs, so the bits agree.
        self._compiled_steps = {  # in the curriculum or not -> the compiled step
            phase: tf.function(lambda stop, p=phase: self._step(stop, p), autograph=False)
            for phase in (False, True)}

    @property
    def runner(self):
        return self.estimator.runner

    @property
    def learner(self):
        return self.runner.learner

    @property
    def layout(self):
        return self.runner.layout

    def checkpoint_items(self) -> dict:
        return {"meta_params": self.theta, "optimizer": self.optimizer,
                "iteration": self.iteration, "seed": self.seed}

    def step(self, stop_requested: bool = False) -> dict:
        """One meta-training iteration. metrics['stop'] is 1.0 when any replica asked to
        stop, so that all processes leave after the same iteration."""
        step = self._compiled_steps[self.in_curriculum()]
        metrics = step(tf.constant(float(stop_requested)))
        return {k: float(v) for k, v in metrics.items()}

    def in_curriculum(self) -> bool:
        """Whether the next iteration is one of the curriculum's."""
        return bool(self.curriculum) and int(self.iteration.numpy()) < \
            self.curriculum.iterations

    # -- one iteration ----------------------------------------------------------------

    def _step(self, stop, curriculum: bool):
        grad_sum, all_losses, stop = self.replicas.run(
            lambda collectives, stop: self._replica_step(collectives, stop, curriculum),
            args=(stop,))
        theta = tf.convert_to_tensor(self.theta)
        grad = self.estimator.finalize(grad_sum, theta)
        self.optimizer.apply_gradients([(grad, self.theta)])
        self.iteration.assign_add(1)
        finite = tf.reduce_all(tf.math.is_finite(grad)) & tf.reduce_all(
            tf.math.is_finite(tf.convert_to_tensor(self.theta)))
        return {"meta_loss": tf.reduce_mean(all_losses), "grad_norm": tf.norm(grad),
                "stop": tf.cast(stop > 0, tf.float32), "finite": tf.cast(finite, tf.float32)}

    def _replica_step(self, collectives, stop, curriculum: bool):
        theta = tf.convert_to_tensor(self.theta)
        seed, iteration = tf.convert_to_tensor(self.seed), tf.convert_to_tensor(self.iteration)
        samplers = self.curriculum.samplers if curriculum else self.samplers
        pieces = self._pieces(collectives)
        losses, grads = [], []
        for shard, start, end in pieces:
            sampler = samplers[shard]  # shared by shards with the same episodes
            evaluate = self._piece_fn(("evaluate", sampler), lambda *args, s=sampler:
                                      self.estimator.evaluate(*args, s))
            piece_losses, piece_grad = evaluate(theta, seed, iteration, tf.range(start, end))
            losses.append(piece_losses)
            grads.append(piece_grad)
        all_losses = collectives.all_gather(tf.concat(losses, axis=0))  # global order
        gradient_sum = self._piece_fn(("gradient_sum",), self.estimator.gradient_sum)
        grads = [gradient_sum(theta, seed, iteration, tf.range(start, end), all_losses, grad)
                 for (_, start, end), grad in zip(pieces, grads)]
        all_grads = collectives.all_gather(tf.stack(grads))  # [shards, D], shard order
        grad_sum = all_grads[0]
        for i in range(1, len(pieces) * collectives.count):  # one order of additions
            grad_sum = grad_sum + all_grads[i]
        return grad_sum, all_losses, collectives.all_sum(stop)

    def _piece_fn(self, key: tuple, fn):
        if key not in self._piece_fns:
            self._piece_fns[key] = tf.function(fn, autograph=False,
                                               jit_compile=self.jit_compile)
        return self._piece_fns[key]

    def _pieces(self, collectives):
        total = self.estimator.num_members
        if isinstance(collectives.index, int):
            return shard_pieces(collectives.index, collectives.count, total,
                                self.num_shards)
        if self.num_shards != 1:  # TPU: the replica id is known only at run time
            raise UserError("Per-worker variation (several shards) needs a static replica "
                            "index; on TPU use training.num_shards=1.")
        per = total // collectives.count
        return [(0, collectives.index * per, (collectives.index + 1) * per)]
