"""The backprop estimator: its meta-gradient against finite differences, the same
gradient with rematerialization, and truncated backprop against an eager reference."""

import numpy as np
import pytest
import tensorflow as tf
from gradient_check import (
    assert_meta_gradient_matches_finite_differences,
    loss_and_gradient,
)
from meta_trainers import digits_sampler, gradient_trainer

from vsml_tf.core import rng
from vsml_tf.meta.estimators import Backprop
from vsml_tf.meta.runner import step_losses
from vsml_tf.core.errors import UserError
from vsml_tf.meta.estimators.backprop import window_probabilities, window_start


def test_meta_gradient_matches_finite_differences():
    trainer = gradient_trainer(digits_sampler(5), meta_batch_size=2, learning_rate=0.0,
                               seed=2, jit_compile=False)
    g = np.random.default_rng(3)
    trainer.theta.assign(g.normal(size=trainer.layout.size).astype(np.float32) * 0.3)
    assert_meta_gradient_matches_finite_differences(trainer, g, atol=1e-4)


def test_remat_gives_the_same_gradient():
    plain = gradient_trainer(digits_sampler(), meta_batch_size=2, learning_rate=0.0, seed=1,
                             jit_compile=False)
    remat = gradient_trainer(digits_sampler(), meta_batch_size=2, learning_rate=0.0, seed=1,
                             jit_compile=False, remat=True)
    remat.theta.assign(plain.theta)
    ids, it = tf.range(2), tf.constant(0, tf.int64)
    loss_a, grad_a = loss_and_gradient(plain, it, ids)
    loss_b, grad_b = loss_and_gradient(remat, it, ids)
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-6)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-4, atol=1e-7)


def naive_window_loss_and_gradient(runner, theta, xs, ys, state_seeds, start, length):
    """Reference for truncated backprop, one eager Python loop per phase: the steps before
    `start` with theta held constant, then the window's mean loss differentiated."""
    learner = runner.learner
    # Drawn compiled like the estimator's (XLA's stateless draws differ from eager ones).
    state = tf.function(lambda: learner.initial_state(
        rng.truncated_normal_sampler(state_seeds), tuple(xs.shape[3:]), ys.shape[-1],
        xs.shape[2]), jit_compile=True)()
    carry = learner.initial_carry(state, xs, ys)
    constant = runner.layout.unflatten(tf.constant(theta.numpy())[None])
    for t in range(start):
        carry, _ = learner.step(constant, carry, xs[t], ys[t])
    with tf.GradientTape() as tape:
        tape.watch(theta)
        params = runner.layout.unflatten(theta[None])
        logits = []
        for t in range(start, start + length):
            carry, out = learner.step(params, carry, xs[t], ys[t])
            logits.append(out)
        loss, _ = step_losses(tf.stack(logits), ys[start:start + length])
        total = tf.reduce_sum(tf.reduce_mean(loss, axis=0))
    return total, tape.gradient(total, theta)


@pytest.mark.parametrize("remat", [False, True])
def test_truncated_gradient_is_the_windows_gradient_with_earlier_steps_frozen(remat):
    """run_window (a tf.while_loop burn-in, then a scan with or without remat, compiled
    by XLA) against the eager reference above; its losses are the full episode's."""
    trainer = gradient_trainer(digits_sampler(12), meta_batch_size=3, learning_rate=0.0,
                               seed=4, remat=remat)
    runner = trainer.runner
    g = np.random.default_rng(5)
    theta = tf.constant(g.normal(size=runner.layout.size).astype(np.float32) * 0.3)
    estimator = Backprop(runner, 3, truncation=4)
    ids, seed = tf.range(3), tf.constant(4, tf.int64)
    for iteration in range(3):
        it = tf.constant(iteration, tf.int64)
        # Under XLA the stateless draws differ from eager ones: draw them compiled too.
        (xs, ys, state_seeds), start = tf.function(
            lambda: (estimator.episodes(seed, it, ids, trainer.samplers[0]),
                     window_start(seed, it, 12, 4)), jit_compile=True)()
        start = int(start)
        compiled = tf.function(lambda th: estimator.evaluate(th, seed, it, ids,
                                                             trainer.samplers[0]),
                               jit_compile=True)
        losses, grad = compiled(theta)
        want_loss, want_grad = naive_window_loss_and_gradient(
            runner, tf.Variable(theta), xs, ys, state_seeds, start, 4)
        np.testing.assert_allclose(float(tf.reduce_sum(losses)), float(want_loss),
                                   rtol=1e-5)
        np.testing.assert_allclose(grad, want_grad, rtol=2e-3, atol=2e-6)
        full_loss, window_loss = tf.function(lambda: (
            runner.run(theta[None], xs, ys, state_seeds)[0],
            runner.run_window(theta[None], xs, ys, state_seeds, start, 4)[0]),
            jit_compile=True)()
        np.testing.assert_allclose(window_loss, full_loss[start:start + 4], rtol=1e-5,
                                   atol=1e-6)


def test_window_starts_are_multiples_that_fit_and_cover_the_episode():
    seed = tf.constant(0, tf.int64)
    starts = [int(window_start(seed, tf.constant(i, tf.int64), 10, 3)) for i in range(60)]
    assert set(starts) == {0, 3, 6}  # 9 would not fit a 3-step window in 10 steps
    again = [int(window_start(seed, tf.constant(i, tf.int64), 10, 3)) for i in range(60)]
    assert starts == again  # keyed by (seed, iteration): every replica draws the same


def test_a_truncation_as_long_as_the_episode_is_whole_episode_backprop():
    trainer = gradient_trainer(digits_sampler(5), meta_batch_size=2, learning_rate=0.0,
                               seed=1, jit_compile=False)
    whole = Backprop(trainer.runner, 2)
    truncated = Backprop(trainer.runner, 2, truncation=5)
    args = (tf.convert_to_tensor(trainer.theta), tf.constant(1, tf.int64),
            tf.constant(0, tf.int64), tf.range(2), trainer.samplers[0])
    for a, b in zip(whole.evaluate(*args), truncated.evaluate(*args)):
        np.testing.assert_array_equal(a, b)


def test_log_window_sampling_draws_each_window_with_its_share_of_log_steps():
    """The closed form P(k) = log((k+2)/(k+1)) / log(W+1) sums to 1, falls with k, and
    the draws follow it (chi-square-sized tolerance on 4,000 draws)."""
    probs = window_probabilities(5, "log")
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-12)
    assert np.all(np.diff(probs) < 0)
    np.testing.assert_allclose(window_probabilities(5, "uniform"), 0.2)
    draw = tf.function(lambda i: window_start(tf.constant(3, tf.int64), i, 50, 10, "log"))
    starts = np.array([int(draw(tf.constant(i, tf.int64))) for i in range(4000)])
    counts = np.bincount(starts // 10, minlength=5)
    assert set(np.unique(starts)) <= {0, 10, 20, 30, 40}
    np.testing.assert_allclose(counts / 4000, probs, atol=0.025)
    with pytest.raises(UserError, match="window_sampling 'late'"):
        window_probabilities(5, "late")


def test_mixed_window_sampling_is_half_log_half_uniform():
    """P(k) = (log((k+2)/(k+1)) / log(W+1) + 1/W) / 2, written out for W = 4."""
    k = np.arange(4.0)
    expected = 0.5 * (np.log((k + 2) / (k + 1)) / np.log(5.0) + 0.25)
    np.testing.assert_allclose(window_probabilities(4, "mixed"), expected, rtol=1e-12)
    np.testing.assert_allclose(window_probabilities(4, "mixed").sum(), 1.0, rtol=1e-12)
