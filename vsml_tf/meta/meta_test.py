"""Meta-test: a learner with fixed meta-parameters, learning on held-out episodes."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from vsml_tf.core import rng
from vsml_tf.datasets.episodes import EpisodeSampler
from vsml_tf.meta.runner import EpisodeRunner, meta_test_seeds


def meta_test(runner: EpisodeRunner, theta, sampler: EpisodeSampler, num_episodes: int,
              seed: int, chunk: int = 16):
    """Per-step loss and accuracy [episodes, T] of `theta` [D] on `sampler`'s episodes.

    Episodes depend only on (seed, episode index), never on training progress, so
    evaluations during training are comparable, and every learner given the same seed
    sees the same episodes."""
    fn = runner.compiled_episode_metrics(sampler)
    theta = tf.convert_to_tensor(theta, tf.float32)
    losses, accs = [], []
    for seeds in _chunk_seeds(num_episodes, seed, chunk):
        loss, acc = fn(theta, seeds)
        losses.append(loss.numpy().T)
        accs.append(acc.numpy().T)
    return np.concatenate(losses)[:num_episodes], np.concatenate(accs)[:num_episodes]


def episode_labels(sampler: EpisodeSampler, num_episodes: int, seed: int, chunk: int = 16):
    """The labels [episodes, T, batch] of the episodes `meta_test` runs with these
    arguments (what each step asked the learner to predict)."""
    labels = []
    for seeds in _chunk_seeds(num_episodes, seed, chunk):
        data_seeds, _ = meta_test_seeds(seeds)
        labels.append(np.moveaxis(sampler.episode_indices(data_seeds)[1].numpy(), 1, 0))
    return np.concatenate(labels)[:num_episodes]


def _chunk_seeds(num_episodes: int, seed: int, chunk: int):
    """Seeds [chunk, 2] of each compiled call: always a full chunk (one compiled shape);
    the callers drop the episodes past num_episodes."""
    chunk = min(chunk, num_episodes)
    for start in range(0, num_episodes, chunk):
        yield rng.member_seeds(seed, 0, rng.Purpose.EVAL, tf.range(start, start + chunk))
