"""Backpropagation through episodes: the exact meta-gradient of a meta-batch, or, with a
truncation, of one window of long episodes (truncated backprop)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from vsml_tf.core import rng
from vsml_tf.core.errors import UserError
from vsml_tf.meta.estimators.base import Estimator
from vsml_tf.meta.runner import meta_loss


WINDOW_SAMPLINGS = ("uniform", "log", "mixed")


def window_probabilities(windows: int, sampling: str) -> np.ndarray:
    """P(window k), k = 0..windows-1. 'uniform': every window alike (the mean loss over
    the episode); 'log': the density 1/(t + K) over steps t, integrated over each window,
    P(k) = log((k+2)/(k+1)) / log(windows+1) -- every doubling of the stream weighs the
    same, as on the log step axis of the learning-curve figures; 'mixed': half of each,
    the fast start of 'log' without starving the late windows."""
    if sampling == "uniform":
        return np.full(windows, 1.0 / windows)
    if sampling == "log":
        k = np.arange(windows)
        return np.log((k + 2) / (k + 1)) / np.log(windows + 1)
    if sampling == "mixed":
        return 0.5 * (window_probabilities(windows, "log")
                      + window_probabilities(windows, "uniform"))
    raise UserError(f"Unknown gradient.window_sampling {sampling!r}; use one of "
                    f"{', '.join(WINDOW_SAMPLINGS)}.")


def window_start(seed, iteration, episode_length: int, truncation: int,
                 sampling: str = "uniform"):
    """The first step of this iteration's window: a multiple of `truncation` drawn with
    `window_probabilities` (keyed by seed and iteration only, so every member and replica
    agrees), such that the window fits in the episode."""
    probs = window_probabilities(episode_length // truncation, sampling)
    key = rng.member_seeds(seed, iteration, rng.Purpose.WINDOW, tf.range(1))[0]
    logits = tf.constant(np.log(probs)[None], tf.float32)
    index = tf.random.stateless_categorical(logits, 1, key, dtype=tf.int32)[0, 0]
    return index * truncation


class Backprop(Estimator):
    """The gradient of the meta-loss, backpropagated through episodes of a meta-batch
    (`meta_batch_size` episodes), averaged, then global-norm clipped.

    `truncation` = K > 0 (truncated backprop): each iteration draws one window of K steps
    at a multiple of K (`window_sampling`: uniformly, 'log' or 'mixed'); the episode's
    steps before it run forward only (the learner's state carried into the window, no
    gradient through them) and the meta-loss is the window's. Over the draws the windows cover the whole episode, so the meta-gradient
    sees late steps of long episodes at the backward cost of K steps (the forward steps
    before the window cost about a third of a backward step each)."""

    CONFIG_SECTION = "gradient"
    MEMBERS = "meta_batch_size"

    def __init__(self, runner, meta_batch_size: int, loss_type: str = "mean",
                 clip_norm: float = 25.0, truncation: int = 0,
                 window_sampling: str = "uniform"):
        super().__init__(runner, meta_batch_size, loss_type)
        self.clip_norm = clip_norm
        self.truncation = truncation
        self.window_sampling = window_sampling
        window_probabilities(1, window_sampling)  # an unknown name fails here
        if truncation and runner.learner.compute_dtype_name != "float32":
            raise UserError("gradient.truncation runs in float32 only; set "
                            "model.compute_dtype='float32' or gradient.truncation=0.")

    def evaluate(self, theta, seed, iteration, episode_ids, sampler):
        """Meta-losses [m, 1] of the episodes `episode_ids` and their summed gradient."""
        xs, ys, state_seeds = self.episodes(seed, iteration, episode_ids, sampler)
        length = xs.shape[0]
        truncated = 0 < self.truncation < length
        start = window_start(seed, iteration, length, self.truncation,
                             self.window_sampling) if truncated else 0
        with tf.GradientTape() as tape:
            tape.watch(theta)
            shared = theta[None]  # member axis 1: one large matmul for the meta-batch
            if truncated:
                step_loss, _ = self.runner.run_window(shared, xs, ys, state_seeds, start,
                                                      self.truncation)
            else:
                step_loss, _ = self.runner.run(shared, xs, ys, state_seeds)
            losses = meta_loss(step_loss, self.loss_type)
            loss_sum = tf.reduce_sum(losses)
        return losses[:, None], tape.gradient(loss_sum, theta)

    def finalize(self, grad_sum, theta):
        grad = grad_sum / self.num_members
        if self.clip_norm:
            grad = tf.clip_by_global_norm([grad], self.clip_norm)[0][0]
        return grad
