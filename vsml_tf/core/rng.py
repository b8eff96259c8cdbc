"""Stateless randomness keyed by (seed, iteration, purpose, member index).

Every random draw of meta-training -- ES noise, episode data, initial LSTM states -- is a
pure function of these keys. A resumed run therefore sees exactly the data it would have
seen, and a population split over any number of replicas or hosts draws the same numbers.
"""

from __future__ import annotations

import enum

import tensorflow as tf


class Purpose(enum.IntEnum):
    NOISE = 0
    DATA = 1
    STATE = 2
    EVAL = 3
    WINDOW = 4  # truncated backprop's window in an episode


def member_seeds(seed, iteration, purpose: Purpose, indices) -> tf.Tensor:
    """[len(indices), 2] int32 seeds for tf.random.stateless_* ops."""
    base = tf.stack([tf.cast(seed, tf.int32), tf.cast(iteration, tf.int32)])
    base = tf.random.experimental.stateless_fold_in(base, int(purpose))
    indices = tf.cast(indices, tf.int32)
    return tf.map_fn(lambda i: tf.random.experimental.stateless_fold_in(base, i), indices,
                     fn_output_signature=tf.TensorSpec([2], tf.int32))


# Up to this many members, draws are unrolled into independent ops instead of a loop:
# XLA:CPU then runs them concurrently instead of one after another (a loop of 64 draws of
# es_digits' state shape took 3x longer); beyond it, a loop keeps the program small.
UNROLL_MEMBERS = 128


def per_member(sample_fn, seeds, shape, dtype=tf.float32) -> tf.Tensor:
    """Stack sample_fn(shape, seed=s) over seeds [p, 2] -> [p, *shape]."""
    def draw(seed):
        return sample_fn(shape, seed=seed, dtype=dtype)

    members = seeds.shape[0]
    if members is not None and members <= UNROLL_MEMBERS:
        return tf.stack([draw(seeds[i]) for i in range(members)])
    return tf.map_fn(draw, seeds, fn_output_signature=tf.TensorSpec(shape, dtype))


def truncated_normal_sampler(seeds):
    """A `sample(shape) -> [p, *shape]` standard truncated normal, one seed per member."""
    return lambda shape: per_member(tf.random.stateless_truncated_normal, seeds, tuple(shape))


def normal(seeds, size: int) -> tf.Tensor:
    return per_member(tf.random.stateless_normal, seeds, (size,))
