"""VSML network episodes against the naive NumPy reference, and the network's
state, dtypes, shared parameters and population splits; the network as a Keras model
(save / load, functional API, XLA, fit's gradient against the Backprop estimator's, the
JAX backend)."""

import importlib.util
import os
import subprocess
import sys

import keras
import numpy as np
import numpy_reference as ref
import pytest
import tensorflow as tf
from checkout import ROOT
from keras import ops, tree
from network_params import S, numpy_params, random_params, random_state

from vsml_tf import datasets
from vsml_tf.core import rng as vsml_rng
from vsml_tf.datasets.episodes import EpisodeSampler
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.learners.network import VSMLNetwork, parse_layers
from vsml_tf.meta.estimators import Backprop
from vsml_tf.meta.runner import EpisodeRunner

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


@pytest.mark.slow
@pytest.mark.parametrize("layers,input_shape", [("dense", (64,)), ("dense16,dense", (20,))])
def test_population_split_into_parts_computes_the_same_bits(layers, input_shape):
    """What replicas do: each runs part of the population. Every member's episode must
    be bit for bit the one-device result (ES ranks amplify any last-bit difference).

    Dense layers only: a conv layer's mean over positions stays a fused reduction
    (as a matmul it cost es_conv ~35%), equal across splits to rounding only."""
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


# -- the network as a Keras model ---------------------------------------------------------

def _episodes(rng, b, T, example_shape, C):
    xs = rng.normal(size=(b, T) + example_shape).astype(np.float32)
    ys = np.eye(C, dtype=np.float32)[rng.integers(0, C, (b, T))]
    return xs, ys


def _network_with_random_theta(rng, **kwargs):
    net = VSMLNetwork(**kwargs)
    layout = ParamLayout(net)
    layout.assign_to_network(rng.normal(size=layout.size).astype(np.float32) * 0.4)
    return net


def test_keras_call_is_the_unrolled_episode():
    """net((xs [b, T, ...], ys [b, T, C])) with an initial state = `unroll` on the same
    episodes with the model's weights shared (member axis 1)."""
    rng = np.random.default_rng(30)
    net = _network_with_random_theta(rng, layers="conv2s2,dense", feed_label=True)
    xs, ys = _episodes(rng, 3, 4, (5, 4, 1), 3)
    state = net.initial_state(lambda shape: ops.convert_to_tensor(
        rng.normal(size=(3,) + tuple(shape)).astype(np.float32)), (5, 4, 1), 3, 1)
    logits = np.asarray(net((xs, ys), initial_state=state))
    unrolled = net.unroll(net.meta_params(), np.moveaxis(xs[:, :, None], 1, 0),
                          np.moveaxis(ys[:, :, None], 1, 0), state)
    np.testing.assert_array_equal(logits, np.moveaxis(np.asarray(unrolled), 0, 1)[:, :, 0])


def test_save_and_load_model_give_equal_outputs(tmp_path):
    rng = np.random.default_rng(31)
    net = _network_with_random_theta(rng, layers="conv2s2,dense3,dense", backward_pass=True,
                                     seed=5)
    config = net.get_config()
    assert VSMLNetwork.from_config(config).get_config() == config
    xs, ys = _episodes(rng, 2, 4, (4, 4, 1), 3)
    path = str(tmp_path / "net.keras")
    net((xs, ys))  # a draw moves the seed generator: the file holds where it stands
    net.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is VSMLNetwork and loaded.get_config() == config
    np.testing.assert_array_equal(np.asarray(loaded((xs, ys))), np.asarray(net((xs, ys))))
    np.testing.assert_array_equal(np.asarray(loaded((xs, ys))), np.asarray(net((xs, ys))))


def test_functional_api_summary_and_output_shape_before_a_call():
    T, A, C = 4, 6, 3
    net = VSMLNetwork(layers="dense5,dense")
    x, y = keras.Input((T, A)), keras.Input((T, C))
    model = keras.Model([x, y], net([x, y]))
    assert model.output_shape == (None, T, C)
    lines = []
    net.summary(print_fn=lambda line, **_: lines.append(line))
    text = "\n".join(lines)
    assert "unbuilt" not in text and "Total params: 2,384" in text


def test_runs_inside_tf_function_and_xla_without_arguments():
    """Compiled with XLA, the model draws its initial states from its own seed
    generator (a new one each call, the same sequence for the same seed) and computes
    what the eager model computes from the same state. (XLA's stateless RNG may pick
    another algorithm than TensorFlow's kernels: draws are compared between compiled
    copies only.)"""
    rng = np.random.default_rng(32)
    eager = _network_with_random_theta(rng, layers="conv2s2,dense", seed=7)
    copies = [VSMLNetwork(layers="conv2s2,dense", seed=7) for _ in range(2)]
    for net in copies:
        net.set_weights(eager.get_weights())
    xs, ys = _episodes(rng, 2, 4, (4, 4, 1), 3)
    runs = [tf.function(lambda xs, ys, net=net: net((xs, ys)), jit_compile=True)
            for net in copies]
    first, second = [np.asarray(runs[0](xs, ys)) for _ in range(2)]
    assert np.isfinite(first).all() and np.abs(first - second).max() > 1e-4
    np.testing.assert_array_equal(np.asarray(runs[1](xs, ys)), first)

    state = eager.draw_initial_state(xs[:, :, None], ys[:, :, None])
    with_state = tf.function(lambda xs, ys, s: copies[0]((xs, ys), initial_state=s),
                             jit_compile=True)
    np.testing.assert_allclose(np.asarray(with_state(xs, ys, state)),
                               np.asarray(eager((xs, ys), initial_state=state)),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layers,example_shape", [("dense", (64,)),
                                                  ("conv2s2,dense", (8, 8, 1))])
def test_fit_gradient_equals_the_backprop_estimator(layers, example_shape, monkeypatch):
    """compile + fit on the Backprop estimator's episodes and initial states: one SGD
    step with learning rate 1 moves theta by minus the estimator's gradient."""
    net = _network_with_random_theta(np.random.default_rng(33), layers=layers)
    layout = ParamLayout(net)
    theta = tf.constant(layout.from_network())
    sampler = EpisodeSampler(datasets.load("digits", "train"), 5,
                             flatten=not net.uses_images)
    estimator = Backprop(EpisodeRunner(net, jit_compile=False), meta_batch_size=3,
                         clip_norm=0.0)
    seed, iteration, ids = tf.constant(4), tf.constant(0, tf.int64), tf.range(3)
    _, grad_sum = estimator.evaluate(theta, seed, iteration, ids, sampler)
    expected = estimator.finalize(grad_sum, theta).numpy()

    xs, ys, state_seeds = estimator.episodes(seed, iteration, ids, sampler)
    assert tuple(xs.shape[3:]) == example_shape
    state = net.initial_state(vsml_rng.truncated_normal_sampler(state_seeds),
                              tuple(xs.shape[3:]), ys.shape[-1], xs.shape[2])
    monkeypatch.setattr(net, "draw_initial_state", lambda xs, ys: state)
    xs, ys = np.moveaxis(xs.numpy(), 0, 1), np.moveaxis(ys.numpy(), 0, 1)  # [b, T, n, ...]
    net.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0),
                loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    net.fit((xs, ys), ys, batch_size=3, epochs=1, shuffle=False, verbose=0)
    # theta - 1.0 * g rounds to theta's float32 spacing: compare to two of those.
    atol = 2 * np.spacing(np.abs(theta.numpy()).max())
    np.testing.assert_allclose(theta.numpy() - layout.from_network(), expected, rtol=1e-4,
                               atol=atol)


JAX_SCRIPT = """
import sys
import keras
import numpy as np
assert keras.backend.backend() == "jax", keras.backend.backend()
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.learners.network import VSMLNetwork

data = np.load(sys.argv[1])
net = VSMLNetwork(layers="conv2s2,dense", feed_label=True)
ParamLayout(net).assign_to_network(data["theta"])
state = [(data["h0"], data["c0"]), (data["h1"], data["c1"])]
logits = net((data["xs"], data["ys"]), initial_state=state)
net.compile(optimizer="sgd", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
loss = net.fit((data["xs"], data["ys"]), data["ys"], epochs=1, verbose=0).history["loss"]
np.savez(sys.argv[2], logits=np.asarray(logits), loss=np.asarray(loss))
"""


def test_the_same_model_runs_on_the_jax_backend(tmp_path):
    """KERAS_BACKEND=jax, in a subprocess: the same weights, episodes and initial state
    give the TensorFlow backend's logits, and fit runs."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed (optional: pip install 'vsml-tf[jax]'); the "
                    "learner's math is keras.ops and runs there")
    rng = np.random.default_rng(34)
    net = _network_with_random_theta(rng, layers="conv2s2,dense", feed_label=True)
    xs, ys = _episodes(rng, 2, 4, (4, 4, 1), 3)
    state = net.draw_initial_state(xs[:, :, None], ys[:, :, None])
    expected = np.asarray(net((xs, ys), initial_state=state))
    (h0, c0), (h1, c1) = [(np.asarray(h), np.asarray(c)) for h, c in state]
    np.savez(tmp_path / "in.npz", theta=ParamLayout(net).from_network(), xs=xs, ys=ys,
             h0=h0, c0=c0, h1=h1, c1=c1)
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-c", JAX_SCRIPT, str(tmp_path / "in.npz"),
                    str(tmp_path / "out.npz")], env=env, check=True, timeout=600)
    out = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(out["logits"], expected, rtol=1e-4, atol=1e-5)
    assert np.isfinite(out["loss"]).all()
