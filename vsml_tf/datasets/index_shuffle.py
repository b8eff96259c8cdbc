"""Stateless random permutations of [0, n) that cost O(1) per index, inside XLA.

`index_shuffle(index, keys, n)` is the position of `index` in a random permutation of
[0, n) chosen by `keys`, like `tf.random.experimental.index_shuffle` -- which has no XLA
kernel (TF 2.21), while drawing a full permutation (top_k of n random keys) costs
O(n) per episode: ~2.5 ms per member for MNIST on a CPU core, more than the indices
themselves are worth. Same construction as TF's op: a balanced Feistel network on
[0, 2^(2h)) with 4 keyed rounds, and cycle-walking to stay inside [0, n).
"""

from __future__ import annotations

import tensorflow as tf

ROUNDS = 4


def num_keys() -> int:
    return ROUNDS


def _mix(x):
    """murmur3's 32-bit finalizer: a cheap bijective hash of uint32."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
    x = x * tf.constant(0x85EBCA6B, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(13, tf.uint32)))
    x = x * tf.constant(0xC2B2AE35, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))


def _half_bits(n: int) -> int:
    bits = max(2, (int(n) - 1).bit_length())
    return (bits + 1) // 2


def _feistel(x, keys, half: int):
    """A bijection of [0, 2^(2*half)): x uint32 [...], keys uint32 [..., ROUNDS]."""
    mask = tf.constant((1 << half) - 1, tf.uint32)
    shift = tf.constant(half, tf.uint32)
    left, right = tf.bitwise.right_shift(x, shift), tf.bitwise.bitwise_and(x, mask)
    for r in range(ROUNDS):
        f = tf.bitwise.bitwise_and(_mix(tf.bitwise.bitwise_xor(right, keys[..., r])), mask)
        left, right = right, tf.bitwise.bitwise_xor(left, f)
    return tf.bitwise.bitwise_or(tf.bitwise.left_shift(left, shift), right)


def index_shuffle(index, keys, n: int):
    """Position of `index` (int32 [...], values in [0, n)) in the permutation of [0, n)
    given by `keys` (int32 [..., ROUNDS], broadcast against index). Returns int32."""
    half = _half_bits(n)
    keys = tf.bitcast(tf.cast(keys, tf.int32), tf.uint32)
    x = _feistel(tf.cast(index, tf.uint32), keys, half)
    limit = tf.constant(n, tf.uint32)

    def outside(x):
        return tf.reduce_any(x >= limit)

    def walk(x):  # cycle-walking: re-apply until inside [0, n); a bijection of [0, n)
        return (tf.where(x >= limit, _feistel(x, keys, half), x),)

    (x,) = tf.while_loop(outside, walk, (x,))
    return tf.cast(x, tf.int32)
