"""Meta-trainers: ES and backpropagation through whole episodes.

Both hold the meta-parameters as one flat variable `theta` (see `meta_params.py`), an
Adam optimizer and the iteration counter -- everything a checkpoint needs, since all
randomness is keyed by (seed, iteration) (see `rng.py`). `step()` runs one compiled
meta-training iteration and returns its metrics.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vsml_tf import es, rng
from vsml_tf.episodes import EpisodeSampler
from vsml_tf.meta_params import ParamLayout


def step_losses(logits, ys):
    """Cross-entropy and correctness per step and member: [T, p] each (mean over batch)."""
    ce = ops.categorical_crossentropy(ys, logits, from_logits=True)
    correct = ops.cast(ops.argmax(logits, -1) == ops.argmax(ys, -1), "float32")
    return ops.mean(ce, axis=-1), ops.mean(correct, axis=-1)


def meta_loss(step_loss, loss_type: str):
    """[T, p] -> [p]: mean over all steps, or the last step only (few-shot)."""
    if loss_type == "mean":
        return ops.mean(step_loss, axis=0)
    if loss_type == "last":
        return step_loss[-1]
    raise ValueError(f"Unknown training.loss_type {loss_type!r}; use 'mean' or 'last'.")


class EpisodeRunner:
    """Runs episodes of a learner for a batch of members: where learner, data and
    randomness meet."""

    def __init__(self, network, sampler: EpisodeSampler, remat: bool = False):
        self.network = network
        self.sampler = sampler
        if hasattr(network, "build_for"):  # learners whose weights depend on the data's shape
            network.build_for(sampler.example_shape, sampler.num_classes)
        self.layout = ParamLayout(network)
        self.remat = remat

    def run(self, thetas, xs, ys, state_seeds):
        """thetas [p, D], episodes [T, p, n, ...] -> per-step (loss, accuracy) [T, p]."""
        state = self.network.initial_state(rng.truncated_normal_sampler(state_seeds),
                                           tuple(xs.shape[3:]), ys.shape[-1], xs.shape[2])
        logits = self.network.unroll(self.layout.unflatten(thetas), xs, ys, state,
                                     remat=self.remat)
        return step_losses(logits, ys)

    def episode_metrics(self, theta, seeds):
        """Meta-test: theta [D] on the episodes of `seeds` [p, 2] -> (loss, acc) [T, p]."""
        data_seeds = tf.map_fn(lambda s: tf.random.experimental.stateless_fold_in(s, 0), seeds)
        state_seeds = tf.map_fn(lambda s: tf.random.experimental.stateless_fold_in(s, 1),
                                seeds)
        xs, ys = self.sampler.sample(data_seeds)
        thetas = tf.tile(theta[None], [seeds.shape[0], 1])
        return self.run(thetas, xs, ys, state_seeds)


class MetaTrainer:
    """State shared by the meta-trainers: theta, Adam, iteration, seed."""

    def __init__(self, runner: EpisodeRunner, learning_rate: float, seed: int,
                 jit_compile: bool = True, beta_1: float = 0.9, beta_2: float = 0.999):
        self.runner = runner
        self.layout = runner.layout
        self.theta = tf.Variable(self.layout.from_network(), name="meta_params")
        self.optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2)
        self.optimizer.build([self.theta])  # slots exist before any restore
        self.iteration = tf.Variable(0, dtype=tf.int64, name="iteration")
        self.seed = tf.Variable(seed, dtype=tf.int64, name="seed")
        self.jit_compile = jit_compile
        self._compiled_step = tf.function(self._step, jit_compile=jit_compile)
        self._meta_test_fns = {}  # sampler -> compiled episode_metrics, traced once each

    def checkpoint_items(self) -> dict:
        return {"meta_params": self.theta, "optimizer": self.optimizer,
                "iteration": self.iteration, "seed": self.seed}

    def step(self) -> dict:
        metrics = self._compiled_step()
        return {k: float(v) for k, v in metrics.items()}

    def meta_test(self, sampler: EpisodeSampler, num_episodes: int, chunk: int = 16,
                  seed: int | None = None):
        """Per-step loss and accuracy [episodes, T] of theta on `sampler`'s episodes.

        Episodes depend only on (seed, episode index), never on training progress, so
        evaluations during training are comparable."""
        if sampler not in self._meta_test_fns:
            runner = EpisodeRunner(self.runner.network, sampler)
            self._meta_test_fns[sampler] = tf.function(runner.episode_metrics,
                                                       jit_compile=self.jit_compile)
        fn = self._meta_test_fns[sampler]
        seed = int(self.seed.numpy()) if seed is None else seed
        losses, accs = [], []
        chunk = min(chunk, num_episodes)
        for start in range(0, num_episodes, chunk):
            # Always a full chunk (one compiled shape); extra episodes are dropped below.
            seeds = rng.member_seeds(seed, 0, rng.Purpose.EVAL, tf.range(start, start + chunk))
            loss, acc = fn(self.theta, seeds)
            losses.append(loss.numpy().T)
            accs.append(acc.numpy().T)
        return np.concatenate(losses)[:num_episodes], np.concatenate(accs)[:num_episodes]

    def _step(self):
        raise NotImplementedError


class ESTrainer(MetaTrainer):
    """Antithetic ES over whole episodes; `population_size` pairs per iteration."""

    def __init__(self, runner: EpisodeRunner, population_size: int, sigma: float,
                 learning_rate: float, seed: int, loss_type: str = "mean",
                 fitness_shaping: str = "none", weight_decay: float = 0.0,
                 clip_norm: float = 0.0, **kwargs):
        super().__init__(runner, learning_rate, seed, **kwargs)
        self.population_size = population_size
        self.sigma = sigma
        self.loss_type = loss_type
        self.fitness_shaping = fitness_shaping
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm

    def noise(self, iteration, pair_ids):
        seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.NOISE, pair_ids)
        return rng.normal(seeds, self.layout.size)

    def population_losses(self, iteration, pair_ids):
        """Meta-losses [p, 2] of the pairs `pair_ids` (global indices) at `iteration`."""
        p = pair_ids.shape[0]
        thetas = es.antithetic_population(self.theta, self.noise(iteration, pair_ids),
                                          self.sigma)
        data_seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.DATA, pair_ids)
        state_seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.STATE, pair_ids)
        xs, ys = self.runner.sampler.sample(data_seeds)
        xs, ys = tf.concat([xs, xs], axis=1), tf.concat([ys, ys], axis=1)  # pairs share data
        step_loss, _ = self.runner.run(thetas, xs, ys, tf.concat([state_seeds] * 2, 0))
        losses = meta_loss(step_loss, self.loss_type)
        return tf.stack([losses[:p], losses[p:]], axis=1)

    def gradient(self, iteration, pair_ids, fitness, num_pairs: int):
        grad_sum = es.gradient_sum(self.noise(iteration, pair_ids), fitness, self.sigma)
        return es.finalize_gradient(grad_sum, num_pairs, self.theta, self.weight_decay,
                                    self.clip_norm)

    def _step(self):
        pair_ids = tf.range(self.population_size)
        losses = self.population_losses(self.iteration, pair_ids)
        fitness = es.shape_fitness(losses, self.fitness_shaping)
        grad = self.gradient(self.iteration, pair_ids, fitness, self.population_size)
        self.optimizer.apply_gradients([(grad, self.theta)])
        self.iteration.assign_add(1)
        return {"meta_loss": tf.reduce_mean(losses), "grad_norm": tf.norm(grad)}


class GradientTrainer(MetaTrainer):
    """Backpropagation through whole episodes, a meta-batch of episodes per iteration."""

    def __init__(self, runner: EpisodeRunner, meta_batch_size: int, learning_rate: float,
                 seed: int, loss_type: str = "mean", clip_norm: float = 25.0, **kwargs):
        super().__init__(runner, learning_rate, seed, **kwargs)
        self.meta_batch_size = meta_batch_size
        self.loss_type = loss_type
        self.clip_norm = clip_norm

    def loss_and_gradient(self, iteration, episode_ids):
        """Mean meta-loss over `episode_ids` and its gradient *sum* over them."""
        data_seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.DATA, episode_ids)
        state_seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.STATE, episode_ids)
        xs, ys = self.runner.sampler.sample(data_seeds)
        with tf.GradientTape() as tape:
            thetas = tf.tile(self.theta[None], [episode_ids.shape[0], 1])
            step_loss, _ = self.runner.run(thetas, xs, ys, state_seeds)
            loss_sum = tf.reduce_sum(meta_loss(step_loss, self.loss_type))
        return loss_sum, tape.gradient(loss_sum, self.theta)

    def _step(self):
        loss_sum, grad_sum = self.loss_and_gradient(self.iteration,
                                                    tf.range(self.meta_batch_size))
        grad = grad_sum / self.meta_batch_size
        if self.clip_norm:
            grad, _ = tf.clip_by_global_norm([grad], self.clip_norm)
            grad = grad[0]
        self.optimizer.apply_gradients([(grad, self.theta)])
        self.iteration.assign_add(1)
        return {"meta_loss": loss_sum / self.meta_batch_size, "grad_norm": tf.norm(grad)}
