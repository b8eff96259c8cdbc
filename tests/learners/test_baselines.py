"""Baseline learners against naive NumPy versions of their equations (numpy_baselines.py):
shapes, whole episodes, the fast-weight rules, online SGD/Adam, feedback timing and
populations with distinct parameters per member; ES and gradient meta-training steps, and
meta-gradients that reach every meta-parameter."""

import numpy as np
import numpy_baselines as ref
import pytest
import tensorflow as tf
from baseline_configs import META_LEARNED, tiny_config
from gradient_check import assert_meta_gradient_matches_finite_differences
from keras import ops

from vsml_tf.learners.base import DataSpec
from vsml_tf.learners.baselines import blocks, fwp, hebbian
from vsml_tf.learners.baselines.fwmemory import FastWeightMemory
from vsml_tf.learners.baselines.fwp import FastWeightProgrammer
from vsml_tf.learners.baselines.hebbian import HebbianFastWeights
from vsml_tf.learners.baselines.metarnn import MetaRNN
from vsml_tf.learners.baselines.online_sgd import OnlineGradientLearner
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.runs import builder
from vsml_tf.runs import config as config_lib

RTOL, ATOL = 1e-4, 1e-5
C = 3  # classes in the synthetic episodes


def f32(x):
    return ops.convert_to_tensor(np.asarray(x, np.float32))


def small_learner(name, use_conv=False):
    """Each learner at a small size, built for 6-dim vectors or 6x5x2 images."""
    make = {
        "metarnn": lambda: MetaRNN(hidden_size=5, use_conv=use_conv, conv_channels=3),
        "fwmemory": lambda: FastWeightMemory(hidden_size=5, memory_size=3,
                                                       use_conv=use_conv, conv_channels=3),
        "hebb": lambda: HebbianFastWeights(rule="hebb", use_conv=use_conv,
                                                     conv_channels=3),
        "oja": lambda: HebbianFastWeights(rule="oja", use_conv=use_conv,
                                                    conv_channels=3),
        "fwp": lambda: FastWeightProgrammer(fast_size=4, normalize_keys=False,
                                                      use_conv=use_conv, conv_channels=3),
        "fwp_unit_keys": lambda: FastWeightProgrammer(
            fast_size=4, use_conv=use_conv, conv_channels=3),
    }[name]
    learner = make()
    learner.build_for(DataSpec((6, 5, 2) if use_conv else (6,), C))
    return learner


def random_params(learner, members, rng, scale=0.5):
    layout = ParamLayout(learner)
    theta = rng.normal(size=(members, layout.size)).astype(np.float32) * scale
    return layout.unflatten(f32(theta))


def member_params(params, p):
    return {g: {k: np.asarray(v[p], np.float64) for k, v in d.items()}
            for g, d in params.items()}


def episode(rng, members, batch, T=5, use_conv=False):
    shape = (6, 5, 2) if use_conv else (6,)
    xs = rng.normal(size=(T, members, batch) + shape)
    ys = np.eye(C)[rng.integers(0, C, size=(T, members, batch))]
    return xs, ys


def fixed_sample(rng):
    """A `sample_truncated_normal` with numbers we can hand to the NumPy reference."""
    def sample(shape):
        return f32(np.clip(rng.normal(size=(MEMBERS,) + tuple(shape)), -2, 2))
    return sample


MEMBERS = 2


def reference_episode(name, learner, params, xs, ys, state, use_conv):
    if name == "metarnn":
        return ref.metarnn_episode(params, xs, ys, learner.hidden_size, 2, use_conv)
    if name == "fwmemory":
        return ref.fwmemory_episode(params, xs, ys, learner.hidden_size, learner.memory_size,
                                    use_conv)
    if name in ("hebb", "oja"):
        return ref.hebbian_episode(params, xs, ys, name, use_conv)
    return ref.fwp_episode(params, xs, ys, state, learner.fast_size, learner.normalize_keys,
                           use_conv)


CASES = [("metarnn", False, 1), ("metarnn", True, 2), ("fwmemory", False, 2),
         ("fwmemory", True, 1), ("hebb", False, 2), ("oja", False, 2), ("oja", True, 1),
         ("fwp", False, 2), ("fwp_unit_keys", False, 2), ("fwp_unit_keys", True, 1)]


@pytest.mark.parametrize("name,use_conv,batch", CASES)
def test_episode_matches_numpy_reference(name, use_conv, batch):
    """Whole episodes of a population whose members have different parameters."""
    rng = np.random.default_rng(0)
    learner = small_learner(name, use_conv)
    scale = 0.2 if name == "fwp" else 0.5  # keep the verbatim delta rule's F moderate
    params = random_params(learner, MEMBERS, rng, scale)
    xs, ys = episode(rng, MEMBERS, batch, use_conv=use_conv)
    state = learner.initial_state(fixed_sample(rng), xs.shape[3:], C, batch)
    logits = np.asarray(learner.unroll(params, f32(xs), f32(ys), state))
    assert logits.shape == (5, MEMBERS, batch, C)
    for p in range(MEMBERS):
        fast0 = np.asarray(state["fast"][p], np.float64) if "fwp" in name else None
        expected = reference_episode(name, learner, member_params(params, p), xs[:, p],
                                     ys[:, p], fast0, use_conv)
        np.testing.assert_allclose(logits[:, p], expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ["metarnn", "fwmemory", "hebb", "oja", "fwp",
                                  "fwp_unit_keys", "sgd"])
def test_feedback_arrives_one_step_late(name):
    """Changing y_t leaves predictions <= t alone and changes later ones."""
    rng = np.random.default_rng(1)
    if name == "sgd":
        learner = OnlineGradientLearner(num_layers=2, hidden_size=4,
                                                  optimizer="adam", learning_rate=0.1)
        learner.build_for(DataSpec((6,), C))
        params = {}
    else:
        learner = small_learner(name)
        params = random_params(learner, 1, rng, 0.2 if name == "fwp" else 0.5)
    xs, ys = episode(rng, 1, 1, T=6)
    ys = ys.astype(np.float32)
    state = learner.initial_state(lambda s: ops.ones((1,) + tuple(s)) * 0.3, (6,), C, 1)
    base = np.asarray(learner.unroll(params, f32(xs), ys, state))
    changed = ys.copy()
    changed[2] = np.roll(changed[2], 1, axis=-1)
    other = np.asarray(learner.unroll(params, f32(xs), changed, state))
    np.testing.assert_array_equal(base[:3], other[:3])
    assert np.abs(base[3:] - other[3:]).max() > 1e-6


@pytest.mark.parametrize("name", ["metarnn", "fwmemory", "oja", "fwp"])
def test_population_equals_members_run_one_at_a_time(name):
    rng = np.random.default_rng(2)
    learner = small_learner(name)
    members = 3
    params = random_params(learner, members, rng, 0.2 if name == "fwp" else 0.5)
    xs, ys = episode(rng, members, 2)
    fast = f32(rng.normal(size=(members, learner.fast_size, C))) if name == "fwp" else None
    state = {"fast": fast} if name == "fwp" else {}
    together = np.asarray(learner.unroll(params, f32(xs), f32(ys), state))
    for p in range(members):
        one = {g: {k: v[p:p + 1] for k, v in d.items()} for g, d in params.items()}
        alone = learner.unroll(one, f32(xs[:, p:p + 1]), f32(ys[:, p:p + 1]),
                               {"fast": fast[p:p + 1]} if name == "fwp" else {})
        np.testing.assert_allclose(together[:, p:p + 1], alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rule", ["hebb", "oja"])
def test_hebbian_rules_match_per_element_numpy(rule):
    rng = np.random.default_rng(3)
    members, n, inputs, outputs = 2, 3, 5, 4
    fast = rng.normal(size=(members, inputs, outputs))
    rate = rng.uniform(0.05, 0.5, size=members)
    x = rng.normal(size=(members, n, inputs))
    z = ref.softmax(rng.normal(size=(members, n, outputs)))
    update = hebbian.hebb_update if rule == "hebb" else hebbian.oja_update
    got = np.asarray(update(f32(fast), f32(rate), f32(x), f32(z)))
    numpy_update = ref.hebb_update if rule == "hebb" else ref.oja_update
    for p in range(members):
        np.testing.assert_allclose(got[p], numpy_update(fast[p], rate[p], x[p], z[p]),
                                   rtol=1e-5, atol=1e-6)


def test_delta_rule_matches_numpy():
    rng = np.random.default_rng(4)
    members, n, f, outputs = 2, 3, 5, 4
    fast = rng.normal(size=(members, f, outputs))
    key, value = rng.normal(size=(members, n, f)), rng.normal(size=(members, n, outputs))
    beta = ref.sigmoid(rng.normal(size=(members, n, 1)))
    got = np.asarray(fwp.delta_rule(f32(fast), f32(key), f32(value), f32(beta)))
    for p in range(members):
        np.testing.assert_allclose(got[p], ref.delta_rule(fast[p], key[p], value[p], beta[p]),
                                   rtol=1e-5, atol=1e-5)
    # One example with beta = 1 and a unit key stores the value exactly: k F' = v.
    k = np.eye(f)[None, :1]
    stored = np.asarray(fwp.delta_rule(f32(fast[:1]), f32(k), f32(value[:1, :1]),
                                       f32(np.ones((1, 1, 1)))))
    np.testing.assert_allclose(k[0] @ stored[0], value[0, :1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("height,width,stride", [(8, 8, 2), (7, 5, 2), (6, 5, 1)])
def test_member_conv_matches_tensorflow_same_conv(height, width, stride):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, height, width, 2)).astype(np.float32)
    kernel = rng.normal(size=(2, 3, 3, 2, 4)).astype(np.float32)
    bias = rng.normal(size=(2, 4)).astype(np.float32)
    got = np.asarray(blocks.conv2d_same({"kernel": kernel, "bias": bias}, f32(x), stride))
    for p in range(2):
        expected = tf.nn.conv2d(x[p], kernel[p], stride, "SAME").numpy() + bias[p]
        np.testing.assert_allclose(got[p], expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got[p], ref.conv_same({"kernel": kernel[p], "bias": bias[p]},
                                                         x[p], stride), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("optimizer,lr,num_layers,batch",
                         [("sgd", 0.01, 1, 1), ("sgd", 0.5, 2, 2), ("adam", 1e-3, 1, 1),
                          ("adam", 0.05, 2, 2)])
def test_online_sgd_matches_numpy(optimizer, lr, num_layers, batch):
    """Per-step predictions equal a hand-written online SGD / Adam on the same sequence
    and initial weights (large rates make every update visible in the logits)."""
    rng = np.random.default_rng(6)
    learner = OnlineGradientLearner(num_layers=num_layers, hidden_size=7,
                                              optimizer=optimizer, learning_rate=lr)
    learner.build_for(DataSpec((6,), C))
    assert ParamLayout(learner).size == 0
    T = 12
    xs, ys = episode(rng, MEMBERS, batch, T=T)
    state = learner.initial_state(fixed_sample(rng), (6,), C, batch)
    logits = np.asarray(learner.unroll({}, f32(xs), f32(ys), state))
    for p in range(MEMBERS):
        weights = [(np.asarray(state[f"dense_{i}"]["kernel"][p], np.float64),
                    np.asarray(state[f"dense_{i}"]["bias"][p], np.float64))
                   for i in range(num_layers)]
        expected = ref.sgd_episode(weights, xs[:, p], ys[:, p], optimizer, lr)
        np.testing.assert_allclose(logits[:, p], expected, rtol=1e-4, atol=1e-5)
    assert np.abs(np.diff(logits, axis=0)).max() > 1e-3  # the weights really changed


def test_online_sgd_initial_weights_follow_the_paper():
    learner = OnlineGradientLearner(num_layers=2, hidden_size=160, use_conv=True)
    learner.build_for(DataSpec((8, 8, 1), 10))
    sample = lambda shape: tf.random.stateless_truncated_normal((40,) + tuple(shape), [7, 0])
    state = learner.initial_state(sample, (8, 8, 1), 10, 1)
    assert learner.dense_sizes == [8, 160, 10]  # 8x8 -> 4x4 -> 2x2 -> 1x1 x 8 channels
    dense = np.asarray(state["dense_1"]["kernel"])
    assert abs(dense.std() - 0.8796 / np.sqrt(160)) < 0.003      # std 1/sqrt(fan_in), cut at 2
    conv = np.asarray(state["conv_1"]["kernel"])                   # fan-in 3*3*8
    assert abs(conv.std() - 1 / np.sqrt(72)) < 0.005               # variance scaling
    assert not np.asarray(state["dense_0"]["bias"]).any()


def test_meta_parameter_counts():
    d, c = 64, 10  # 8x8 digits
    counts = {
        "metarnn": (d + 2 * c + 128) * 512 + 512 + 128 * c + c,
        "fwmemory": ((d + 2 * c + 32) * 128 + 128 + 32 * 49 + 49 + 32 * 32 + 32
                     + 16 * 32 + 32 + 32 * c + c),
        "hebbian": 2 * (d + 2 * c) * c + c + 1,
        "fwp": (d + 3 * c) * (2 * 64 + c + 1) + 2 * 64 + c + 1,
        "sgd": 0,
    }
    for name, expected in counts.items():
        config = config_lib.base_config()
        config.learner = name
        learner = builder.new_learner(config)
        learner.build_for(DataSpec((d,), c))
        assert ParamLayout(learner).size == expected, name
        assert not learner.uses_images
    config.learner = "metarnn"
    config.baselines.metarnn.use_conv = True
    learner = builder.new_learner(config)
    assert learner.uses_images
    learner.build_for(DataSpec((8, 8, 1), c))
    names = ParamLayout(learner).names()
    assert names[:2] == ["conv_0/kernel", "conv_0/bias"] and "lstm/kernel" in names
    assert learner.meta_params()["conv_1"]["kernel"].shape == (1, 3, 3, 64, 64)


def test_keras_call_and_shape_errors():
    learner = MetaRNN(hidden_size=4, name="metarnn")
    with pytest.raises(ValueError, match="build_for"):
        learner.meta_params()
    rng = np.random.default_rng(8)
    xs = rng.normal(size=(2, 5, 1, 6)).astype(np.float32)
    ys = np.eye(C, dtype=np.float32)[rng.integers(0, C, size=(2, 5, 1))]
    assert tuple(learner((xs, ys)).shape) == (2, 5, 1, C)  # Keras builds it on first call
    learner.build_for(DataSpec((6,), C))  # same shapes: fine
    with pytest.raises(ValueError, match=r"built for examples of shape \(6,\) with 3 classes"
                                         r".*Pad every dataset"):
        learner.build_for(DataSpec((6,), 4))
    with pytest.raises(ValueError, match="reads images"):
        HebbianFastWeights(use_conv=True).build_for(DataSpec((64,), 10))
    with pytest.raises(ValueError, match="'hebb' or 'oja'"):
        HebbianFastWeights(rule="ojaa")
    with pytest.raises(ValueError, match="'sgd' or 'adam'"):
        OnlineGradientLearner(optimizer="adamw")


@pytest.mark.slow
@pytest.mark.parametrize("learner", META_LEARNED)
@pytest.mark.parametrize("algorithm", ["es", "gradient"])
def test_meta_training_steps_run_compiled(learner, algorithm):
    trainer = builder.build_trainer(tiny_config(learner, algorithm))
    assert trainer.layout.size > 0
    before = trainer.theta.numpy()
    for _ in range(2):
        metrics = trainer.step()
    assert np.isfinite(metrics["meta_loss"]) and np.isfinite(metrics["grad_norm"])
    assert trainer.iteration.numpy() == 2
    assert not np.array_equal(before, trainer.theta.numpy())


@pytest.mark.parametrize("learner", META_LEARNED)
def test_meta_gradient_matches_finite_differences(learner):
    """Gradients reach every meta-parameter through the learner's in-episode updates."""
    trainer = builder.build_trainer(tiny_config(learner, "gradient",
                                                   training__jit_compile=False))
    trainer.theta.assign(trainer.theta.numpy() * 0.5)  # a generic, non-initial point
    assert_meta_gradient_matches_finite_differences(trainer, np.random.default_rng(0),
                                                    atol=1e-3)
