"""Meta-trainers: ES and backpropagation through whole episodes.

Both hold the meta-parameters as one flat variable `theta` (see `meta_params.py`), an
Adam optimizer and the iteration counter -- everything a checkpoint needs, since all
randomness is keyed by (seed, iteration, member) (see `rng.py`). `step()` runs one
meta-training iteration and returns its metrics.

The population (ES pairs) or meta-batch (episodes) is cut two ways:
- into `num_shards` shards, the paper's "workers": shard i draws its episodes from
  `sampler_for_shard(i)`, so per-worker variation (another dataset, a random projection)
  is a property of the shard, whatever runs it;
- into equal slices per replica (`distribute.Replicas`): each replica evaluates its
  slice; fitnesses are all-gathered and gradient sums all-reduced.
Members are indexed globally, so the result does not depend on the number of replicas.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vsml_tf import es, rng
from vsml_tf.distribute import Replicas
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
    """Runs episodes of a learner for a batch of members."""

    def __init__(self, network, remat: bool = False):
        self.network = network
        self.layout = ParamLayout(network)
        self.remat = remat

    def run(self, thetas, xs, ys, state_seeds):
        """thetas [p, D] (or [1, D]: shared), episodes [T, p, n, ...] -> per-step (loss,
        accuracy) [T, p]."""
        state = self.network.initial_state(rng.truncated_normal_sampler(state_seeds),
                                           tuple(xs.shape[3:]), ys.shape[-1], xs.shape[2])
        logits = self.network.unroll(self.layout.unflatten(thetas), xs, ys, state,
                                     remat=self.remat)
        return step_losses(logits, ys)

    def episode_metrics(self, sampler: EpisodeSampler, theta, seeds):
        """Meta-test: theta [D] on the episodes of `seeds` [p, 2] -> (loss, acc) [T, p]."""
        data_seeds = tf.map_fn(lambda s: tf.random.experimental.stateless_fold_in(s, 0), seeds)
        state_seeds = tf.map_fn(lambda s: tf.random.experimental.stateless_fold_in(s, 1),
                                seeds)
        xs, ys = sampler.sample(data_seeds)
        return self.run(theta[None], xs, ys, state_seeds)  # one theta shared by all


def shard_pieces(replica: int, replicas: int, total: int, num_shards: int):
    """[(shard, start, stop)]: the members [replica * total/replicas, ...) that a replica
    evaluates, cut at shard boundaries (shard i owns [i * total/num_shards, ...))."""
    for name, count in (("replicas", replicas), ("shards", num_shards)):
        if total % count:
            raise ValueError(f"{total} members (population pairs or meta-batch) cannot be "
                             f"split evenly over {count} {name}; choose a multiple.")
    per_replica, per_shard = total // replicas, total // num_shards
    start, stop = replica * per_replica, (replica + 1) * per_replica
    pieces = []
    while start < stop:
        shard = start // per_shard
        end = min(stop, (shard + 1) * per_shard)
        pieces.append((shard, start, end))
        start = end
    return pieces


class MetaTrainer:
    """State and plumbing shared by the meta-trainers."""

    def __init__(self, network, sampler_for_shard: Callable[[int], EpisodeSampler],
                 learning_rate: float, seed: int, num_shards: int = 1,
                 replicas: Replicas | None = None, jit_compile: bool = True,
                 remat: bool = False, beta_1: float = 0.9, beta_2: float = 0.999):
        self.replicas = replicas or Replicas()
        self._sampler_for_shard = sampler_for_shard
        self._samplers = {}
        if hasattr(network, "build_for"):  # learners whose weights depend on the data shape
            first = self.sampler(0)
            network.build_for(first.example_shape, first.num_classes)
        self.runner = EpisodeRunner(network, remat)
        self.layout = self.runner.layout
        self.num_shards = num_shards or self.replicas.count
        self.jit_compile = jit_compile
        with self.replicas.scope():
            self.theta = tf.Variable(self.layout.from_network(), name="meta_params")
            self.optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1,
                                                   beta_2=beta_2)
            self.optimizer.build([self.theta])  # slots exist before any restore
            self.iteration = tf.Variable(0, dtype=tf.int64, name="iteration")
            self.seed = tf.Variable(seed, dtype=tf.int64, name="seed")
        self._shard_fns = {}      # (kind, shard) -> compiled per-shard computation
        self._meta_test_fns = {}  # sampler -> compiled episode_metrics, traced once each
        # One XLA computation per iteration on a single replica; otherwise the per-shard
        # pieces are compiled and the collectives between them run in the strategy.
        self._compiled_step = tf.function(
            self._step, autograph=False, jit_compile=jit_compile and self.replicas.is_default)

    @property
    def network(self):
        return self.runner.network

    def sampler(self, shard: int = 0) -> EpisodeSampler:
        if shard not in self._samplers:
            with tf.init_scope():  # built eagerly, even when first asked while tracing
                self._samplers[shard] = self._sampler_for_shard(shard)
        return self._samplers[shard]

    def checkpoint_items(self) -> dict:
        return {"meta_params": self.theta, "optimizer": self.optimizer,
                "iteration": self.iteration, "seed": self.seed}

    def step(self, stop_requested: bool = False) -> dict:
        """One meta-training iteration. metrics['stop'] is 1.0 when any replica asked to
        stop, so that all processes leave after the same iteration."""
        metrics = self._compiled_step(tf.constant(float(stop_requested)))
        return {k: float(v) for k, v in metrics.items()}

    def _shard_fn(self, kind: str, shard: int, fn):
        key = (kind, shard)
        if key not in self._shard_fns:
            self._shard_fns[key] = tf.function(fn, autograph=False,
                                               jit_compile=self.jit_compile)
        return self._shard_fns[key]

    def _pieces(self, collectives, total: int):
        if isinstance(collectives.index, int):
            return shard_pieces(collectives.index, collectives.count, total,
                                self.num_shards)
        if self.num_shards != 1:  # TPU: the replica id is known only at run time
            raise ValueError("Per-worker variation (several shards) needs a static replica "
                             "index; on TPU use training.num_shards=1.")
        per = total // collectives.count
        return [(0, collectives.index * per, (collectives.index + 1) * per)]

    def meta_test(self, sampler: EpisodeSampler, num_episodes: int, chunk: int = 16,
                  seed: int | None = None):
        """Per-step loss and accuracy [episodes, T] of theta on `sampler`'s episodes.

        Episodes depend only on (seed, episode index), never on training progress, so
        evaluations during training are comparable."""
        if sampler not in self._meta_test_fns:
            self._meta_test_fns[sampler] = tf.function(
                lambda theta, seeds: self.runner.episode_metrics(sampler, theta, seeds),
                autograph=False, jit_compile=self.jit_compile)
        fn = self._meta_test_fns[sampler]
        seed = int(self.seed.numpy()) if seed is None else seed
        losses, accs = [], []
        chunk = min(chunk, num_episodes)
        for start in range(0, num_episodes, chunk):
            # Always a full chunk (one compiled shape); extra episodes are dropped below.
            seeds = rng.member_seeds(seed, 0, rng.Purpose.EVAL, tf.range(start, start + chunk))
            loss, acc = fn(tf.convert_to_tensor(self.theta), seeds)
            losses.append(loss.numpy().T)
            accs.append(acc.numpy().T)
        return np.concatenate(losses)[:num_episodes], np.concatenate(accs)[:num_episodes]

    def _step(self, stop):
        raise NotImplementedError


class ESTrainer(MetaTrainer):
    """Antithetic ES over whole episodes; `population_size` pairs per iteration."""

    def __init__(self, network, sampler_for_shard, population_size: int, sigma: float,
                 learning_rate: float, seed: int, loss_type: str = "mean",
                 fitness_shaping: str = "none", weight_decay: float = 0.0,
                 clip_norm: float = 0.0, **kwargs):
        super().__init__(network, sampler_for_shard, learning_rate, seed, **kwargs)
        self.population_size = population_size
        self.sigma = sigma
        self.loss_type = loss_type
        self.fitness_shaping = fitness_shaping
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        shard_pieces(0, self.replicas.count, population_size, self.num_shards)  # validate

    def noise(self, iteration, pair_ids):
        seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.NOISE, pair_ids)
        return rng.normal(seeds, self.layout.size)

    def population_losses(self, iteration, pair_ids, sampler: EpisodeSampler):
        """Meta-losses [p, 2] ('+', '-') of the pairs `pair_ids` (global indices)."""
        p = pair_ids.shape[0]
        thetas = es.antithetic_population(self.theta, self.noise(iteration, pair_ids),
                                          self.sigma)
        data_seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.DATA, pair_ids)
        state_seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.STATE, pair_ids)
        xs, ys = sampler.sample(data_seeds)
        xs, ys = tf.concat([xs, xs], axis=1), tf.concat([ys, ys], axis=1)  # pairs share data
        step_loss, _ = self.runner.run(thetas, xs, ys, tf.concat([state_seeds] * 2, 0))
        losses = meta_loss(step_loss, self.loss_type)
        return tf.stack([losses[:p], losses[p:]], axis=1)

    def gradient_sum(self, iteration, pair_ids, fitness):
        return es.gradient_sum(self.noise(iteration, pair_ids), fitness, self.sigma)

    def gradient(self, iteration, pair_ids, fitness, num_pairs: int):
        return es.finalize_gradient(self.gradient_sum(iteration, pair_ids, fitness),
                                    num_pairs, self.theta, self.weight_decay, self.clip_norm)

    def _replica_step(self, collectives, stop):
        iteration = tf.convert_to_tensor(self.iteration)
        losses = []
        pieces = self._pieces(collectives, self.population_size)
        for shard, start, stop_ in pieces:
            fn = self._shard_fn("es_losses", shard, lambda it, ids, s=shard:
                                self.population_losses(it, ids, self.sampler(s)))
            losses.append(fn(iteration, tf.range(start, stop_)))
        losses = tf.concat(losses, axis=0)
        all_losses = collectives.all_gather(losses)          # [P, 2], global pair order
        fitness = es.shape_fitness(all_losses, self.fitness_shaping)
        first, last = pieces[0][1], pieces[-1][2]
        grad_fn = self._shard_fn("es_gradient", -1, self.gradient_sum)
        grad_sum = grad_fn(iteration, tf.range(first, last), fitness[first:last])
        return (collectives.all_sum(grad_sum), tf.reduce_mean(all_losses),
                collectives.all_sum(stop))

    def _step(self, stop):
        grad_sum, loss, stop = self.replicas.run(self._replica_step, args=(stop,))
        grad = es.finalize_gradient(grad_sum, self.population_size, self.theta,
                                    self.weight_decay, self.clip_norm)
        self.optimizer.apply_gradients([(grad, self.theta)])
        self.iteration.assign_add(1)
        return {"meta_loss": loss, "grad_norm": tf.norm(grad),
                "stop": tf.cast(stop > 0, tf.float32)}


class GradientTrainer(MetaTrainer):
    """Backpropagation through whole episodes, a meta-batch of episodes per iteration."""

    def __init__(self, network, sampler_for_shard, meta_batch_size: int,
                 learning_rate: float, seed: int, loss_type: str = "mean",
                 clip_norm: float = 25.0, **kwargs):
        super().__init__(network, sampler_for_shard, learning_rate, seed, **kwargs)
        self.meta_batch_size = meta_batch_size
        self.loss_type = loss_type
        self.clip_norm = clip_norm
        shard_pieces(0, self.replicas.count, meta_batch_size, self.num_shards)  # validate

    def loss_and_gradient(self, iteration, episode_ids, sampler=None):
        """Summed meta-loss over `episode_ids` (global indices) and its gradient."""
        sampler = sampler or self.sampler(0)
        data_seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.DATA, episode_ids)
        state_seeds = rng.member_seeds(self.seed, iteration, rng.Purpose.STATE, episode_ids)
        xs, ys = sampler.sample(data_seeds)
        with tf.GradientTape() as tape:
            tape.watch(self.theta)
            shared = tf.convert_to_tensor(self.theta)[None]  # member axis 1: one big matmul
            step_loss, _ = self.runner.run(shared, xs, ys, state_seeds)
            loss_sum = tf.reduce_sum(meta_loss(step_loss, self.loss_type))
        return loss_sum, tape.gradient(loss_sum, self.theta)

    def _replica_step(self, collectives, stop):
        iteration = tf.convert_to_tensor(self.iteration)
        loss_sum, grad_sum = 0.0, tf.zeros([self.layout.size])
        for shard, start, stop_ in self._pieces(collectives, self.meta_batch_size):
            fn = self._shard_fn("gradient", shard, lambda it, ids, s=shard:
                                self.loss_and_gradient(it, ids, self.sampler(s)))
            loss, grad = fn(iteration, tf.range(start, stop_))
            loss_sum, grad_sum = loss_sum + loss, grad_sum + grad
        return (collectives.all_sum(loss_sum), collectives.all_sum(grad_sum),
                collectives.all_sum(stop))

    def _step(self, stop):
        loss_sum, grad_sum, stop = self.replicas.run(self._replica_step, args=(stop,))
        grad = grad_sum / self.meta_batch_size
        if self.clip_norm:
            grad = tf.clip_by_global_norm([grad], self.clip_norm)[0][0]
        self.optimizer.apply_gradients([(grad, self.theta)])
        self.iteration.assign_add(1)
        return {"meta_loss": loss_sum / self.meta_batch_size, "grad_norm": tf.norm(grad),
                "stop": tf.cast(stop > 0, tf.float32)}
