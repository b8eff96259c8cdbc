"""Meta-gradient estimators: antithetic ES and backpropagation through whole episodes.

An estimator turns episodes of members (ES pairs or meta-batch episodes) into an estimate
of the meta-gradient. The meta-trainer (`trainers.py`) owns theta, the optimizer and the
distribution; it calls, for the members `ids` (global indices) of each shard piece,

    evaluate(theta, seed, iteration, ids, sampler) -> (losses [m, k], grad_sum [D] | None)

then, once the losses of all members are gathered,

    gradient_sum(theta, seed, iteration, ids, all_losses, grad_sum) -> [D]
    finalize(grad_sum, theta) -> grad             (grad_sum: summed over all shards)

Sums, not means, per shard, so the shards add up to one estimate. All
randomness is keyed by (seed, iteration, purpose, member) (`rng.py`). A new estimator is a
class here with `from_config` and one line in `ESTIMATORS`.
"""

from __future__ import annotations

import tensorflow as tf

from vsml_tf import es, rng
from vsml_tf.episodes import EpisodeSampler
from vsml_tf.registry import Registry
from vsml_tf.runner import EpisodeRunner, meta_loss


class Estimator:
    """Shared by the estimators: the runner, the member count and the meta-loss."""

    CONFIG_SECTION = ""  # the config section with this estimator's settings (learning_rate)

    def __init__(self, runner: EpisodeRunner, num_members: int, loss_type: str = "mean"):
        self.runner = runner
        self.num_members = num_members
        self.loss_type = loss_type

    @property
    def episodes_per_iteration(self) -> int:
        return self.num_members

    def evaluate(self, theta, seed, iteration, ids, sampler: EpisodeSampler):
        raise NotImplementedError

    def gradient_sum(self, theta, seed, iteration, ids, all_losses, grad_sum):
        """The summed gradient of members `ids`; by default what `evaluate` returned."""
        return grad_sum

    def finalize(self, grad_sum, theta):
        raise NotImplementedError

    def episodes(self, seed, iteration, ids, sampler: EpisodeSampler):
        """Episodes and initial-state seeds of members `ids` in this iteration."""
        xs, ys = sampler.sample(rng.member_seeds(seed, iteration, rng.Purpose.DATA, ids))
        return xs, ys, rng.member_seeds(seed, iteration, rng.Purpose.STATE, ids)


class AntitheticES(Estimator):
    """`population_size` pairs theta +/- sigma eps_j per iteration, both members of a pair
    on the same episode and initial state:

        g = 1/P sum_j eps_j (f(L+_j) - f(L-_j)) / (2 sigma) + weight_decay theta

    with f the fitness shaping of all 2P losses; then optional norm clipping."""

    CONFIG_SECTION = "es"

    def __init__(self, runner, population_size: int, sigma: float, loss_type: str = "mean",
                 fitness_shaping: str = "none", weight_decay: float = 0.0,
                 clip_norm: float = 0.0):
        super().__init__(runner, population_size, loss_type)
        self.sigma = sigma
        self.fitness_shaping = fitness_shaping
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm

    @classmethod
    def members_in(cls, config) -> int:
        return config.es.population_size

    @classmethod
    def from_config(cls, config, runner):
        c = config.es
        return cls(runner, c.population_size, c.sigma, config.training.loss_type,
                   c.fitness_shaping, c.weight_decay, c.clip_norm)

    @property
    def episodes_per_iteration(self) -> int:
        return 2 * self.num_members  # two members per pair

    def noise(self, seed, iteration, pair_ids):
        seeds = rng.member_seeds(seed, iteration, rng.Purpose.NOISE, pair_ids)
        return rng.normal(seeds, self.runner.layout.size)

    def evaluate(self, theta, seed, iteration, pair_ids, sampler):
        """Meta-losses [p, 2] ('+', '-') of the pairs `pair_ids`."""
        p = pair_ids.shape[0]
        thetas = es.antithetic_population(theta, self.noise(seed, iteration, pair_ids),
                                          self.sigma)
        xs, ys, state_seeds = self.episodes(seed, iteration, pair_ids, sampler)
        xs, ys = tf.concat([xs, xs], axis=1), tf.concat([ys, ys], axis=1)  # pairs share data
        step_loss, _ = self.runner.run(thetas, xs, ys, tf.concat([state_seeds] * 2, 0))
        losses = meta_loss(step_loss, self.loss_type)
        return tf.stack([losses[:p], losses[p:]], axis=1), None

    def gradient_sum(self, theta, seed, iteration, pair_ids, all_losses, grad_sum):
        """sum_j eps_j (f+_j - f-_j) / (2 sigma) over `pair_ids` (a contiguous range),
        the noise redrawn from its seeds rather than kept."""
        fitness = es.shape_fitness(all_losses, self.fitness_shaping)
        first = pair_ids[0]
        fitness = fitness[first:first + pair_ids.shape[0]]
        return es.gradient_sum(self.noise(seed, iteration, pair_ids), fitness, self.sigma)

    def finalize(self, grad_sum, theta):
        return es.finalize_gradient(grad_sum, self.num_members, theta, self.weight_decay,
                                    self.clip_norm)


class Backprop(Estimator):
    """The gradient of the meta-loss, backpropagated through whole episodes of a
    meta-batch (`meta_batch_size` episodes), averaged, then global-norm clipped."""

    CONFIG_SECTION = "gradient"

    def __init__(self, runner, meta_batch_size: int, loss_type: str = "mean",
                 clip_norm: float = 25.0):
        super().__init__(runner, meta_batch_size, loss_type)
        self.clip_norm = clip_norm

    @classmethod
    def members_in(cls, config) -> int:
        return config.gradient.meta_batch_size

    @classmethod
    def from_config(cls, config, runner):
        c = config.gradient
        return cls(runner, c.meta_batch_size, config.training.loss_type, c.clip_norm)

    def evaluate(self, theta, seed, iteration, episode_ids, sampler):
        """Meta-losses [m, 1] of the episodes `episode_ids` and their summed gradient."""
        xs, ys, state_seeds = self.episodes(seed, iteration, episode_ids, sampler)
        with tf.GradientTape() as tape:
            tape.watch(theta)
            shared = theta[None]  # member axis 1: one large matmul for the meta-batch
            step_loss, _ = self.runner.run(shared, xs, ys, state_seeds)
            losses = meta_loss(step_loss, self.loss_type)
            loss_sum = tf.reduce_sum(losses)
        return losses[:, None], tape.gradient(loss_sum, theta)

    def finalize(self, grad_sum, theta):
        grad = grad_sum / self.num_members
        if self.clip_norm:
            grad = tf.clip_by_global_norm([grad], self.clip_norm)[0][0]
        return grad


ESTIMATORS = Registry("training.algorithm", {
    "es": AntitheticES,
    "gradient": Backprop,
})


def _cloning():
    from vsml_tf import cloning
    return cloning.run


# training.algorithm values that fit theta without episodes or a MetaTrainer: name ->
# a function returning their `run(config, workdir)` (imported only when used).
SUPERVISED = Registry("training.algorithm", {
    "clone": _cloning,  # learning-algorithm cloning of online SGD (vsml_tf/cloning.py)
})
