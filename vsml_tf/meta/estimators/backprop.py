"""Backpropagation through whole episodes: the exact meta-gradient of a meta-batch."""

from __future__ import annotations

import tensorflow as tf

from vsml_tf.meta.estimators.base import Estimator
from vsml_tf.meta.runner import meta_loss


class Backprop(Estimator):
    """The gradient of the meta-loss, backpropagated through whole episodes of a
    meta-batch (`meta_batch_size` episodes), averaged, then global-norm clipped."""

    CONFIG_SECTION = "gradient"
    MEMBERS = "meta_batch_size"

    def __init__(self, runner, meta_batch_size: int, loss_type: str = "mean",
                 clip_norm: float = 25.0):
        super().__init__(runner, meta_batch_size, loss_type)
        self.clip_norm = clip_norm

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
