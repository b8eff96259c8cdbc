"""Antithetic evolution strategies (Salimans et al. 2017), as small pure functions.

For pairs j = 1..P with noise eps_j ~ N(0, I), members theta +/- sigma eps_j see the same
episode; the gradient of the expected loss is estimated as

    g = 1/P sum_j eps_j (L+_j - L-_j) / (2 sigma)

optionally with losses replaced by centered ranks. Functions return *sums* over the pairs
they are given, so a population sharded over replicas adds up to the same estimate.
"""

from __future__ import annotations

import tensorflow as tf

from vsml_tf.registry import Registry


def antithetic_population(theta, eps, sigma: float):
    """theta [D], eps [p, D] -> [2p, D]: the p '+' members, then the p '-' members."""
    return tf.concat([theta + sigma * eps, theta - sigma * eps], axis=0)


def centered_ranks(losses):
    """Ranks of all entries mapped to [-0.5, 0.5] (ties broken by position)."""
    flat = tf.reshape(losses, [-1])
    ranks = tf.argsort(tf.argsort(flat, stable=True), stable=True)
    size = tf.cast(tf.size(flat), tf.float32)
    shaped = tf.cast(ranks, tf.float32) / tf.maximum(size - 1.0, 1.0) - 0.5
    return tf.reshape(shaped, tf.shape(losses))


FITNESS_SHAPINGS = Registry("es.fitness_shaping", {
    "none": lambda losses: losses,
    "centered_rank": centered_ranks,
})


def shape_fitness(losses, shaping: str):
    """losses [p, 2] (columns '+', '-') -> shaped values of the same shape."""
    return FITNESS_SHAPINGS.lookup(shaping)(losses)


def gradient_sum(eps, fitness, sigma: float):
    """sum_j eps_j (f+_j - f-_j) / (2 sigma) for eps [p, D], fitness [p, 2] -> [D]."""
    diff = (fitness[:, 0] - fitness[:, 1]) / (2.0 * sigma)
    return tf.linalg.matvec(eps, diff, transpose_a=True)


def finalize_gradient(grad_sum, num_pairs: int, theta, weight_decay: float = 0.0,
                      clip_norm: float = 0.0):
    """Mean over all pairs, plus L2 weight decay, then optional global-norm clipping."""
    grad = grad_sum / float(num_pairs) + weight_decay * theta
    if clip_norm:
        grad = tf.clip_by_norm(grad, clip_norm)
    return grad
