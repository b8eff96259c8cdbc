"""A meta-learned learner as a scikit-learn classifier: it learns your data with no gradient.

    from vsml_tf import VSMLClassifier
    clf = VSMLClassifier()          # pretrained.DEFAULT; learner="NAME" or workdir="DIR"
    clf.partial_fit(X[:100], y[:100], classes=range(10))  # learns online, in order
    clf.predict(X_test)

What the estimator does is what the learner does in a meta-test episode: each training
example is one step of "predict x_t, then receive the feedback e_t = softmax(y_hat_t) - y_t
at the next step" (`step` of the learner), and the learner's state -- its LSTM states,
pending feedback and messages for VSML, fast weights for the baselines -- is carried from
one `partial_fit` call to the next. Nothing is differentiated; the meta-parameters never
change. A learner meta-trained with in-episode batches of b examples learns b examples
per step; examples that do not fill a step wait for the next call.

Predicting x asks the learner what it would output for x at its next step: one step from
the current state with x as input, whose logits are read and whose new state is thrown
away. Those are exactly the logits the learner emits for x when x is the next training
example (before its label is fed back), so `predict` is the learner's own prequential
prediction, and it never changes the state. A test example is predicted from each of the
b per-example state copies and the logits averaged. Many examples run as one batched,
compiled step (the state broadcast over the member axis); a whole `partial_fit` call is
one TensorFlow loop over its examples around one XLA-compiled step, so that any number of
examples reuses one compiled program per data shape.

Each `partial_fit` call keeps `prequential_predictions_`, the class the learner predicted
for each of its examples before that example's label was fed back (an example that waits
for a full step: predicted from the state it will be learned in); their accuracy is the
online accuracy on the stream, with no second pass. `fit` keeps those of its first pass.

A learned learner is known to keep learning only as far as it was meta-trained or checked
(`runs.loading.horizon`); past that many steps of one stream (a `fit`, or `partial_fit`
calls since it) the estimator warns once with a `HorizonWarning`.

Standardization (`standardize`): 'global' is one mean and std for all features, as the
paper's learners saw their pixels (`data.normalize='dataset_standard'`); 'feature'
z-scores each feature (StandardScaler); 'example' each example (per-image 'standard');
'none' nothing ('identity'). 'auto' does what the learner's meta-training did, except on
tabular data: flat features whose means and scales differ (units of their own) are
standardized one by one, since one std for all would leave most of them nearly constant
(wine's proline, in the 1,000s, sets it for hue, about 1). The rule (SCALE_DISTANCE) keeps
'global' for pixels, flat or not, and for features already on one scale. `standardize_`
says which is in use. Statistics come from `fit`'s data, or are updated online by every
`partial_fit` call before its examples are used; predictions use the current ones, and
'auto' is decided anew from them (the learner's own until 20 examples are seen).

Measured with `quickstart_digits` (`python experiments/classifier_standardize.py`: means
over 5 seeded shuffles; accuracy over one online pass, each example predicted before it
is learned / `fit` then `score` on 30% held out):

| data | 'global' | 'feature' | 'auto' |
| --- | --- | --- | --- |
| load_wine | 0.34 / 0.38 | 0.86 / 0.92 | 'feature' |
| load_iris | 0.63 / 0.61 | 0.71 / 0.74 | 'feature' |
| load_breast_cancer | 0.51 / 0.62 | 0.92 / 0.93 | 'feature' |
| make_classification (20 features, 3 classes) | 0.50 / 0.50 | 0.53 / 0.54 | 'global' |
| make_classification (30 features, 5 classes) | 0.52 / 0.53 | 0.49 / 0.48 | 'global' |
| load_digits | 0.76 / 0.78 | 0.81 / 0.81 | 'global' |

Where the features share one scale 'auto' keeps what the learner was meta-trained with,
and what it did before the rule: either can be ahead there.

Inputs: [n, features] with any number of features for VSML's dense layers, or images
[n, H, W, C] (required by learners with conv layers; flattened for dense ones). A
baseline learner's weights fix its input size and class count: fewer features are
zero-padded, fewer classes use the first outputs.

Refused, as scikit-learn does: one class (a ValueError; name every class in the first
`partial_fit`'s `classes=`), and `sample_weight` (a TypeError; the learner has no
weights: repeat examples for integer weights), which `has_fit_parameter` reports absent.

A fitted estimator pickles its learner's config and meta-parameters (a few kB) with its
state, not the workdir or shipped learner they came from: it unpickles in another process
after the workdir is gone and continues where it stopped (a refit reads `learner` or
`workdir` again). Unpickled copies share one compiled learner per process; it is built at
the first call that needs it.

scikit-learn's estimator checks run in tests/apps/test_classifier.py on the default
learner, on `quickstart_digits` and on an untrained one. All pass except
`check_classifiers_train`, expected to fail for all three: it needs a training accuracy
above 0.83 after one online pass over its small 3-class problem (100 examples), which
an untrained learner (it has not learned to learn) and the meta-trained ones do not
reach.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import warnings

import numpy as np
import tensorflow as tf
from keras import tree
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from vsml_tf.core import rng
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.runs import builder, loading, per_worker, pretrained
from vsml_tf.runs import workdir as workdir_lib

STANDARDIZE = ("auto", "global", "feature", "example", "none")
_FROM_NORMALIZE = {"dataset_standard": "global", "standard": "example", "identity": "none"}
# 'auto' standardizes flat features one by one ('feature') where one mean and std for
# all of them ('global', what the learner's pixels had) would leave the typical feature far
# from standardized: its distance |mean_j - mean| / std + |ln(std_j / std)| (median over
# the features that vary) above ln 4, as far as a std 4x too small or too large. Measured
# (any 20 or more examples): load_digits <= 1.10 (0.92 on all), Fashion-MNIST <= 0.93,
# make_classification <= 1.05; load_iris >= 1.58 (1.90), load_wine >= 5.5, load_breast_
# cancer >= 7.7. Until AUTO_MIN_EXAMPLES are seen, it keeps the learner's own.
SCALE_DISTANCE = math.log(4)
AUTO_MIN_EXAMPLES = 20
PREDICT_FLOATS = 1 << 23   # carry floats per compiled prediction batch (about 32 MB)

_ENGINES: dict = {}        # (source, jit_compile) -> _Engine, shared by all estimators


class _Engine:
    """One learner (config, meta-parameters) and its compiled steps."""

    def __init__(self, config, theta, jit_compile: bool, horizon: int):
        self.config = config
        self.horizon = horizon  # steps: `loading.horizon`
        self.model, samplers = builder.build_learner(config)
        self.fixed = None  # a baseline's (example shape, classes), fixed by its weights
        if self.model.DATA_DEPENDENT:
            spec = builder.data_spec(samplers[0])
            self.fixed = (spec.example_shape, spec.num_classes)
        self.layout = ParamLayout(self.model)
        theta = np.asarray(theta, np.float32).reshape(-1)
        if theta.size != self.layout.size:
            raise ValueError(f"{theta.size} meta-parameters for a learner that has "
                             f"{self.layout.size}: the checkpoint is not of this config.")
        self.theta = tf.constant(theta[None])
        # What a pickled estimator carries instead of the source, and its content's name.
        self.stored = (workdir_lib.as_json(config), theta, horizon)
        self.digest = hashlib.sha256(json.dumps(self.stored[0], sort_keys=True).encode()
                                     + theta.tobytes()).hexdigest()
        self.batch_size = int(per_worker.for_worker(config, 0).data.batch_size)
        self.uses_images = self.model.uses_images
        self.normalize = per_worker.for_worker(config, 0).data.normalize
        self.jit_compile = jit_compile
        self._fns = {}

    def _step(self, theta, carry, x, y):
        """One step of the learner: (carry, x [p, b, ...], y [p, b, C]) -> (carry, logits)."""
        return self.model.step(self.layout.unflatten(theta), carry, x, y)

    def _compiled(self, key, fn, signature=None):
        """fn as a tf.function, one per key (each key traces once)."""
        if key not in self._fns:
            # A partial, not a lambda: TensorFlow counts the traces of all functions of
            # one code object together and warns of "retracing" after five data shapes.
            self._fns[key] = tf.function(functools.partial(fn), autograph=False,
                                         jit_compile=self.jit_compile and signature is None,
                                         input_signature=signature)
        return self._fns[key]

    def initial_carry(self, input_shape: tuple, num_classes: int, seed: int):
        """The learner's fresh state for one episode, as a NumPy tree."""
        seeds = tf.constant([[seed % (2 ** 31), seed // (2 ** 31)]], tf.int32)
        b = self.batch_size
        state = self.model.initial_state(rng.truncated_normal_sampler(seeds), input_shape,
                                         num_classes, b)
        carry = self.model.initial_carry(state, tf.zeros((1, 1, b) + input_shape),
                                         tf.zeros((1, 1, b, num_classes)))
        return tree.map_structure(np.asarray, carry)

    def learn(self, carry, xs, ys):
        """carry, xs [T, b, ...] float32, one-hot ys [T, b, C] -> (carry, logits [T, b, C]):
        the T steps of the learner as one loop, whatever T (a TensorFlow while loop around
        one XLA-compiled step, so that each data shape compiles once)."""
        key = ("step", xs.shape[1:], ys.shape[1:])
        step = self._compiled(key, self._step)

        def run(theta, carry, xs, ys):
            def body(t, carry, out):
                carry, logits = step(theta, carry, xs[t][None], ys[t][None])
                return t + 1, carry, out.write(t, logits[0])

            out = tf.TensorArray(tf.float32, size=tf.shape(xs)[0],
                                 element_shape=ys.shape[1:])
            _, carry, out = tf.while_loop(lambda t, *_: t < tf.shape(xs)[0], body,
                                          (0, carry, out))
            return carry, out.stack()

        spec = lambda shape, dtype: tf.TensorSpec(shape, dtype)
        signature = (spec(self.theta.shape, tf.float32),
                     tree.map_structure(lambda c: spec(c.shape, c.dtype), carry),
                     spec((None,) + xs.shape[1:], tf.float32),
                     spec((None,) + ys.shape[1:], tf.float32))
        fn = self._compiled(("learn",) + key + (str(signature[1]),), run, signature)
        carry, logits = fn(self.theta, carry, tf.constant(xs), tf.constant(ys))
        return tree.map_structure(np.asarray, carry), logits.numpy()

    def predict(self, carry, xs, num_classes: int):
        """Logits [n, C] the learner would emit for each of xs [n, ...] at its next step."""
        def run(theta, carry, x):
            members = x.shape[0]
            tiled = tree.map_structure(
                lambda c: tf.broadcast_to(c, (members,) + tuple(c.shape[1:]))
                if c.shape.rank else c, carry)
            x = tf.broadcast_to(x[:, None], (members, self.batch_size) + tuple(x.shape[1:]))
            _, logits = self._step(theta, tiled, x,
                                   tf.zeros((members, self.batch_size, num_classes)))
            return tf.reduce_mean(logits, axis=1)

        per_member = sum(np.asarray(c).size for c in tree.flatten(carry))
        top = 2 ** int(np.clip(math.log2(max(1, PREDICT_FLOATS // max(1, per_member))), 0, 10))
        # One compiled batch size for every call: an example's logits then do not depend
        # on how many are predicted with it (XLA's reductions follow the batch shape).
        sizes = [top]
        out = []
        for start in range(0, len(xs), top):
            chunk = xs[start:start + top]
            size = next(s for s in sizes if s >= len(chunk))
            padded = np.concatenate([chunk, np.zeros((size - len(chunk),) + chunk.shape[1:],
                                                     chunk.dtype)])
            fn = self._compiled(("predict", padded.shape, num_classes), run)
            out.append(fn(self.theta, carry, tf.constant(padded)).numpy()[:len(chunk)])
        return np.concatenate(out) if out else np.zeros((0, num_classes), np.float32)


def _engine(source, jit_compile: bool, stored=None) -> _Engine:
    """The engine of `source` (a `loading.Source`, its checkpoint pinned), built once per
    process; a ("stored", digest) source (an unpickled estimator's) is built from
    `stored`, (config as JSON, meta-parameters)."""
    key = (source, bool(jit_compile))
    if key not in _ENGINES:
        if isinstance(source, loading.Source):
            config, theta = loading.load(source)
            horizon = loading.horizon(source)
        else:
            config = workdir_lib.config_from_json(stored[0], "a pickled VSMLClassifier")
            theta = stored[1]
            horizon = stored[2] if len(stored) > 2 else loading.config_horizon(config)
        engine = _ENGINES[key] = _Engine(config, theta, jit_compile, horizon)
        _ENGINES.setdefault((("stored", engine.digest), bool(jit_compile)), engine)
    return _ENGINES[key]


def _source(learner, workdir) -> loading.Source:
    """The learner to load (hashable; a workdir's with its newest checkpoint named, so
    that a later checkpoint makes a refit load the newer learner)."""
    if workdir is not None:
        return loading.pinned(os.path.abspath(os.fspath(workdir)))
    return loading.pinned(learner)


def _refuse(params: dict) -> None:
    """fit and partial_fit take no sample_weight (scikit-learn's has_fit_parameter says
    so): the learner has no notion of an example's weight."""
    if "sample_weight" in params:
        raise TypeError("sample_weight is not supported: the learner learns each example "
                        "once, in order, as in its meta-training, and has no weights. For "
                        "integer weights repeat the examples (np.repeat(X, w, axis=0), "
                        "np.repeat(y, w)); leave out those of weight 0.")
    if params:
        raise TypeError(f"Unexpected arguments {sorted(params)}: fit takes (X, y) and "
                        f"partial_fit (X, y, classes=None).")


class HorizonWarning(UserWarning):
    """A stream ran past the longest one the learner was meta-trained or checked on."""


class VSMLClassifier(ClassifierMixin, BaseEstimator):
    """A meta-learned learning algorithm as a scikit-learn classifier (see module doc).

    learner: name of a shipped learner (`python -m vsml_tf.apps.pretrained` lists them;
        any source `vsml_tf.load_learner` takes, resolved by `runs.loading`); default
        `runs.pretrained.DEFAULT`, the one checked on 10,000-step streams.
    workdir: a `vsml-train` run; its latest checkpoint is used (takes precedence).
    standardize: 'auto' (as the learner was meta-trained for pixels, per feature for
        tabular features), 'global', 'feature', 'example' or 'none'.
    passes: passes of `fit` over its data (one step per example, in order).
    random_state: seed of the learner's initial state (int, RandomState or None).
    jit_compile: compile the steps with XLA (faster; False: TensorFlow graphs).

    Attributes: classes_; standardize_, the standardization in use ('auto' resolved);
    prequential_predictions_, the class the learner predicted for each example of the
    last partial_fit call (fit: of its first pass) before that example's label was fed.
    """

    def __init__(self, learner=pretrained.DEFAULT, workdir=None, standardize="auto",
                 passes=1, random_state=0, jit_compile=True):
        self.learner = learner
        self.workdir = workdir
        self.standardize = standardize
        self.passes = passes
        self.random_state = random_state
        self.jit_compile = jit_compile

    # -- scikit-learn plumbing ------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags

    def __getstate__(self):
        """A fitted estimator pickles its learner's config and meta-parameters (a few kB),
        not where they were read from: it unpickles where that workdir does not exist."""
        state = dict(super().__getstate__())
        if "_source" in state and "_stored" not in state:
            engine = self._get_engine()
            state["_source"], state["_stored"] = ("stored", engine.digest), engine.stored
        return state

    def _get_engine(self) -> _Engine:
        return _engine(self._source, self.jit_compile, getattr(self, "_stored", None))

    def _check_params(self):
        if self.standardize not in STANDARDIZE:
            raise ValueError(f"standardize={self.standardize!r}: use one of {STANDARDIZE}.")
        if not isinstance(self.passes, (int, np.integer)) or self.passes < 1:
            raise ValueError(f"passes={self.passes!r}: use a positive integer.")

    def _validate_X(self, X, y=None, reset=False):
        """Float32 [n, features] (images flattened) and y, with scikit-learn's checks."""
        image_shape = None
        if getattr(X, "ndim", 2) not in (2,) and not hasattr(X, "toarray"):
            X = np.asarray(X)
            if X.ndim == 4:
                image_shape = tuple(X.shape[1:])
                X = X.reshape(len(X), -1)
            elif X.ndim != 1:
                raise ValueError(f"X has shape {X.shape}: pass [n_samples, n_features] or "
                                 f"images [n_samples, height, width, channels].")
        kwargs = dict(dtype=[np.float64, np.float32], ensure_all_finite=True, reset=reset)
        if y is None:
            X = validate_data(self, X, **kwargs)
        else:
            X, y = validate_data(self, X, y, **kwargs)
        if reset:
            self._image_shape = image_shape
        elif image_shape != self._image_shape:
            raise ValueError(f"X has images of shape {image_shape}, but this classifier was "
                             f"fitted on {self._image_shape or 'flat features'}.")
        return X, y

    # -- fitting ----------------------------------------------------------------------------

    def _start(self, X, classes):
        """A fresh learner state for data like X with `classes`."""
        self._check_params()
        classes = np.unique(np.asarray(classes))
        if classes.size == 0:
            raise ValueError("classes is empty: pass at least one class label.")
        if classes.size == 1:
            raise ValueError(f"Got only one class ({classes[0]!r}): a classifier needs at "
                             f"least two. Fit on examples of two or more classes (or, with "
                             f"partial_fit, list them all in classes= on the first call).")
        self._source = _source(self.learner, self.workdir)
        self.__dict__.pop("_stored", None)  # an unpickled estimator's, refitted
        engine = self._get_engine()
        if engine.uses_images and self._image_shape is None:
            raise ValueError("This learner has conv layers: pass X as images "
                             "[n_samples, height, width, channels].")
        input_shape = self._image_shape if engine.uses_images else (X.shape[1],)
        num_outputs = len(classes)
        if engine.fixed is not None:
            shape, num_outputs = engine.fixed
            if len(classes) > num_outputs:
                raise ValueError(f"{len(classes)} classes, but this {engine.config.learner} "
                                 f"learner has {num_outputs} outputs fixed by its weights: "
                                 f"use at most {num_outputs} classes (or a VSML learner).")
            size = int(np.prod(shape))
            if (engine.uses_images and input_shape != shape) or X.shape[1] > size:
                raise ValueError(f"Examples of shape {input_shape}, but this "
                                 f"{engine.config.learner} learner's weights fix them to "
                                 f"{shape}: use at most {size} features.")
            input_shape = shape
        self.classes_ = classes
        self._input_shape = tuple(input_shape)
        self._num_outputs = int(num_outputs)
        rs = self.random_state
        seed = int(rs) if isinstance(rs, (int, np.integer)) else \
            int(check_random_state(rs).randint(2 ** 31))
        self._carry = engine.initial_carry(self._input_shape, self._num_outputs, seed)
        self._steps, self._warned = 0, False
        self._stats = None
        self._pending = (np.zeros((0,) + self._input_shape, np.float32),
                         np.zeros((0,), np.int64))

    def _mode(self) -> str:
        """`standardize` resolved: 'auto' is the learner's meta-training normalization,
        except that a standardizing one takes flat features whose means and scales differ
        (tabular data in its own units; see SCALE_DISTANCE) one by one."""
        if self.standardize != "auto":
            return self.standardize
        mode = _FROM_NORMALIZE[self._get_engine().normalize]
        if mode in ("global", "example") and self._image_shape is None and \
                self._stats[0] >= AUTO_MIN_EXAMPLES:
            mean, std = self._moments("global")
            means, stds = self._moments("feature")
            varies = stds > 1e-12
            if std > 1e-12 and varies.any():
                distance = (np.abs(means[varies] - mean) / std
                            + np.abs(np.log(stds[varies] / std)))
                if np.median(distance) > SCALE_DISTANCE:
                    return "feature"
        return mode

    def _moments(self, mode: str):
        """(mean, std) of the data seen so far: over all features ('global'), or of each."""
        count, total, squares = self._stats
        if mode == "global":
            count, total, squares = count * total.size, total.sum(), squares.sum()
        mean = total / count
        return mean, np.sqrt(np.maximum(squares / count - mean ** 2, 0.0))

    def _update_stats(self, X):
        """Per-feature count, sums and squares, then standardize_."""
        X = X.astype(np.float64)
        add = (len(X), X.sum(axis=0), np.square(X).sum(axis=0))
        if self._stats is not None:
            add = tuple(a + b for a, b in zip(self._stats, add))
        self._stats = add
        self.standardize_ = self._mode()

    def _prepare(self, X):
        """Standardized float32 examples shaped for the learner."""
        mode = self.standardize_
        X = X.astype(np.float64)
        if mode in ("global", "feature"):
            mean, std = self._moments(mode)
            X = (X - mean) / np.where(std > 1e-12, std, 1.0)
        elif mode == "example":  # as tf.image.per_image_standardization
            std = np.maximum(X.std(axis=1, keepdims=True), 1.0 / math.sqrt(X.shape[1]))
            X = (X - X.mean(axis=1, keepdims=True)) / std
        size = int(np.prod(self._input_shape))
        if X.shape[1] < size:  # a baseline built for more features
            X = np.pad(X, [(0, 0), (0, size - X.shape[1])])
        return X.astype(np.float32).reshape((len(X),) + self._input_shape)

    def _encode(self, y):
        y = np.asarray(y)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y has labels {unseen.tolist()} that are not in classes_ "
                             f"{self.classes_.tolist()}: pass every label in classes= on "
                             f"the first partial_fit call (or refit).")
        return np.searchsorted(self.classes_, y)

    def _learn(self, X, labels):
        """Feed prepared examples X with label indices through the learner, in order;
        returns the class it predicted for each before learning it. Examples that wait
        for a full step are predicted from the state they will be learned in."""
        engine = self._get_engine()
        waiting = len(self._pending[0])
        X = np.concatenate([self._pending[0], X])
        labels = np.concatenate([self._pending[1], labels])
        b = engine.batch_size
        steps = len(X) // b
        used = steps * b
        self._pending = (X[used:], labels[used:])
        logits = [np.zeros((0, self._num_outputs), np.float32)]
        if steps:
            self._steps += steps
            self._warn_past_horizon(engine)
            xs = X[:used].reshape((steps, b) + self._input_shape)
            ys = np.eye(self._num_outputs, dtype=np.float32)[labels[:used]]
            self._carry, step_logits = engine.learn(self._carry, xs, ys.reshape(steps, b, -1))
            logits.append(step_logits.reshape(used, -1))
        if used < len(X):
            logits.append(engine.predict(self._carry, X[used:], self._num_outputs))
        logits = np.concatenate(logits)[waiting:, :len(self.classes_)]
        return self.classes_[np.argmax(logits, axis=1)]

    def _warn_past_horizon(self, engine: _Engine) -> None:
        """Once per stream (fit or the partial_fit calls since it), past the learner's
        horizon: there a learned learner may stop learning or collapse, silently."""
        if self._steps > engine.horizon and not self._warned:
            self._warned = True
            warnings.warn(HorizonWarning(
                f"This stream is now {self._steps * engine.batch_size} examples long, "
                f"past the {engine.horizon * engine.batch_size} the learner was "
                f"meta-trained or checked on: it may stop learning or lose accuracy from "
                f"here. Check it on held-out data (score), or use a learner checked on "
                f"longer streams (vsml-pretrained lists each one's horizon)."), stacklevel=4)

    def fit(self, X, y, **params):
        """Fresh state, standardization from X, then `passes` passes over (X, y) in order.
        No sample_weight: see `_refuse`."""
        _refuse(params)
        X, y = self._validate_X(X, y, reset=True)
        check_classification_targets(y)
        self._start(X, np.unique(y))
        self._update_stats(X)
        X, labels = self._prepare(X), self._encode(y)
        self.prequential_predictions_ = self._learn(X, labels)
        for _ in range(self.passes - 1):
            self._learn(X, labels)
        return self

    def partial_fit(self, X, y, classes=None, **params):
        """Learn (X, y) online, in order, continuing from the current state. The first call
        fixes classes_ (`classes`, else the labels of y)."""
        _refuse(params)
        first = not hasattr(self, "classes_")
        X, y = self._validate_X(X, y, reset=first)
        check_classification_targets(y)
        if first:
            self._start(X, np.unique(y) if classes is None else classes)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={np.unique(classes).tolist()} differs from the first "
                             f"call's {self.classes_.tolist()}: fit anew to change them.")
        labels = self._encode(y)
        self._update_stats(X)
        self.prequential_predictions_ = self._learn(self._prepare(X), labels)
        return self

    # -- prediction ---------------------------------------------------------------------

    def _logits(self, X):
        check_is_fitted(self)
        X, _ = self._validate_X(X)
        logits = self._get_engine().predict(self._carry, self._prepare(X), self._num_outputs)
        return logits[:, :len(self.classes_)].astype(np.float64)

    def decision_function(self, X):
        """The learner's logits [n, classes] (binary: logit of classes_[1] minus classes_[0])."""
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if len(self.classes_) == 2 else logits

    def predict_proba(self, X):
        logits = self._logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]
