"""Meta-test: a learner with fixed meta-parameters, learning on held-out episodes."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from vsml_tf import rng
from vsml_tf.episodes import EpisodeSampler
from vsml_tf.runner import EpisodeRunner


def meta_test(runner: EpisodeRunner, theta, sampler: EpisodeSampler, num_episodes: int,
              seed: int, chunk: int = 16):
    """Per-step loss and accuracy [episodes, T] of `theta` [D] on `sampler`'s episodes.

    Episodes depend only on (seed, episode index), never on training progress, so
    evaluations during training are comparable, and every learner given the same seed
    sees the same episodes."""
    fn = runner.compiled_episode_metrics(sampler)
    theta = tf.convert_to_tensor(theta, tf.float32)
    losses, accs = [], []
    chunk = min(chunk, num_episodes)
    for start in range(0, num_episodes, chunk):
        # Always a full chunk (one compiled shape); extra episodes are dropped below.
        seeds = rng.member_seeds(seed, 0, rng.Purpose.EVAL, tf.range(start, start + chunk))
        loss, acc = fn(theta, seeds)
        losses.append(loss.numpy().T)
        accs.append(acc.numpy().T)
    return np.concatenate(losses)[:num_episodes], np.concatenate(accs)[:num_episodes]
