"""The episode runner: meta-test through a runner set up for rematerialized meta-training."""

import numpy as np
import tensorflow as tf

from vsml_tf.learners.base import DataSpec
from vsml_tf.learners.baselines.online_sgd import OnlineGradientLearner


def test_meta_test_of_online_sgd_through_a_remat_runner():
    """A runner set up for rematerialized meta-training (configs with training.remat,
    such as the quickstart) meta-tests online SGD, whose steps take their own gradient,
    exactly as a plain runner does (meta-test never rematerializes)."""
    from vsml_tf import datasets
    from vsml_tf.core import rng as rng_lib
    from vsml_tf.datasets.episodes import EpisodeSampler
    from vsml_tf.meta.runner import EpisodeRunner

    learner = OnlineGradientLearner(num_layers=1, learning_rate=0.1)
    learner.build_for(DataSpec((64,), 10))
    sampler = EpisodeSampler(datasets.load("digits", "test"), 6)
    seeds = rng_lib.member_seeds(0, 0, rng_lib.Purpose.EVAL, tf.range(2))
    theta = tf.zeros([0])
    plain = EpisodeRunner(learner, jit_compile=False).episode_metrics(sampler, theta, seeds)
    remat = EpisodeRunner(learner, remat=True, jit_compile=False).episode_metrics(
        sampler, theta, seeds)
    for a, b in zip(plain, remat):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
