"""VSML layer and episode math against the naive NumPy reference."""

import numpy as np
import numpy_reference as ref
import pytest
from keras import ops, tree

from vsml_tf.learners.layers import VSMLConv2D, VSMLDense, conv_window_indices
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.learners.network import VSMLNetwork, parse_layers

ATOL = RTOL = 1e-5
S, M = 16, 8


def random_params(network, members, rng, scale=0.5):
    """Distinct random meta-parameters per member: {group: {name: [members, ...]}}."""
    layout = ParamLayout(network)
    theta = rng.normal(size=(members, layout.size)).astype(np.float32) * scale
    return layout.unflatten(ops.convert_to_tensor(theta)), theta, layout


def numpy_params(params, member):
    return {g: {k: np.asarray(v[member], np.float64) for k, v in d.items()}
            for g, d in params.items()}


def random_state(rng, shape):
    return (rng.normal(size=shape) * 0.5, rng.normal(size=shape) * 0.5)


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


EPISODE_CASES = {
    "dense": dict(layers="dense", input_shape=(6,)),
    "dense_feed_label": dict(layers="dense", input_shape=(6,), feed_label=True),
    "batch_merge": dict(layers="dense", input_shape=(6,), batch=3),
    "deep_backward_pass": dict(layers="dense4,dense", input_shape=(5,), backward_pass=True),
    "deep_separate_backward": dict(layers="dense4,dense", input_shape=(5,), backward_pass=True,
                                   separate_backward_rnn=True, layerwise_rnns=True),
    "layerwise_layer_norm": dict(layers="dense3,dense", input_shape=(4,), layerwise_rnns=True,
                                 layer_norm=True, batch=2),
    "conv": dict(layers="conv2s2,dense", input_shape=(4, 5, 1), batch=2),
    "conv_backward_pass": dict(layers="conv2s2,conv2s1,dense", input_shape=(5, 4, 2),
                               backward_pass=True),
}


@pytest.mark.parametrize("case", sorted(EPISODE_CASES))
def test_episode_matches_reference(case):
    opts = dict(EPISODE_CASES[case])
    input_shape, batch = opts.pop("input_shape"), opts.pop("batch", 1)
    rng = np.random.default_rng(2)
    net = VSMLNetwork(**opts)
    members, T, C = 2, 4, 3
    params, _, _ = random_params(net, members, rng)
    xs = rng.normal(size=(T, members, batch) + input_shape)
    ys = np.eye(C)[rng.integers(0, C, size=(T, members, batch))]
    # Initial state: random h and c, identical over the batch (as at an episode start).
    shapes = net.shapes(input_shape, C)
    state = []
    for layer, (in_shape, _) in zip(net.vsml_layers, shapes):
        conn = layer.connection_shape(in_shape, C)
        state.append(random_state(rng, (members,) + conn + (S,)))
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    tf_state = [(f32(np.broadcast_to(h[:, None], (members, batch) + h.shape[1:])),
                 f32(np.broadcast_to(c[:, None], (members, batch) + c.shape[1:])))
                for h, c in state]
    logits = np.asarray(net.unroll(params, f32(xs), f32(ys), tf_state))
    assert logits.shape == (T, members, batch, C)

    spec = [("dense", l.get("units")) if l["type"] == "dense"
            else ("conv", l["kernel_size"], l["strides"], l["filters"])
            for l in parse_layers(opts["layers"])]
    for p in range(members):
        np_params = numpy_params(params, p)
        fwd_params = [np_params[r.name] for r in net.forward_rnns]
        bwd_params = [np_params[r.name] for r in net.backward_rnns]
        expected = ref.episode(
            spec, fwd_params, bwd_params, xs[:, p], ys[:, p],
            [(h[p], c[p]) for h, c in state], feed_label=opts.get("feed_label", False),
            backward_pass=opts.get("backward_pass", False),
            layer_norm=opts.get("layer_norm", False))
        np.testing.assert_allclose(logits[:, p], expected, rtol=1e-4, atol=1e-5)


def test_feedback_arrives_one_step_late():
    """The prediction at step t depends on labels < t only."""
    rng = np.random.default_rng(3)
    net = VSMLNetwork()
    params, _, _ = random_params(net, 1, rng)
    T, C = 5, 4
    xs = rng.normal(size=(T, 1, 1, 6)).astype(np.float32)
    ys = np.eye(C, dtype=np.float32)[rng.integers(0, C, size=(T, 1, 1))]
    state = net.initial_state(lambda shape: ops.ones((1,) + tuple(shape)) * 0.3, (6,), C, 1)
    base = np.asarray(net.unroll(params, xs, ys, state))
    changed = ys.copy()
    changed[2] = np.roll(changed[2], 1, axis=-1)
    other = np.asarray(net.unroll(params, xs, changed, state))
    np.testing.assert_array_equal(base[:3], other[:3])
    assert np.abs(base[3:] - other[3:]).max() > 1e-6


def test_initial_state_statistics():
    net = VSMLNetwork(layers="dense7,dense")
    rng = np.random.default_rng(4)
    sample = lambda shape: ops.convert_to_tensor(
        np.clip(rng.normal(size=(3,) + tuple(shape)), -2, 2).astype(np.float32))
    state = net.initial_state(sample, (400,), 10, 2)
    (h0, c0), (h1, c1) = [(np.asarray(h), np.asarray(c)) for h, c in state]
    assert h0.shape == c0.shape == (3, 2, 400, 7, S) and c1.shape == (3, 2, 7, 10, S)
    assert not h0.any() and not h1.any()
    assert not c0[..., S // 2:].any()
    np.testing.assert_array_equal(c0[:, 0], c0[:, 1])  # same for every example
    assert abs(c0[..., :S // 2].std() - np.std(np.clip(rng.normal(size=10 ** 6), -2, 2))
               / 20.0) < 2e-3  # std 1 / sqrt(400)


def test_keras_call_uses_own_weights():
    rng = np.random.default_rng(5)
    net = VSMLNetwork()
    layout = ParamLayout(net)
    theta = rng.normal(size=layout.size).astype(np.float32)
    layout.assign_to_network(theta)
    np.testing.assert_array_equal(layout.from_network(), theta)
    xs = rng.normal(size=(2, 4, 1, 6)).astype(np.float32)
    ys = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=(2, 4, 1))]
    logits = net((xs, ys))
    assert tuple(logits.shape) == (2, 4, 1, 3)
    assert layout.size == 2384  # (2M + S) * 4S + 4S + 2 * (S * M + M)


def test_layer_spec_errors():
    with pytest.raises(ValueError, match="Cannot parse layer 'dens'"):
        VSMLNetwork(layers="dens")
    with pytest.raises(ValueError, match="must end with a dense layer"):
        VSMLNetwork(layers="dense4,conv8")
    with pytest.raises(ValueError, match="number of classes"):
        VSMLNetwork(layers="dense10")


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


def test_bfloat16_episode_stays_close_to_float32():
    rng = np.random.default_rng(7)
    f32 = VSMLNetwork()
    bf16 = VSMLNetwork(compute_dtype="bfloat16")
    params, _, _ = random_params(f32, 2, rng, scale=0.3)
    T, C = 6, 4
    xs = ops.convert_to_tensor(rng.normal(size=(T, 2, 1, 8)).astype(np.float32))
    ys = ops.convert_to_tensor(np.eye(C, dtype=np.float32)[rng.integers(0, C, (T, 2, 1))])
    state = f32.initial_state(lambda shape: ops.ones((2,) + tuple(shape)) * 0.5, (8,), C, 1)
    a = np.asarray(f32.unroll(params, xs, ys, state))
    b = np.asarray(bf16.unroll(params, xs, ys, state))
    assert b.dtype == np.float32
    assert 0 < np.abs(a - b).max() < 0.05 * np.abs(a).max() + 1e-2


@pytest.mark.parametrize("layers,input_shape", [("dense3,dense", (5,)), ("conv2s2,dense", (4, 4, 1))])
def test_shared_params_equal_per_member_copies(layers, input_shape):
    """A member axis of 1 (one big matmul) computes what identical per-member copies do."""
    rng = np.random.default_rng(8)
    net = VSMLNetwork(layers=layers, backward_pass=True)
    layout = ParamLayout(net)
    theta = rng.normal(size=(1, layout.size)).astype(np.float32) * 0.5
    shared = layout.unflatten(ops.convert_to_tensor(theta))
    copies = layout.unflatten(ops.convert_to_tensor(np.repeat(theta, 3, axis=0)))
    T, C = 3, 4
    xs = ops.convert_to_tensor(rng.normal(size=(T, 3, 2) + input_shape).astype(np.float32))
    ys = ops.convert_to_tensor(np.eye(C, dtype=np.float32)[rng.integers(0, C, (T, 3, 2))])
    state = net.initial_state(
        lambda shape: ops.convert_to_tensor(rng.normal(size=(3,) + tuple(shape)).astype(
            np.float32)), input_shape, C, 2)
    np.testing.assert_allclose(np.asarray(net.unroll(shared, xs, ys, state)),
                               np.asarray(net.unroll(copies, xs, ys, state)),
                               rtol=1e-5, atol=1e-5)


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


@pytest.mark.parametrize("layers,input_shape", [("dense", (64,)), ("dense16,dense", (20,))])
def test_population_split_into_parts_computes_the_same_bits(layers, input_shape):
    """What replicas do: each runs part of the population. Every member's episode must
    be bit for bit the one-device result (ES ranks amplify any last-bit difference).

    Dense layers only: a conv layer's mean over positions stays a fused reduction
    (as a matmul it cost es_conv ~35%), equal across splits to rounding only."""
    import tensorflow as tf

    rng = np.random.default_rng(12)
    net = VSMLNetwork(layers=layers)
    params, theta, layout = random_params(net, 8, rng, scale=0.3)
    T, C = 6, 10
    xs = tf.constant(rng.normal(size=(T, 8, 1) + input_shape).astype(np.float32))
    ys = tf.constant(np.eye(C, dtype=np.float32)[rng.integers(0, C, (T, 8, 1))])
    state = net.initial_state(lambda shape: tf.constant(
        rng.normal(size=(8,) + tuple(shape)).astype(np.float32)), input_shape, C, 1)
    run = tf.function(lambda th, xs, ys, st: net.unroll(layout.unflatten(th), xs, ys, st),
                      jit_compile=True)
    whole = run(theta, xs, ys, state).numpy()
    for part in (4, 2):
        parts = [run(theta[k:k + part], xs[:, k:k + part], ys[:, k:k + part],
                     tree.map_structure(lambda s: s[k:k + part], state)).numpy()
                 for k in range(0, 8, part)]
        np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


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
