"""The VSML layers' ticks and conv windows against the naive NumPy reference and the
authors' conv; a layer on its own (a one-layer learner over episodes) against the NumPy
episode, in Keras models, and through Keras's own layer conformance harness."""

import keras
import numpy as np
import numpy_reference as ref
import pytest
from keras import ops
from keras.src import testing
from network_params import ATOL, RTOL, M, S, numpy_params, random_params, random_state

from vsml_tf.learners.layers import VSMLConv2D, VSMLDense, conv_window_indices
from vsml_tf.learners.network import VSMLNetwork


@pytest.mark.parametrize("layer_norm", [False, True])
def test_dense_tick_matches_reference(layer_norm):
    rng = np.random.default_rng(0)
    net = VSMLNetwork(layer_norm=layer_norm)
    params, _, _ = random_params(net, 2, rng)
    A, B, n = 5, 3, 2
    h, c = random_state(rng, (2, n, A, B, S))
    fwd = rng.normal(size=(2, n, A, M))
    bwd = rng.normal(size=(2, n, B, M))
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    (h2, c2), fwd_out, bwd_out = VSMLDense().tick(
        params["sub_rnn"], (f32(h), f32(c)), f32(fwd), f32(bwd), 2, layer_norm)
    for p in range(2):
        for e in range(n):
            rh, rc, rf, rb = ref.dense_tick(numpy_params(params, p)["sub_rnn"], h[p, e],
                                            c[p, e], fwd[p, e], bwd[p, e], 2, layer_norm)
            np.testing.assert_allclose(np.asarray(h2)[p, e], rh, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(np.asarray(c2)[p, e], rc, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(np.asarray(fwd_out)[p, e], rf, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(np.asarray(bwd_out)[p, e], rb, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("size,stride,kernel,layer_norm",
                         [((5, 5), 2, 3, False), ((4, 3), 1, 3, False), ((6, 5), 2, 3, True),
                          ((5, 4), 3, 5, False)])
def test_conv_tick_matches_reference(size, stride, kernel, layer_norm):
    rng = np.random.default_rng(1)
    net = VSMLNetwork(layer_norm=layer_norm)
    params, _, _ = random_params(net, 2, rng)
    (H, W), Ci, Co, n = size, 2, 3, 1
    Ho, Wo = -(-H // stride), -(-W // stride)
    h, c = random_state(rng, (2, n, kernel * kernel, Ci, Co, S))
    fwd = rng.normal(size=(2, n, H, W, Ci, M))
    bwd = rng.normal(size=(2, n, Ho, Wo, Co, M))
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    layer = VSMLConv2D(Co, kernel, stride)
    assert layer.output_shape_for((H, W, Ci), 10) == (Ho, Wo, Co)
    (h2, c2), fwd_out, bwd_out = layer.tick(params["sub_rnn"], (f32(h), f32(c)), f32(fwd),
                                            f32(bwd), 2, layer_norm)
    for p in range(2):
        rh, rc, rf, rb = ref.conv_tick(numpy_params(params, p)["sub_rnn"], h[p, 0], c[p, 0],
                                       fwd[p, 0], bwd[p, 0], kernel, stride, 2, layer_norm)
        np.testing.assert_allclose(np.asarray(h2)[p, 0], rh, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(np.asarray(c2)[p, 0], rc, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(np.asarray(fwd_out)[p, 0], rf, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(np.asarray(bwd_out)[p, 0], rb, rtol=RTOL, atol=ATOL)


def test_conv_windows_are_centered():
    index = conv_window_indices(4, 4, 3, 2)
    assert index.shape == (4, 9)
    # Output (0, 0) is centered on input (0, 0): its top-left neighbours are padding (16).
    assert list(index[0]) == [16, 16, 16, 16, 0, 1, 16, 4, 5]
    # Output (1, 1) is centered on input (2, 2).
    assert list(index[3]) == [5, 6, 7, 9, 10, 11, 13, 14, 15]


@pytest.mark.parametrize("size,stride,kernel", [((5, 5), 2, 3), ((8, 6), 2, 3),
                                                ((6, 7), 3, 3), ((5, 4), 1, 5),
                                                ((7, 6), 2, 5), ((4, 4), 1, 3)])
def test_authors_compat_conv_matches_the_authors_scatter(size, stride, kernel):
    """model.authors_compat (D2, D3): the conv backward message of the authors' code."""
    import numpy_authors_conv as authors

    rng = np.random.default_rng(2)
    net = VSMLNetwork()
    params, _, _ = random_params(net, 1, rng)
    (H, W), Ci, Co = size, 2, 3
    Ho, Wo = -(-H // stride), -(-W // stride)
    h, c = random_state(rng, (1, 1, kernel * kernel, Ci, Co, S))
    fwd = rng.normal(size=(1, 1, H, W, Ci, M))
    bwd = rng.normal(size=(1, 1, Ho, Wo, Co, M))
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    args = (params["sub_rnn"], (f32(h), f32(c)), f32(fwd), f32(bwd), 2)
    (h2, c2), fwd_out, bwd_out = VSMLConv2D(Co, kernel, stride, authors_compat=True).tick(*args)
    rh, rc, rb = authors.conv_tick(numpy_params(params, 0)["sub_rnn"], h[0, 0], c[0, 0],
                                   fwd[0, 0], bwd[0, 0], kernel, stride, 2)
    np.testing.assert_allclose(np.asarray(h2)[0, 0], rh, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(c2)[0, 0], rc, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(bwd_out)[0, 0], rb, rtol=RTOL, atol=ATOL)
    # Forward messages and states do not depend on the switch; the backward message does
    # exactly where the authors' index arithmetic differs (stride > 1 or k != 3).
    (h3, _), fwd_default, bwd_default = VSMLConv2D(Co, kernel, stride).tick(*args)
    np.testing.assert_array_equal(np.asarray(h3), np.asarray(h2))
    np.testing.assert_array_equal(np.asarray(fwd_default), np.asarray(fwd_out))
    differs = np.abs(np.asarray(bwd_default) - np.asarray(bwd_out)).max() > 1e-3
    assert differs == (stride > 1 or kernel != 3)


def test_authors_compat_conv_scatter_omits_windows_past_floor_size_over_stride():
    """D2 on its own: 8x8, stride 2 -- windows centred at 4 or 6 on either axis reach no
    input."""
    from vsml_tf.learners.layers import conv_backward_scatter

    scatter = conv_backward_scatter(8, 8, 3, 2, authors_compat=True).reshape(4, 4, 9, 64)
    reached = scatter.sum(axis=(2, 3)) > 0  # per output window (row, column)
    np.testing.assert_array_equal(reached, np.outer([1, 1, 0, 0], [1, 1, 0, 0]) > 0)
    default = conv_backward_scatter(8, 8, 3, 2).reshape(4, 4, 9, 64)
    assert (default.sum(axis=(2, 3)) > 0).all()


def test_authors_compat_conv_initial_state_std_is_one_over_sqrt_k():
    """D4: the authors scale the conv state (k, k, Ci, Co) by 1/sqrt(k)."""
    ones = lambda shape: ops.ones((1,) + tuple(shape))
    for compat, std in ((False, 1 / np.sqrt(25 * 2)), (True, 1 / np.sqrt(5))):
        net = VSMLNetwork(layers="conv3k5s2,dense", authors_compat=compat)
        (_, c), _ = net.initial_state(ones, (6, 6, 2), 4, 1)
        np.testing.assert_allclose(np.asarray(c)[..., :S // 2], std, rtol=1e-6)
        np.testing.assert_array_equal(np.asarray(c)[..., S // 2:], 0.0)


# -- a layer on its own: a one-layer learner over episodes, the Keras way ---------------

def _layer_with_random_params(layer, input_shape, rng):
    """Build `layer` for episodes of `input_shape` and give it random meta-parameters."""
    layer.build(input_shape)
    params, theta, layout = random_params(layer, 1, rng)
    layout.assign_to_network(theta[0])
    return params


def test_dense_layer_alone_is_a_one_layer_learner():
    """VSMLDense(C) on packed episodes [b, T, A + C] = the NumPy episode of the
    one-layer network, each of the b episodes from its own initial state."""
    rng = np.random.default_rng(20)
    b, T, A, C = 2, 5, 4, 3
    layer = VSMLDense(C, seed=1)
    params = _layer_with_random_params(layer, (b, T, A + C), rng)
    xs = rng.normal(size=(b, T, A)).astype(np.float32)
    ys = np.eye(C, dtype=np.float32)[rng.integers(0, C, (b, T))]
    h, c = random_state(rng, (b, 1, A, C, S))
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    logits = np.asarray(layer(np.concatenate([xs, ys], -1),
                              initial_state=[(f32(h), f32(c))]))
    assert logits.shape == (b, T, C)
    for e in range(b):
        expected = ref.episode([("dense",)], [numpy_params(params, 0)["sub_rnn"]], None,
                               xs[e][:, None], ys[e][:, None], [(h[e, 0], c[e, 0])],
                               feed_label=False)
        np.testing.assert_allclose(logits[e], expected[:, 0], rtol=1e-4, atol=1e-5)


def test_conv_layer_alone_classifies_every_output_position():
    """VSMLConv2D(Co, strides=2) on [b, T, H, W, Ci + Co] against a NumPy loop of the
    reference conv tick: each output position (i, j) predicts, then receives
    softmax - target, the target read at input pixel (2i, 2j)."""
    rng = np.random.default_rng(21)
    b, T, H, W, Ci, Co, k, s = 1, 3, 5, 4, 2, 3, 3, 2
    Ho, Wo = -(-H // s), -(-W // s)
    layer = VSMLConv2D(Co, k, s, seed=2)
    params = _layer_with_random_params(layer, (b, T, H, W, Ci + Co), rng)
    xs = rng.normal(size=(b, T, H, W, Ci)).astype(np.float32)
    targets = np.eye(Co, dtype=np.float32)[rng.integers(0, Co, (b, T, H, W))]
    h, c = random_state(rng, (b, 1, k * k, Ci, Co, S))
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    logits = np.asarray(layer(np.concatenate([xs, targets], -1),
                              initial_state=[(f32(h), f32(c))]))
    assert logits.shape == (b, T, Ho, Wo, Co)

    p = numpy_params(params, 0)["sub_rnn"]
    state, feedback = (h[0, 0], c[0, 0]), np.zeros((Ho, Wo, Co, M))
    for t in range(T):
        fwd = np.zeros((H, W, Ci, M))
        fwd[..., 0] = xs[0, t]
        hh, cc, fwd_out, _ = ref.conv_tick(p, *state, fwd, feedback, k, s, 2)
        state = (hh, cc)
        y_hat = 100.0 * np.tanh(fwd_out[..., 1] / 100.0)
        np.testing.assert_allclose(logits[0, t], y_hat, rtol=1e-4, atol=1e-5)
        feedback = np.zeros((Ho, Wo, Co, M))
        for i in range(Ho):
            for j in range(Wo):
                feedback[i, j, :, 0] = ref.softmax(y_hat[i, j]) - targets[0, t, i * s, j * s]


def test_layers_compose_in_sequential_and_functional_models():
    T, A, C = 4, 6, 3
    model = keras.Sequential([keras.Input((T, A + C)), VSMLDense(C, seed=3)])
    assert model.output_shape == (None, T, C)  # known before any call
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    assert "2,384" in "\n".join(lines)  # the shared sub-RNN's meta-parameters
    x, y = keras.Input((T, A)), keras.Input((T, C))
    logits = VSMLDense(C, seed=3)(keras.layers.Concatenate()([x, y]))
    functional = keras.Model([x, y], logits)
    assert functional.output_shape == (None, T, C)
    functional.set_weights(model.get_weights())
    rng = np.random.default_rng(22)
    xs = rng.normal(size=(2, T, A)).astype(np.float32)
    ys = np.eye(C, dtype=np.float32)[rng.integers(0, C, (2, T))]
    # Same weights and seed: the same episodes from the same initial states.
    np.testing.assert_allclose(np.asarray(functional([xs, ys])),
                               np.asarray(model(np.concatenate([xs, ys], -1))), atol=1e-6)
    conv = keras.Sequential([keras.Input((T, 6, 6, 1 + 4)), VSMLConv2D(4, strides=2)])
    assert conv.output_shape == (None, T, 3, 3, 4)


def test_shape_errors_say_what_a_layer_reads():
    with pytest.raises(ValueError, match="needs units"):
        VSMLDense()(np.zeros((2, 3, 8), np.float32))
    with pytest.raises(ValueError, match=r"episodes \[batch, T, features \+ 10\]"):
        VSMLDense(10)(np.zeros((4, 64), np.float32))
    with pytest.raises(ValueError, match=r"\[batch, T, H, W, channels \+ 4\]"):
        VSMLConv2D(4)(np.zeros((2, 3, 8, 8, 4), np.float32))


class KerasConformanceTest(testing.TestCase):
    """Keras's own layer harness: build, symbolic and eager output shapes, config and
    serialization round trips, a compiled (XLA) training step, mixed precision."""

    def test_dense(self):
        self.run_layer_test(
            VSMLDense, init_kwargs={"units": 3, "seed": 1}, input_shape=(2, 4, 5 + 3),
            expected_output_shape=(2, 4, 3), expected_output_dtype="float32",
            expected_num_trainable_weights=6, expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1, supports_masking=False)

    def test_dense_layer_norm(self):
        self.run_layer_test(
            VSMLDense, init_kwargs={"units": 2, "layer_norm": True, "feed_label": True},
            input_shape=(3, 2, 4 + 2), expected_output_shape=(3, 2, 2),
            expected_num_trainable_weights=10, expected_num_seed_generators=1)

    def test_conv(self):
        self.run_layer_test(
            VSMLConv2D, init_kwargs={"filters": 2, "kernel_size": 3, "strides": 2, "seed": 1},
            input_shape=(2, 3, 5, 4, 1 + 2), expected_output_shape=(2, 3, 3, 2, 2),
            expected_output_dtype="float32", expected_num_trainable_weights=6,
            expected_num_seed_generators=1)
