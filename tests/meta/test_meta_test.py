"""Meta-test: the labels it shows the learner."""

import numpy as np
from eval_configs import digits_config

from vsml_tf.meta.meta_test import _chunk_seeds, episode_labels
from vsml_tf.meta.runner import meta_test_seeds
from vsml_tf.runs import builder


def test_episode_labels_are_the_labels_meta_test_shows_the_learner():
    config = digits_config()
    learner, _ = builder.build_learner(config)
    sampler = builder.sampler(config, learner, "digits", "test", 30)
    labels = episode_labels(sampler, 5, seed=3, chunk=2)
    assert labels.shape == (5, 30, 1)
    shown = []
    for seeds in _chunk_seeds(5, 3, 2):  # the calls meta_test makes
        _, ys = sampler.sample(meta_test_seeds(seeds)[0])
        shown.append(np.argmax(ys.numpy(), -1).transpose(1, 0, 2))
    np.testing.assert_array_equal(labels, np.concatenate(shown)[:5])
