"""VSMLClassifier: scikit-learn's own estimator checks, and the learner's semantics
(state carried between calls, predictions that leave it unchanged and equal the learner's
own next-step outputs, standardization, errors)."""

import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import warnings

import keras
import numpy as np
import pytest
from checkout import ROOT
from learner_workdirs import write_workdir
from sklearn.datasets import load_digits, load_iris, load_wine, make_classification
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import has_fit_parameter

from vsml_tf import VSMLClassifier
from vsml_tf.apps import classifier
from vsml_tf.runs import pretrained
from vsml_tf.runs.config import base_config
from vsml_tf.runs.presets import digits_run

UNTRAINED = os.path.join(tempfile.mkdtemp(prefix="vsml_untrained_"), "run")
SHIPPED = "quickstart_digits"

# An untrained learner has not learned to learn: this check measures learning.
UNTRAINED_FAILS = {
    "check_classifiers_train": "needs training accuracy > 0.83: an untrained learner "
                               "has not learned to learn",
}


def vsml_config(**model):
    config = digits_run(base_config(), learner="vsml")
    for key, value in model.items():
        config.model[key] = value
    return config


@pytest.fixture(scope="module", autouse=True)
def untrained_workdir():
    if not os.path.exists(UNTRAINED):
        write_workdir(UNTRAINED, vsml_config())
    return UNTRAINED


def check_estimators():
    estimators = [VSMLClassifier(workdir=UNTRAINED)]
    estimators += [VSMLClassifier(learner=name) for name in (SHIPPED, pretrained.DEFAULT)
                   if name in pretrained.names()]
    return estimators


# The shipped learners do not reach the check's 0.83 training accuracy in one online pass
# over its small 3-class problem (100 examples).
SHIPPED_FAILS = {
    "check_classifiers_train": "needs training accuracy > 0.83 after one online pass of "
                               "100 examples; the shipped learners stay below it",
}


@parametrize_with_checks(check_estimators(), expected_failed_checks=lambda est:
                         UNTRAINED_FAILS if est.workdir else SHIPPED_FAILS)
def test_scikit_learn_checks(estimator, check):
    check(estimator)


def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


def flat_carry(clf):
    return keras.tree.flatten(clf._carry)


def test_partial_fit_in_two_halves_equals_fit_in_one_pass_bit_for_bit():
    X, y = digits()
    X, y = X[:60], y[:60]
    whole = VSMLClassifier(workdir=UNTRAINED, standardize="none").fit(X, y)
    halves = VSMLClassifier(workdir=UNTRAINED, standardize="none")
    halves.partial_fit(X[:23], y[:23], classes=np.unique(y)).partial_fit(X[23:], y[23:])
    for a, b in zip(flat_carry(whole), flat_carry(halves)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.predict_proba(X), halves.predict_proba(X))
    twice = VSMLClassifier(workdir=UNTRAINED, standardize="none", passes=2).fit(X, y)
    halves.partial_fit(X, y)
    for a, b in zip(flat_carry(twice), flat_carry(halves)):
        np.testing.assert_array_equal(a, b)


def test_predict_is_the_learners_next_step_output_and_leaves_the_state_unchanged():
    X, y = digits()
    clf = VSMLClassifier(workdir=UNTRAINED).partial_fit(X[:30], y[:30], classes=range(10))
    before = [c.copy() for c in flat_carry(clf)]
    scores = clf.decision_function(X[30:46])
    for a, b in zip(before, flat_carry(clf)):
        np.testing.assert_array_equal(a, b)
    # The logits the learner emits for X[30] while learning it (label fed back only after).
    engine = classifier._engine(clf._source, True)
    xs = clf._prepare(X[30:31])[:, None]
    ys = np.eye(10, dtype=np.float32)[y[30:31]][:, None]
    _, logits = engine.learn(clf._carry, xs, ys)
    np.testing.assert_allclose(scores[0], logits[0, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(clf.predict(X[30:46]), np.argmax(scores, 1))


def test_global_standardization_is_one_mean_and_std_over_all_features():
    X, y = digits()
    X, y = X[:40], y[:40]
    auto = VSMLClassifier(workdir=UNTRAINED).fit(X, y)  # quickstart: dataset_standard
    manual = VSMLClassifier(workdir=UNTRAINED, standardize="none").fit(
        (X - X.mean()) / X.std(), y)
    np.testing.assert_array_equal(auto.decision_function(X),
                                  manual.decision_function((X - X.mean()) / X.std()))


def test_in_episode_batches_wait_for_a_full_step(tmp_path):
    config = vsml_config()
    config.data.batch_size = 2
    write_workdir(str(tmp_path), config)
    X, y = digits()
    X, y = X[:9], y[:9]
    whole = VSMLClassifier(workdir=str(tmp_path), standardize="none").fit(X, y)
    parts = VSMLClassifier(workdir=str(tmp_path), standardize="none")
    parts.partial_fit(X[:3], y[:3], classes=np.unique(y)).partial_fit(X[3:], y[3:])
    for a, b in zip(flat_carry(whole), flat_carry(parts)):
        np.testing.assert_array_equal(a, b)
    assert len(whole._pending[0]) == 1  # the 9th example waits for a partner


@pytest.mark.slow
def test_conv_learner_takes_images(tmp_path):
    write_workdir(str(tmp_path), vsml_config(layers="conv4s2,dense"))
    X, y = digits()
    images = X[:20].reshape(-1, 8, 8, 1)
    clf = VSMLClassifier(workdir=str(tmp_path)).fit(images, y[:20])
    assert clf.predict_proba(images[:5]).shape == (5, len(np.unique(y[:20])))
    assert clf.n_features_in_ == 64
    with pytest.raises(ValueError, match="conv layers: pass X as images"):
        VSMLClassifier(workdir=str(tmp_path)).fit(X[:20], y[:20])


def test_baseline_learner_pads_features_and_limits_classes(tmp_path):
    config = digits_run(base_config(), learner="hebbian")
    write_workdir(str(tmp_path), config)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 20)), rng.integers(0, 3, 30)
    clf = VSMLClassifier(workdir=str(tmp_path)).fit(X, y)
    assert clf.predict_proba(X).shape == (30, 3)
    with pytest.raises(ValueError, match="11 classes, but this hebbian learner has 10"):
        VSMLClassifier(workdir=str(tmp_path)).fit(X[:11], np.arange(11))
    with pytest.raises(ValueError, match="at most 64 features"):
        VSMLClassifier(workdir=str(tmp_path)).fit(rng.normal(size=(5, 65)), y[:5])


def test_errors_name_the_problem(tmp_path):
    X, y = digits()
    small = y < 3
    clf = VSMLClassifier(workdir=UNTRAINED).partial_fit(X[small][:10], y[small][:10],
                                                        classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[3, 4"):
        clf.partial_fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="X has 63 features"):
        clf.predict(X[:3, :63])
    bad = X[:10].copy()
    bad[2, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.partial_fit(bad, y[:10] % 3)
    bad[2, 5] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        VSMLClassifier(workdir=UNTRAINED).fit(bad, y[:10])
    with pytest.raises(ValueError, match="images"):
        VSMLClassifier(workdir=UNTRAINED).fit(X[:10].reshape(10, 8, 8), y[:10])
    with pytest.raises(FileNotFoundError, match="no config.json"):
        VSMLClassifier(workdir=str(tmp_path)).fit(X[:10], y[:10])
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        VSMLClassifier(workdir=str(tmp_path)).fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="No shipped learner 'nope'"):
        VSMLClassifier(learner="nope").fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="standardize='zscore'"):
        VSMLClassifier(workdir=UNTRAINED, standardize="zscore").fit(X[:10], y[:10])


def test_pickled_classifier_continues_learning_identically():
    X, y = digits()
    clf = VSMLClassifier(workdir=UNTRAINED).partial_fit(X[:20], y[:20], classes=range(10))
    copy = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X[20:30], y[20:30])
    copy.partial_fit(X[20:30], y[20:30])
    np.testing.assert_array_equal(clf.predict_proba(X[30:40]), copy.predict_proba(X[30:40]))


@pytest.mark.slow
@pytest.mark.skipif(SHIPPED not in pretrained.names(), reason=f"{SHIPPED} is not shipped")
def test_shipped_learner_learns_digits_online():
    X, y = digits()
    X, y = X[-400:], y[-400:]
    clf = VSMLClassifier(learner=SHIPPED).fit(X[:300], y[:300])  # stats from these
    # Prequential: each of the next 100 is predicted before it is learned.
    correct = 0
    for i in range(300, 400):
        correct += clf.predict(X[i:i + 1])[0] == y[i]
        clf.partial_fit(X[i:i + 1], y[i:i + 1])
    assert correct / 100 > 0.5  # chance: 0.1; meta-test over steps 300-399: ~0.8


@pytest.mark.slow
@pytest.mark.skipif(SHIPPED not in pretrained.names(), reason=f"{SHIPPED} is not shipped")
def test_auto_standardizes_tabular_features_separately_and_pixels_globally():
    X, y = load_wine(return_X_y=True)  # features from ~0.1 (hue) to ~1,000 (proline)
    auto = VSMLClassifier(learner=SHIPPED).fit(X, y)
    feature = VSMLClassifier(learner=SHIPPED, standardize="feature").fit(X, y)
    assert auto.standardize_ == "feature"
    np.testing.assert_array_equal(auto.decision_function(X), feature.decision_function(X))
    X, y = load_iris(return_X_y=True)  # centimetres, but each feature its own range
    assert VSMLClassifier(learner=SHIPPED).fit(X, y).standardize_ == "feature"
    X, y = make_classification(n_samples=200, n_features=20, random_state=0)  # one scale
    assert VSMLClassifier(learner=SHIPPED).fit(X, y).standardize_ == "global"
    X, y = digits()  # pixels: every feature in one range, as in meta-training
    auto = VSMLClassifier(learner=SHIPPED).fit(X, y)
    glob = VSMLClassifier(learner=SHIPPED, standardize="global").fit(X, y)
    assert auto.standardize_ == "global"
    np.testing.assert_array_equal(auto.decision_function(X), glob.decision_function(X))
    images = VSMLClassifier(learner=SHIPPED).fit(load_wine().data.reshape(-1, 13, 1, 1),
                                                 load_wine().target)
    assert images.standardize_ == "global"  # images are pixels whatever their values
    # Streamed one by one: as meta-trained until 20 examples tell, then by their ranges.
    wine = load_wine(return_X_y=True)
    for (X, y), expected in ((digits(), ["global"] * 40),
                             (wine, ["global"] * 19 + ["feature"] * 21)):
        order = np.random.default_rng(0).permutation(len(y))[:40]
        clf, modes = VSMLClassifier(learner=SHIPPED), []
        for i in order:
            clf.partial_fit(X[i:i + 1], y[i:i + 1], classes=np.unique(y))
            modes.append(clf.standardize_)
        assert modes == expected


def test_one_class_is_refused_with_the_fix_and_no_framework_warning(caplog):
    X, _ = digits()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        for fit in (lambda c: c.fit(X[:10], np.ones(10)),
                    lambda c: c.partial_fit(X[:10], np.ones(10)),
                    lambda c: c.partial_fit(X[:10], np.ones(10), classes=[1])):
            with pytest.raises(ValueError, match="only one class .* at least two"):
                fit(VSMLClassifier(workdir=UNTRAINED))
        # One class in a call is fine once classes= names more.
        clf = VSMLClassifier(workdir=UNTRAINED).partial_fit(X[:10], np.ones(10),
                                                            classes=[0, 1])
        assert clf.predict_proba(X[:3]).shape == (3, 2)
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records] == []


def test_sample_weight_is_refused_the_scikit_learn_way_with_the_fix():
    X, y = digits()
    clf = VSMLClassifier(workdir=UNTRAINED)
    assert not has_fit_parameter(clf, "sample_weight")
    for fit in (clf.fit, clf.partial_fit):
        with pytest.raises(TypeError, match=r"sample_weight .* np\.repeat"):
            fit(X[:10], y[:10], sample_weight=np.ones(10))
    with pytest.raises(TypeError, match="weights"):
        clf.fit(X[:10], y[:10], weights=np.ones(10))


UNPICKLE = """
import pickle, sys
import numpy as np
clf, X, y = pickle.load(open(sys.argv[1], "rb"))
before = clf.predict_proba(X)
clf.partial_fit(X, y)
np.save(sys.argv[2], np.stack([before, clf.predict_proba(X)]))
"""


@pytest.mark.slow
def test_pickle_carries_the_learner_and_its_state_not_the_workdir(tmp_path):
    moved = str(tmp_path / "run")
    shutil.copytree(UNTRAINED, moved)
    X, y = digits()
    clf = VSMLClassifier(workdir=moved).partial_fit(X[:20], y[:20], classes=range(10))
    blob = pickle.dumps((clf, X[20:40], y[20:40]))
    engines = len(classifier._ENGINES)
    copy = pickle.loads(blob)[0]  # in this process: the same compiled learner
    np.testing.assert_array_equal(copy.predict_proba(X[20:40]), clf.predict_proba(X[20:40]))
    assert len(classifier._ENGINES) == engines
    expected = [clf.predict_proba(X[20:40])]
    clf.partial_fit(X[20:40], y[20:40])
    expected.append(clf.predict_proba(X[20:40]))
    shutil.rmtree(moved)
    (tmp_path / "clf.pkl").write_bytes(blob)
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, "-c", UNPICKLE, str(tmp_path / "clf.pkl"),
                    str(tmp_path / "out.npy")], check=True, env=env, cwd=str(tmp_path))
    got = np.load(tmp_path / "out.npy")
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(SHIPPED not in pretrained.names(), reason=f"{SHIPPED} is not shipped")
def test_partial_fit_keeps_its_prequential_predictions():
    X, y = digits()
    X, y = (X[:60] - X.mean()) / X.std(), y[:60]
    clf = VSMLClassifier(learner=SHIPPED, standardize="none")
    clf.partial_fit(X[:25], y[:25], classes=range(10)).partial_fit(X[25:], y[25:])
    one_by_one = VSMLClassifier(learner=SHIPPED, standardize="none")
    expected = []
    for i in range(len(X)):
        if i:
            expected.append(one_by_one.predict(X[i:i + 1])[0])
        one_by_one.partial_fit(X[i:i + 1], y[i:i + 1], classes=range(10))
        if not i:
            expected.append(one_by_one.prequential_predictions_[0])
    np.testing.assert_array_equal(clf.prequential_predictions_, expected[25:])
    assert np.mean(clf.prequential_predictions_ == y[25:]) > 0.3  # chance: 0.1
    fitted = VSMLClassifier(learner=SHIPPED, standardize="none", passes=2).fit(X, y)
    np.testing.assert_array_equal(fitted.prequential_predictions_, expected)  # first pass


def test_prequential_predictions_of_examples_that_wait_for_a_step(tmp_path):
    config = vsml_config()
    config.data.batch_size = 2
    write_workdir(str(tmp_path), config)
    X, y = digits()
    clf = VSMLClassifier(workdir=str(tmp_path), standardize="none")
    clf.partial_fit(X[:3], y[:3], classes=range(10))
    assert clf.prequential_predictions_.shape == (3,)
    # The third waits for a partner: it is predicted from the state it will be learned in.
    assert clf.prequential_predictions_[2] == clf.predict(X[2:3])[0]


@pytest.mark.slow
def test_many_data_shapes_log_no_retracing_warning(caplog):
    rng = np.random.default_rng(0)
    with caplog.at_level(logging.WARNING):
        for features in range(2, 10):
            X = rng.normal(size=(8, features))
            VSMLClassifier(workdir=UNTRAINED).fit(X, np.arange(8) % 2).predict(X)
    assert [r.getMessage() for r in caplog.records if "retracing" in r.getMessage()] == []


def test_warns_once_when_the_stream_runs_past_the_learners_horizon():
    """quickstart_digits' horizon (loading.horizon) is its 400-step meta-test: a stream of
    that many examples is silent, one more warns once, and a new fit starts over; the
    warning survives pickling."""
    from vsml_tf.runs import loading

    horizon = loading.horizon(SHIPPED)
    X, y = load_digits(return_X_y=True)
    clf = VSMLClassifier(learner=SHIPPED)
    with warnings.catch_warnings():
        warnings.simplefilter("error", classifier.HorizonWarning)
        clf.fit(X[:horizon], y[:horizon])
    with pytest.warns(classifier.HorizonWarning, match=f"past the {horizon}") as caught:
        clf.partial_fit(X[horizon:horizon + 10], y[horizon:horizon + 10])
        clf.partial_fit(X[horizon + 10:horizon + 20], y[horizon + 10:horizon + 20])
    assert len([w for w in caught if w.category is classifier.HorizonWarning]) == 1
    clone = pickle.loads(pickle.dumps(VSMLClassifier(learner=SHIPPED).fit(X[:20], y[:20])))
    with pytest.warns(classifier.HorizonWarning):
        clone.partial_fit(X[20:horizon + 21], y[20:horizon + 21])


def test_the_default_learner_is_shipped_and_was_checked_on_long_streams():
    """The default learner was checked on streams longer than its meta-test episodes: its
    horizon (metadata: the longest stream it held on for every dataset checked, MNIST to
    10,000 steps and digits, seen many times, to 3,000) is past the 2,000-step meta-test,
    so a stream of the README's size never runs past it, and `VSMLClassifier()` loads
    it."""
    from vsml_tf.runs import loading

    assert pretrained.DEFAULT in pretrained.names()
    assert loading.horizon(pretrained.DEFAULT) > 2_000
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", classifier.HorizonWarning)
        clf = VSMLClassifier().fit(X[:1500], y[:1500])
    assert clf.learner == pretrained.DEFAULT
    assert clf.score(X[1500:], y[1500:]) > 0.8
