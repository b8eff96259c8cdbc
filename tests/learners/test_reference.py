"""The straightforward reference layers (vsml-bench's baseline) compute the package's
function and gradient."""

import numpy as np
import pytest
from keras import ops
from network_params import random_params

from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.learners.network import VSMLNetwork


@pytest.mark.parametrize("layers,input_shape,layer_norm", [
    ("dense4,dense", (6,), False), ("dense", (5,), True), ("conv3s2,dense", (5, 4, 2), False)])
def test_straightforward_reference_layers_compute_the_same(layers, input_shape, layer_norm):
    """vsml-bench's baseline must compute the same function as the package's layers."""
    from vsml_tf.learners.reference import reference_layers

    rng = np.random.default_rng(6)
    fast = VSMLNetwork(layers=layers, layer_norm=layer_norm, backward_pass=True)
    params, _, _ = random_params(fast, 2, rng)
    slow = VSMLNetwork(layers=layers, layer_norm=layer_norm, backward_pass=True)
    slow.vsml_layers = reference_layers(slow)
    T, C = 3, 4
    xs = ops.convert_to_tensor(rng.normal(size=(T, 2, 2) + input_shape).astype(np.float32))
    ys = ops.convert_to_tensor(np.eye(C, dtype=np.float32)[rng.integers(0, C, (T, 2, 2))])
    state = fast.initial_state(lambda shape: ops.ones((2,) + tuple(shape)) * 0.5,
                               input_shape, C, 2)
    np.testing.assert_allclose(np.asarray(slow.unroll(params, xs, ys, state)),
                               np.asarray(fast.unroll(params, xs, ys, state)),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layers,input_shape,members", [
    ("dense4,dense", (6,), 1), ("dense", (5,), 2), ("conv3s2,dense", (5, 4, 2), 1)])
def test_meta_gradient_matches_straightforward_layers(layers, input_shape, members):
    """Backprop through an episode of the package's layers (custom LSTM backward,
    separable projections) equals autodiff through the straightforward layers."""
    import tensorflow as tf

    from vsml_tf.learners.reference import reference_layers

    rng = np.random.default_rng(10)
    fast = VSMLNetwork(layers=layers, backward_pass=True)
    slow = VSMLNetwork(layers=layers, backward_pass=True)
    slow.vsml_layers = reference_layers(slow)
    layout = ParamLayout(fast)
    theta = tf.constant(rng.normal(size=(members, layout.size)).astype(np.float32) * 0.5)
    T, C, P = 4, 4, 2
    xs = ops.convert_to_tensor(rng.normal(size=(T, P, 2) + input_shape).astype(np.float32))
    ys = ops.convert_to_tensor(np.eye(C, dtype=np.float32)[rng.integers(0, C, (T, P, 2))])
    state = fast.initial_state(
        lambda shape: ops.convert_to_tensor(rng.normal(size=(P,) + tuple(shape)).astype(
            np.float32) * 0.5), input_shape, C, 2)
    weights = tf.constant(rng.normal(size=(T, P, 2, C)).astype(np.float32))
    grads = []
    for net in (fast, slow):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            logits = net.unroll(layout.unflatten(theta), xs, ys, state)
            loss = tf.reduce_sum(weights * logits)
        grads.append(tape.gradient(loss, theta).numpy())
    assert np.abs(grads[1]).max() > 1e-3
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-5)
