"""vsml_tf.load_learner (apps/learner.py): every number it gives is the one the commands'
own code gives on the same inputs -- `vsml-evaluate --pretrained`'s meta-test, an
EpisodeRunner's episode, VSMLClassifier's predictions -- for a shipped learner and a
workdir; and its errors name what to pass instead."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from learner_workdirs import write_workdir
from sklearn.datasets import load_digits

import vsml_tf
from vsml_tf import VSMLClassifier, load_learner
from vsml_tf.apps import evaluate
from vsml_tf.apps.learner import _array_dataset
from vsml_tf.core import rng
from vsml_tf.core.errors import UserError
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.meta.runner import meta_test_seeds
from vsml_tf.runs import builder, loading
from vsml_tf.runs.config import base_config
from vsml_tf.runs.presets import digits_run

SHIPPED = "quickstart_digits"
pytestmark = pytest.mark.skipif(SHIPPED not in loading.names(),
                                reason=f"{SHIPPED} is not shipped")


@pytest.fixture(scope="module")
def learner():
    return load_learner(SHIPPED)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


def test_public_names():
    assert {"load_learner", "Learner", "Curves", "VSMLClassifier",
            "__version__"} <= set(vsml_tf.__all__)
    assert vsml_tf.Learner is type(load_learner(SHIPPED))


def test_meta_test_is_vsml_evaluate_pretrained(learner, tmp_path):
    """The same episodes (seed, count, length, chunk) give the same curves, bit for bit,
    as `vsml-evaluate --pretrained` (evaluate_shipped) on the same settings."""
    config = base_config()
    config.seed = 3
    config.evaluation.datasets = "digits"
    config.evaluation.num_episodes, config.evaluation.episode_length = 4, 60
    config.evaluation.chunk = 4
    (theirs,) = evaluate.evaluate_shipped(SHIPPED, config, str(tmp_path))
    mine = learner.meta_test("digits", episodes=4, steps=60, seed=3, chunk=4)
    np.testing.assert_array_equal(mine.accuracy, theirs["accuracy"])
    np.testing.assert_array_equal(mine.loss, theirs["loss"])
    assert (mine.episodes, mine.steps, mine.num_classes) == (4, 60, 10)
    assert mine.window(0, 50) == pytest.approx(theirs["accuracy"][:, :50].mean())
    assert mine.window(-10) == pytest.approx(theirs["accuracy"][:, 50:].mean())
    assert list(mine.windows) == ["0-50"]


def test_meta_test_defaults_reproduce_the_shipped_metadata(learner):
    """Default settings are the learner's own (seed, 400-step episodes): the first 8
    episodes of its metadata's table again, within the 0.02 of test_pretrained.py."""
    result = learner.meta_test("digits", episodes=8)
    table = learner.metadata["meta_test"]["digits"]
    assert result.steps == table["steps"]
    for window, stored in table["windows"].items():
        assert result.windows[window] == pytest.approx(
            np.mean(stored["per_episode"][:8]), abs=0.02), window


def compiled(fn, jit_compile: bool):
    """fn under the runner's compilation: XLA and TensorFlow's kernels draw different
    stateless random numbers on CPU (vsml_tf/datasets/episodes.py), so an episode is the
    same episode only within one of them."""
    return tf.function(fn, autograph=False, jit_compile=jit_compile)


def test_run_episode_is_the_episode_runners_episode(learner):
    """A meta-test episode's own inputs, fed in order with `preprocessed=True`, give the
    EpisodeRunner's curves of that episode, which are also the meta-test's episode 0."""
    config, network, theta = builder.load(SHIPPED)
    runner = builder.runner(config, network)
    sampler = builder.sampler(config, network, "digits", "test", 40)
    seeds = rng.member_seeds(5, 0, rng.Purpose.EVAL, tf.range(1))
    loss, acc = compiled(lambda t, s: runner.episode_metrics(sampler, t, s),
                         runner.jit_compile)(tf.constant(theta), seeds)
    xs, ys = compiled(lambda s: sampler.sample(meta_test_seeds(s)[0]),
                      runner.jit_compile)(seeds)
    labels = np.argmax(ys.numpy()[:, 0, 0], axis=-1)
    episode = learner.run_episode(xs.numpy()[:, 0, 0], labels, seed=5, classes=range(10),
                                  preprocessed=True)
    np.testing.assert_allclose(episode.loss[0], loss.numpy()[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(episode.accuracy[0], acc.numpy()[:, 0])
    np.testing.assert_array_equal(episode.accuracy[0],
                                  episode.predictions[0, :, 0] == labels)
    meta = learner.meta_test("digits", episodes=1, steps=40, seed=5)
    np.testing.assert_allclose(meta.loss[0], episode.loss[0], rtol=1e-5, atol=1e-6)


def test_run_episode_standardizes_as_the_learner_was_meta_trained(learner, digits):
    """Raw arrays are standardized as its meta-training data (dataset_standard: one mean
    and std over X); labels may be any values (their sorted order is the class index)."""
    X, y = digits[0][:60], digits[1][:60]
    raw = learner.run_episode(X, np.asarray(list("abcdefghij"))[y], seed=1)
    done = learner.run_episode((X - X.mean()) / X.std(), y, seed=1, preprocessed=True)
    np.testing.assert_allclose(raw.loss, done.loss, rtol=1e-4, atol=1e-5)
    assert raw.accuracy.shape == (1, 60) and raw.num_classes == 10


def test_meta_test_on_arrays_runs_random_orders_of_them(learner, digits):
    """Episodes of your arrays are random orders of them (a function of the seed),
    standardized over all of X: episode 0 is run_episode on that order."""
    X, y = digits[0][:200], digits[1][:200]
    result = learner.meta_test((X, y), episodes=2, steps=30, seed=5, chunk=2)
    assert result.accuracy.shape == (2, 30) and result.dataset == "arrays"
    sampler = builder.sampler(learner.config, builder.load(SHIPPED)[1], _array_dataset(X, y),
                              "test", 30)
    order = compiled(lambda s: sampler.episode_indices(meta_test_seeds(s)[0])[0],
                     learner.config.training.jit_compile)(rng.member_seeds(5, 0, rng.Purpose.EVAL, tf.range(1)))
    order = order.numpy()[:, 0, 0]
    Z = (X - X.mean()) / X.std()
    episode = learner.run_episode(Z[order], y[order], seed=5, classes=range(10),
                                  preprocessed=True)
    np.testing.assert_allclose(result.loss[0], episode.loss[0], rtol=1e-4, atol=1e-5)


def test_classifier_is_vsml_classifier(learner, digits):
    X, y = digits
    clf = learner.classifier(random_state=3)
    assert isinstance(clf, VSMLClassifier) and clf.learner == SHIPPED
    mine = clf.fit(X[:150], y[:150]).predict(X[150:300])
    theirs = VSMLClassifier(learner=SHIPPED, random_state=3).fit(
        X[:150], y[:150]).predict(X[150:300])
    np.testing.assert_array_equal(mine, theirs)
    with pytest.raises(TypeError, match="this learner's"):
        learner.classifier(workdir="x")


def test_keras_model_holds_theta(learner):
    model = learner.keras_model()
    assert isinstance(model, keras.Model)
    np.testing.assert_array_equal(ParamLayout(model).from_network(), learner.theta)
    assert model is not learner.keras_model()  # a fresh one each call


def test_a_workdir_loads_its_newest_checkpoint(tmp_path, digits):
    config = digits_run(base_config(), learner="vsml")
    size = builder.runner(config, builder.build_learner(config)[0]).layout.size
    theta = np.random.default_rng(0).normal(0, 0.1, size).astype(np.float32)
    write_workdir(str(tmp_path), config, theta)
    learner = load_learner(tmp_path)
    assert learner.kind == "workdir" and learner.name == str(tmp_path)
    np.testing.assert_array_equal(learner.theta, theta)
    assert learner.config.to_dict() == loading.read_config(str(tmp_path)).to_dict()
    assert learner.metadata["num_meta_params"] == size
    assert learner.metadata["checkpoint"].endswith("ckpt-0")
    X, y = digits
    clf = learner.classifier(random_state=0)
    assert clf.workdir == str(tmp_path)
    np.testing.assert_array_equal(
        clf.fit(X[:40], y[:40]).predict(X[40:80]),
        VSMLClassifier(workdir=str(tmp_path), random_state=0).fit(X[:40], y[:40]).predict(
            X[40:80]))


def test_errors_name_what_to_pass(tmp_path):
    with pytest.raises(UserError, match=f"No shipped learner 'nope'.*{SHIPPED}"):
        load_learner("nope")
    with pytest.raises(FileNotFoundError, match=f"No config.json in .*{SHIPPED}"):
        load_learner(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="has no checkpoint"):
        load_learner(tmp_path)
    assert not os.path.exists(tmp_path / "checkpoints")
