"""The fast kernels (LSTM update and cell, message reduction) against plain and float64
versions."""

import numpy as np
import pytest
from keras import ops
from network_params import S, random_params

from vsml_tf.learners.network import VSMLNetwork


@pytest.mark.parametrize("scale", [1e-3, 0.3, 3.0, 30.0, 1e4])
def test_lstm_update_matches_float64_lstm(scale):
    """The float32 update (activations as shared-denominator fractions of XLA's tanh
    approximation) against the textbook LSTM in float64, from tiny to saturated gates.

    Each activation is within ~1.2e-7 of its exact value (float32 tanh's error near +-1),
    so c and h are within a few 1e-7 times |c| + 1: as the previous implementation
    (sigmoid(x) = (1 + ops.tanh(x / 2)) / 2), checked alongside.
    """
    import tensorflow as tf

    from vsml_tf.learners import kernels, sub_rnn

    def with_tanh(gates, c):
        i, g, f, o = tf.split(gates, 4, axis=-1)
        sigmoid = kernels._sigmoid
        c = sigmoid(f + sub_rnn.FORGET_BIAS) * c + sigmoid(i + sub_rnn.INPUT_BIAS) * tf.tanh(g)
        return sigmoid(o) * tf.tanh(c), c

    rng = np.random.default_rng(11)
    gates = (rng.normal(size=(4000, 4 * S)) * scale).astype(np.float32)
    c = (rng.normal(size=(4000, S)) * min(max(scale, 1.0), 100.0)).astype(np.float32)
    gates[:4] = [[np.inf], [-np.inf], [0.0], [1e-30]]
    i, g, f, o = np.split(gates.astype(np.float64), 4, axis=-1)
    sigmoid = lambda x: 0.5 * np.tanh(0.5 * x) + 0.5
    want_c = sigmoid(f + sub_rnn.FORGET_BIAS) * c + sigmoid(i + sub_rnn.INPUT_BIAS) * np.tanh(g)
    want_h = sigmoid(o) * np.tanh(want_c)
    for update in (kernels.lstm_update, with_tanh):
        h, c_new = tf.function(update, jit_compile=True)(gates, c)
        c_error = np.abs(np.asarray(c_new) - want_c) / (np.abs(c) + 1.0)
        assert c_error.max() < 4e-7, (update.__name__, c_error.max())
        h_error = np.abs(np.asarray(h) - want_h) / (np.abs(c) + 1.0)  # h inherits c's error
        assert h_error.max() < 5e-7, (update.__name__, h_error.max())


def test_lstm_cell_gradient_matches_autodiff_of_the_plain_cell():
    """The hand-written LSTM backward pass against autodiff of the textbook cell."""
    import tensorflow as tf

    from vsml_tf.learners import kernels, sub_rnn

    rng = np.random.default_rng(9)
    gates = tf.constant(rng.normal(size=(3, 5, 4 * S)).astype(np.float32) * 4)
    c = tf.constant(rng.normal(size=(3, 5, S)).astype(np.float32) * 2)
    w_h, w_c = (tf.constant(rng.normal(size=(3, 5, S)).astype(np.float32)) for _ in range(2))
    results = []
    for cell in (kernels.lstm_cell, sub_rnn.lstm_update):
        with tf.GradientTape() as tape:
            tape.watch([gates, c])
            h, c_new = cell(gates, c)
            loss = tf.reduce_sum(w_h * h) + tf.reduce_sum(w_c * c_new)
        results.append([h, c_new] + tape.gradient(loss, [gates, c]))
    for fast, plain in zip(*results):
        np.testing.assert_allclose(fast.numpy(), plain.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_fast_message_reduction_equals_the_plain_mean(layer_norm):
    """kernels.message (a ones-vector matmul for per-member parameters) against
    sub_rnn.message with ops.mean, for a dense and a conv-shaped reduction."""
    from vsml_tf.learners import kernels, sub_rnn

    rng = np.random.default_rng(13)
    net = VSMLNetwork(layer_norm=layer_norm)
    params, _, _ = random_params(net, 3, rng, scale=0.5)
    h = ops.convert_to_tensor(rng.normal(size=(3, 2, 7, 5, 2, 4, S)).astype(np.float32))
    for axes in ((2,), (3, 4), (5,)):
        for direction in ("fwd", "bwd"):
            fast = kernels.message(params["sub_rnn"], h, direction, axes, layer_norm)
            plain = sub_rnn.message(params["sub_rnn"], h, direction, axes, layer_norm)
            np.testing.assert_allclose(np.asarray(fast), np.asarray(plain), rtol=1e-6,
                                       atol=1e-6)
