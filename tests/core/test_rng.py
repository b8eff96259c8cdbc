"""Random numbers per member: pure functions of their keys, the same unrolled and looped."""

import numpy as np
import tensorflow as tf

from vsml_tf.core import rng


def test_member_seeds_depend_only_on_their_keys():
    all_seeds = rng.member_seeds(1, 5, rng.Purpose.DATA, tf.range(8)).numpy()
    some = rng.member_seeds(1, 5, rng.Purpose.DATA, tf.constant([3, 6])).numpy()
    np.testing.assert_array_equal(all_seeds[[3, 6]], some)
    assert len({tuple(s) for s in all_seeds}) == 8
    other = rng.member_seeds(1, 6, rng.Purpose.DATA, tf.range(8)).numpy()
    assert not (other == all_seeds).all(axis=1).any()


def test_unrolled_and_looped_member_draws_are_identical(monkeypatch):
    """Small populations draw per-member numbers as unrolled ops, large ones in a loop;
    both must give every member the same numbers (resume and sharding rely on it)."""
    seeds = rng.member_seeds(3, 7, rng.Purpose.STATE, tf.range(5))
    for jit in (False, True):
        draw = tf.function(lambda s: rng.per_member(tf.random.stateless_truncated_normal,
                                                    s, (4, 3)), jit_compile=jit)
        unrolled = draw(seeds).numpy()
        monkeypatch.setattr(rng, "UNROLL_MEMBERS", 0)
        looped = tf.function(lambda s: rng.per_member(
            tf.random.stateless_truncated_normal, s, (4, 3)), jit_compile=jit)(seeds).numpy()
        monkeypatch.setattr(rng, "UNROLL_MEMBERS", 128)
        np.testing.assert_array_equal(unrolled, looped)
        assert unrolled.shape == (5, 4, 3) and np.abs(unrolled).max() <= 2.0
        assert len({row.tobytes() for row in unrolled}) == 5
