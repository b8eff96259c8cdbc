"""Antithetic evolution strategies (Salimans et al. 2017), as small pure functions.

For pairs j = 1..P with noise eps_j ~ N(0, I), members theta +/- sigma eps_j see the same
episode; the gradient of the expected loss is estimated as

    g = 1/P sum_j eps_j (L+_j - L-_j) / (2 sigma)

optionally with losses replaced by centered ranks, over the whole population or within
each shard (so that every task of a per-worker mix has an equal say whatever the scale of
its loss). Functions return *sums* over the pairs they are given, so a population sharded
over replicas adds up to the same estimate.
"""

from __future__ import annotations

import tensorflow as tf

from vsml_tf.core import rng
from vsml_tf.core.registry import Registry
from vsml_tf.meta.estimators.base import Estimator
from vsml_tf.meta.runner import meta_loss


def antithetic_population(theta, eps, sigma: float):
    """theta [D], eps [p, D] -> [2p, D]: the p '+' members, then the p '-' members."""
    return tf.concat([theta + sigma * eps, theta - sigma * eps], axis=0)


def centered_ranks(losses):
    """Ranks of all entries mapped to [-0.5, 0.5] (ties broken by position)."""
    flat = tf.reshape(losses, [-1])
    ranks = tf.argsort(tf.argsort(flat, stable=True), stable=True)
    size = tf.cast(tf.size(flat), tf.float32)
    shaped = tf.cast(ranks, tf.float32) / tf.maximum(size - 1.0, 1.0) - 0.5
    return tf.reshape(shaped, tf.shape(losses))


def shard_centered_ranks(losses, num_shards: int):
    """Centered ranks within each of `num_shards` equal blocks of rows (the shards)."""
    blocks = tf.split(losses, num_shards, axis=0)
    return tf.concat([centered_ranks(block) for block in blocks], axis=0)


FITNESS_SHAPINGS = Registry("es.fitness_shaping", {  # (losses, num_shards) -> fitness
    "none": lambda losses, num_shards: losses,
    "centered_rank": lambda losses, num_shards: centered_ranks(losses),
    "shard_centered_rank": shard_centered_ranks,
})


def shape_fitness(losses, shaping: str, num_shards: int = 1):
    """losses [p, 2] (columns '+', '-'), rows cut into `num_shards` equal shards -> shaped
    values of the same shape."""
    return FITNESS_SHAPINGS.lookup(shaping)(losses, num_shards)


def gradient_sum(eps, fitness, sigma: float):
    """sum_j eps_j (f+_j - f-_j) / (2 sigma) for eps [p, D], fitness [p, 2] -> [D]."""
    diff = (fitness[:, 0] - fitness[:, 1]) / (2.0 * sigma)
    return tf.linalg.matvec(eps, diff, transpose_a=True)


def finalize_gradient(grad_sum, num_pairs: int, theta, weight_decay: float = 0.0,
                      clip_norm: float = 0.0):
    """Mean over all pairs, plus L2 weight decay, then optional global-norm clipping."""
    grad = grad_sum / float(num_pairs) + weight_decay * theta
    if clip_norm:
        grad = tf.clip_by_norm(grad, clip_norm)
    return grad


class AntitheticES(Estimator):
    """`population_size` pairs theta +/- sigma eps_j per iteration, both members of a pair
    on the same episode and initial state:

        g = 1/P sum_j eps_j (f(L+_j) - f(L-_j)) / (2 sigma) + weight_decay theta

    with f the fitness shaping of all 2P losses (or of each shard's); then optional norm
    clipping."""

    CONFIG_SECTION = "es"
    MEMBERS = "population_size"

    def __init__(self, runner, population_size: int, sigma: float, loss_type: str = "mean",
                 fitness_shaping: str = "none", weight_decay: float = 0.0,
                 clip_norm: float = 0.0):
        super().__init__(runner, population_size, loss_type)
        self.sigma = sigma
        self.fitness_shaping = fitness_shaping
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm

    @property
    def episodes_per_iteration(self) -> int:
        return 2 * self.num_members  # two members per pair

    def noise(self, seed, iteration, pair_ids):
        seeds = rng.member_seeds(seed, iteration, rng.Purpose.NOISE, pair_ids)
        return rng.normal(seeds, self.runner.layout.size)

    def evaluate(self, theta, seed, iteration, pair_ids, sampler):
        """Meta-losses [p, 2] ('+', '-') of the pairs `pair_ids`."""
        p = pair_ids.shape[0]
        thetas = antithetic_population(theta, self.noise(seed, iteration, pair_ids),
                                          self.sigma)
        xs, ys, state_seeds = self.episodes(seed, iteration, pair_ids, sampler)
        xs, ys = tf.concat([xs, xs], axis=1), tf.concat([ys, ys], axis=1)  # pairs share data
        step_loss, _ = self.runner.run(thetas, xs, ys, tf.concat([state_seeds] * 2, 0))
        losses = meta_loss(step_loss, self.loss_type)
        return tf.stack([losses[:p], losses[p:]], axis=1), None

    def gradient_sum(self, theta, seed, iteration, pair_ids, all_losses, grad_sum):
        """sum_j eps_j (f+_j - f-_j) / (2 sigma) over `pair_ids` (a contiguous range),
        the noise redrawn from its seeds rather than kept."""
        fitness = shape_fitness(all_losses, self.fitness_shaping, self.num_shards)
        first = pair_ids[0]
        fitness = fitness[first:first + pair_ids.shape[0]]
        return gradient_sum(self.noise(seed, iteration, pair_ids), fitness, self.sigma)

    def finalize(self, grad_sum, theta):
        return finalize_gradient(grad_sum, self.num_members, theta, self.weight_decay,
                                    self.clip_norm)
