"""index_shuffle: a permutation, close to uniform."""

import numpy as np
import pytest
import tensorflow as tf

from vsml_tf.datasets.index_shuffle import index_shuffle, num_keys


@pytest.mark.parametrize("n", [1, 2, 5, 397, 1000, 4097])
def test_index_shuffle_is_a_permutation(n):
    keys = tf.random.stateless_uniform([3, 1, num_keys()], [1, n], None, None, tf.int32)
    out = index_shuffle(tf.range(n)[None], keys, n).numpy()
    for row in out:
        np.testing.assert_array_equal(np.sort(row), np.arange(n))
    if n > 5:
        assert not np.array_equal(out[0], out[1])


def test_index_shuffle_is_close_to_uniform():
    """Where index 0 lands, over 4000 keys, is uniform over 8 positions (chi-square)."""
    keys = tf.random.stateless_uniform([4000, num_keys()], [3, 4], None, None, tf.int32)
    positions = index_shuffle(tf.zeros([4000], tf.int32), keys, 8).numpy()
    counts = np.bincount(positions, minlength=8)
    chi2 = ((counts - 500) ** 2 / 500).sum()
    assert chi2 < 24.3, counts  # p = 0.001 for 7 degrees of freedom
