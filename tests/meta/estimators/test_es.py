"""The ES estimator against closed forms and explicitly run members."""

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf
from meta_trainers import digits_sampler, es_trainer

from vsml_tf.core import rng
from vsml_tf.meta.estimators import es


def quadratic(theta, a, Q):
    d = theta - a
    return 0.5 * tf.reduce_sum(tf.linalg.matvec(Q, d, transpose_a=False) * d, axis=-1)


@pytest.mark.slow
def test_antithetic_estimate_on_quadratic_matches_closed_form():
    """For a quadratic L, (L(t+se) - L(t-se)) / 2s = e . grad L exactly, so the estimator
    equals (1/P) E^T E grad L for the drawn noise E, and approaches grad L for large P."""
    D, P, sigma = 6, 4000, 0.05
    g = np.random.default_rng(0)
    a = g.normal(size=D).astype(np.float32)
    B = g.normal(size=(D, D))
    Q = (B @ B.T / D + np.eye(D)).astype(np.float32)
    theta = g.normal(size=D).astype(np.float32)
    seeds = rng.member_seeds(7, 3, rng.Purpose.NOISE, tf.range(P))
    eps = rng.normal(seeds, D)
    members = es.antithetic_population(theta, eps, sigma)
    losses = quadratic(members, a, Q)
    fitness = tf.stack([losses[:P], losses[P:]], axis=1)
    estimate = es.finalize_gradient(es.gradient_sum(eps, fitness, sigma), P, theta).numpy()
    true_grad = Q @ (theta - a)
    E = eps.numpy().astype(np.float64)
    np.testing.assert_allclose(estimate, E.T @ E @ true_grad / P, rtol=1e-4, atol=1e-4)
    # Monte Carlo error of E^T E / P is O(sqrt(D / P)) ~ 4%.
    assert np.linalg.norm(estimate - true_grad) < 0.15 * np.linalg.norm(true_grad)


def test_gradient_sum_is_additive_over_shards():
    g = np.random.default_rng(1)
    eps = g.normal(size=(10, 5)).astype(np.float32)
    fit = g.normal(size=(10, 2)).astype(np.float32)
    whole = es.gradient_sum(eps, fit, 0.1)
    parts = es.gradient_sum(eps[:3], fit[:3], 0.1) + es.gradient_sum(eps[3:], fit[3:], 0.1)
    np.testing.assert_allclose(whole, parts, rtol=1e-5, atol=1e-6)


def test_centered_ranks_match_scipy():
    x = np.random.default_rng(2).normal(size=(7, 2)).astype(np.float32)
    expected = (scipy.stats.rankdata(x.reshape(-1)) - 1) / (x.size - 1) - 0.5
    np.testing.assert_allclose(es.centered_ranks(x).numpy().reshape(-1), expected, atol=1e-6)
    assert es.shape_fitness(x, "none") is x
    with pytest.raises(ValueError, match="centered_rank"):
        es.shape_fitness(x, "rank")


def test_shard_centered_ranks_rank_each_shard_alone():
    """Ranks within each shard's block of pairs: a shard whose losses are 100x larger
    (a longer task) takes no more of [-0.5, 0.5] than the others."""
    g = np.random.default_rng(3)
    x = g.normal(size=(6, 2)).astype(np.float32) * np.array([[1], [1], [1], [100], [100],
                                                                [100]], np.float32)
    shaped = es.shape_fitness(x, "shard_centered_rank", num_shards=2).numpy()
    for block in (slice(0, 3), slice(3, 6)):
        expected = (scipy.stats.rankdata(x[block].reshape(-1)) - 1) / 5 - 0.5
        np.testing.assert_allclose(shaped[block].reshape(-1), expected, atol=1e-6)
    np.testing.assert_array_equal(es.shape_fitness(x, "shard_centered_rank", 1),
                                  es.shape_fitness(x, "centered_rank"))


def test_weight_decay_and_clipping():
    theta = tf.constant([3.0, 4.0])
    grad = es.finalize_gradient(tf.constant([2.0, 0.0]), 2, theta, weight_decay=0.1)
    np.testing.assert_allclose(grad, [1.3, 0.4], rtol=1e-6)
    clipped = es.finalize_gradient(tf.constant([30.0, 40.0]), 1, theta, clip_norm=5.0)
    np.testing.assert_allclose(clipped, [3.0, 4.0], rtol=1e-6)


def test_es_trainer_gradient_matches_explicit_pairs():
    """The compiled ES step equals the estimator computed from explicitly run members."""
    trainer = es_trainer(digits_sampler(), population_size=3, sigma=0.05,
                         learning_rate=0.0, seed=4, jit_compile=False)
    runner, sampler, estimator = trainer.runner, trainer.samplers[0], trainer.estimator
    theta0 = trainer.theta.numpy()
    ids, it, seed = tf.range(3), tf.constant(0, tf.int64), tf.constant(4, tf.int64)
    losses, none = estimator.evaluate(tf.constant(theta0), seed, it, ids, sampler)
    assert none is None  # ES's gradient needs every member's loss first
    losses = losses.numpy()
    eps = estimator.noise(seed, it, ids).numpy()
    # Recompute each member's loss one at a time through the public runner.
    data_seeds = rng.member_seeds(4, 0, rng.Purpose.DATA, ids)
    state_seeds = rng.member_seeds(4, 0, rng.Purpose.STATE, ids)
    xs, ys = sampler.sample(data_seeds)
    for j in range(3):
        for col, sign in enumerate((1.0, -1.0)):
            theta = (theta0 + sign * 0.05 * eps[j])[None]
            step_loss, _ = runner.run(tf.constant(theta), xs[:, j:j + 1], ys[:, j:j + 1],
                                      state_seeds[j:j + 1])
            np.testing.assert_allclose(losses[j, col], np.mean(step_loss), rtol=1e-5)
    expected = eps.T @ (losses[:, 0] - losses[:, 1]) / (2 * 0.05) / 3
    grad_sum = estimator.gradient_sum(tf.constant(theta0), seed, it, ids, tf.constant(losses),
                                      None)
    grad = estimator.finalize(grad_sum, tf.constant(theta0)).numpy()
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
    # and the trainer's whole step takes exactly this gradient (plain SGD-like check on
    # Adam's first step: theta moves against the sign of each component).
    trainer.optimizer.learning_rate.assign(1e-3)
    trainer.step()
    moved = trainer.theta.numpy() - theta0
    significant = np.abs(expected) > 1e-3 * np.abs(expected).max()
    np.testing.assert_array_equal(np.sign(moved[significant]), -np.sign(expected[significant]))
