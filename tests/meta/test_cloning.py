"""Learning-algorithm cloning: the SGD it clones, the cloned tick and the cloning loss."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy_sgd import numpy_sgd_episode, random_episode

import vsml_tf
from vsml_tf.core import rng
from vsml_tf.learners.network import VSMLNetwork
from vsml_tf.meta import cloning

SHIPPED = os.path.join(os.path.dirname(os.path.abspath(vsml_tf.__file__)), "pretrained_data",
                       "clone_backprop", "clone_params.npz")


def clone_network(layers="dense"):
    return VSMLNetwork(layers=layers, backward_pass=True, separate_backward_rnn=True,
                       output_idx=0)


@pytest.mark.parametrize("layers", ["dense", "dense4,dense"])
def test_sgd_target_matches_numpy_online_sgd(layers):
    net = clone_network(layers)
    spec = cloning.CloneSpec(kappa=30.0, alpha=0.7, alpha_bias=0.05)
    target = cloning.SGDCloneTarget(net, spec)
    xs, ys = random_episode(12, 6, 3)
    seeds = tf.constant([[1, 2]], tf.int32)
    state = target.initial_state(rng.truncated_normal_sampler(seeds), (6,), 3, 1)
    logits = target.unroll({}, tf.constant(xs)[:, None, None], tf.constant(ys)[:, None, None],
                           state).numpy()[:, 0, 0]
    init = [(w.numpy()[0].astype(np.float64), b.numpy()[0].astype(np.float64))
            for w, b in state]
    # The draw is the VSML network's own initial state: kernel std kappa/sqrt(A), bias 0.
    vsml_state = net.initial_state(rng.truncated_normal_sampler(seeds), (6,), 3, 1)
    np.testing.assert_array_equal(init[0][0], 30.0 * vsml_state[0][1].numpy()[0, 0, ..., 0])
    assert not init[0][1].any()
    expected = numpy_sgd_episode(init, xs.astype(np.float64), ys, 0.7, 0.05)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)


def test_sgd_target_step_is_gradient_descent_with_the_stated_step_sizes():
    """Shallow: the update is SGD on y = mean_a phi(x_a) W_ab + b with step alpha * A on
    the kernel and alpha_bias on the bias (up to the 100 tanh(./100) bound's derivative)."""
    net = clone_network()
    spec = cloning.CloneSpec(kappa=30.0, alpha=0.5, alpha_bias=0.1)
    target = cloning.SGDCloneTarget(net, spec)
    A, C = 7, 4
    xs, ys = random_episode(1, A, C, seed=3)
    w = tf.constant(np.random.default_rng(1).normal(size=(1, A, C)), tf.float32)
    beta = tf.constant(np.random.default_rng(2).normal(size=(1, A, C)) * 0.1, tf.float32)
    (w_new, beta_new), = target.step({}, [(w, beta)], xs[None, :1], ys[None, :1])[0]
    with tf.GradientTape() as tape:
        tape.watch([w, beta])
        bias = tf.reduce_mean(beta, axis=1)  # b_b = mean_a beta_ab
        y = tf.reduce_mean(tf.sigmoid(cloning.GAIN * xs[0])[None, :, None] * w, axis=1) + bias
        loss = tf.keras.losses.categorical_crossentropy(ys[:1], y, from_logits=True)
    g_w, g_b = tape.gradient(loss, [w, bias])
    np.testing.assert_allclose(w_new, w - 0.5 * A * g_w, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(tf.reduce_mean(beta_new, 1), bias - 0.1 * g_b, rtol=1e-3,
                               atol=1e-5)


def test_cloning_loss_decreases():
    keras.utils.set_random_seed(0)
    net = clone_network()
    cloner = cloning.Cloner(net, cloning.CloneSpec(), pool_size=128, rollout_steps=1,
                            learning_rate=1e-2, state_weight=10.0, jit_compile=False)
    losses = [sum(cloner.step()) for _ in range(25)]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses


def shipped_network():
    net = clone_network()
    cloning.load_params(SHIPPED, net)
    return net


def test_cloned_tick_follows_the_backprop_formulas():
    """One step of a dense layer with the shipped clone against the formulas, from a
    state that has run a few steps (on-distribution h). Tolerances are the measured
    errors with margin, relative to the targets' scale."""
    net = shipped_network()
    spec = cloning.CloneSpec()
    layer = net.vsml_layers[0]
    fwd_p, bwd_p = (r.params(1) for r in (net.forward_rnns[0], net.backward_rnns[0]))
    r = np.random.default_rng(0)
    A, B, S, M = 40, 10, 16, 8
    sample = rng.truncated_normal_sampler(tf.constant([[3, 4]], tf.int32))
    (h, c), = net.initial_state(sample, (A,), B, 1)
    u_all = np.where(r.random((6, A)) < 0.6, -0.4242, r.uniform(-0.42, 2.8, (6, A)))
    d_all = r.uniform(-0.3, 0.3, (6, B))
    msg = lambda v: tf.pad(tf.constant(v, tf.float32)[None, None, :, None],
                           [[0, 0], [0, 0], [0, 0], [0, M - 1]])
    for t in range(6):
        w = spec.kappa * c.numpy()[0, 0, ..., 0]
        beta = spec.kappa_bias * c.numpy()[0, 0, ..., S // 2]
        u, delta = u_all[t], d_all[t]
        (h, c), f_out, _ = layer.tick(fwd_p, (h, c), msg(u), msg(np.zeros(B)), 2)
        (h, c), _, b_out = layer.tick(bwd_p, (h, c), msg(u), msg(delta), 2)
    phi = 1 / (1 + np.exp(-cloning.GAIN * u))
    y = np.mean(phi[:, None] * w + beta, 0)
    w_next = w - spec.alpha * phi[:, None] * delta[None]
    scale_y = np.abs(phi[:, None] * w).mean()
    # Measured (shipped clone): y error 0.04 x scale, unused channels 0.10 x scale, state
    # read-out error 0.24 x the SGD step.
    np.testing.assert_allclose(f_out.numpy()[0, 0, :, 0], y, atol=0.15 * scale_y)
    assert np.abs(f_out.numpy()[0, 0, :, 1:]).max() < 0.2 * scale_y
    step = np.abs(w_next - w).mean()
    err = np.abs(spec.kappa * c.numpy()[0, 0, ..., 0] - w_next).mean()
    assert err < 0.3 * step, (err, step)


def test_clone_episode_follows_numpy_online_sgd():
    """A 40-step episode of the shipped clone (a VSML network, no gradient) against the
    NumPy SGD above from the same initial weights. Measured: mean logit error 0.097 of
    the logits' mean size, the same predicted class on 35 of 40 steps (early logits are
    nearly tied, so argmax is the sensitive read-out)."""
    net = shipped_network()
    spec = cloning.CloneSpec()
    A, C, T = 60, 10, 40
    r = np.random.default_rng(5)
    xs = np.where(r.random((T, A)) < 0.6, -0.4242, r.uniform(-0.42, 2.8, (T, A)))
    ys = np.eye(C)[r.integers(0, C, T)]
    sample = rng.truncated_normal_sampler(tf.constant([[7, 8]], tf.int32))
    state = net.initial_state(sample, (A,), C, 1)
    params = {rr.name: rr.params(1) for rr in net.sub_rnns}
    logits = net.unroll(params, tf.constant(xs, tf.float32)[:, None, None],
                        tf.constant(ys, tf.float32)[:, None, None], state).numpy()[:, 0, 0]
    c = state[0][1].numpy()[0, 0].astype(np.float64)
    init = [(spec.kappa * c[..., 0], spec.kappa_bias * c[..., spec.state_size // 2])]
    expected = numpy_sgd_episode(init, xs, ys, spec.alpha, spec.alpha_bias)
    scale = np.abs(expected).mean()
    err = np.abs(logits - expected).mean() / scale
    same = (logits.argmax(-1) == expected.argmax(-1)).mean()
    assert err < 0.15 and same >= 0.8, (err, same)


def test_delta_range_draws_the_stated_share_of_large_errors():
    """delta_range R > 1: large errors (half the draws) are uniform over +-1 or, half of
    them, +-R, so P(|delta| > 1) = 0.5 * 0.5 * (1 - 1/R); at R = 1 no error exceeds 1."""
    net = clone_network()
    key = tf.constant([0, 1], tf.int32)
    n = 200_000
    for r in (1.0, 4.0):
        cloner = cloning.Cloner(net, cloning.CloneSpec(), pool_size=8, delta_range=r,
                                jit_compile=False)
        _, delta, stale = cloner.sample_inputs(n, key)
        share = float(tf.reduce_mean(tf.cast(tf.abs(delta) > 1.0, tf.float32)))
        expected = 0.25 * (1.0 - 1.0 / r)
        assert abs(share - expected) < 0.005, (r, share, expected)
        assert float(tf.reduce_max(tf.abs(delta))) <= r
        # A hidden layer's forward tick sees last step's error of the same range.
        assert (float(tf.reduce_max(tf.abs(stale))) > 1.0) == (r > 1.0)
