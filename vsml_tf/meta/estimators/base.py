"""Meta-gradient estimators: antithetic ES and backpropagation through whole episodes.

An estimator turns episodes of members (ES pairs or meta-batch episodes) into an estimate
of the meta-gradient. The meta-trainer (`vsml_tf.meta.trainer`) owns theta, the optimizer and the
distribution; it calls, for the members `ids` (global indices) of each shard piece,

    evaluate(theta, seed, iteration, ids, sampler) -> (losses [m, k], grad_sum [D] | None)

then, once the losses of all members are gathered,

    gradient_sum(theta, seed, iteration, ids, all_losses, grad_sum) -> [D]
    finalize(grad_sum, theta) -> grad             (grad_sum: summed over all shards)

Sums, not means, per shard, so the shards add up to one estimate. All
randomness is keyed by (seed, iteration, purpose, member) (`vsml_tf.core.rng`). A new estimator is a
module in this package with CONFIG_SECTION and MEMBERS, and one line in `ESTIMATORS`.
"""

from __future__ import annotations

from vsml_tf.core import rng
from vsml_tf.datasets.episodes import EpisodeSampler
from vsml_tf.meta.runner import EpisodeRunner


class Estimator:
    """Shared by the estimators: the runner, the member count and the meta-loss."""

    # The config section whose keys fill the constructor's arguments of the same names
    # (and holds learning_rate), and its key giving the members per iteration.
    CONFIG_SECTION = ""
    MEMBERS = ""

    def __init__(self, runner: EpisodeRunner, num_members: int, loss_type: str = "mean"):
        self.runner = runner
        self.num_members = num_members
        self.loss_type = loss_type
        self.num_shards = 1  # the meta-trainer's: members fall into this many equal shards

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
