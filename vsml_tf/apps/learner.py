"""A learned learner from Python: load it, run it on your data, meta-test it, classify.

    import vsml_tf
    learner = vsml_tf.load_learner("quickstart_digits")  # or a vsml-train workdir
    result = learner.meta_test("digits", episodes=16)    # as vsml-evaluate, same episodes
    result.windows                                       # {'0-50': 0.58, '300-400': ...}
    episode = learner.run_episode(X, y)                  # your arrays, in their order
    clf = learner.classifier()                           # a scikit-learn estimator
    model = learner.keras_model()                        # the network, theta assigned

A learned learner is a learning algorithm, not a trained classifier: its meta-parameters
theta are fixed, and what it learns of a task lives in its activations while it sees
labelled examples one step at a time (`run_episode`). A meta-test asks how fast it
learns: the mean accuracy at each step over many episodes of a dataset it may never have
seen (`meta_test`). Every path here goes through the commands' own code
(`runs.loading`/`runs.builder.load` to load, `builder.meta_test_datasets` as
`vsml-evaluate`, `VSMLClassifier`), so the numbers are those of the commands.
"""

from __future__ import annotations

import dataclasses
import os

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from vsml_tf.apps.classifier import VSMLClassifier
from vsml_tf.core import rng
from vsml_tf.core.errors import UserError
from vsml_tf.datasets.base import ArrayDataset
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.meta.meta_test import meta_test
from vsml_tf.meta.runner import meta_test_seeds, step_losses
from vsml_tf.runs import builder, curves, loading


@dataclasses.dataclass
class Curves:
    """Per-step accuracy and loss of a learner's episodes.

    accuracy, loss: [episodes, steps]: each step's prediction is made before that
        step's label is fed back, so every value is a test on an unseen example.
    dataset: the dataset's name ('arrays' for your own).
    num_classes: the classes of the episodes (chance accuracy is 1 / num_classes).
    predictions: [episodes, steps, batch] the class predicted for each example
        (`run_episode` only; None for meta-tests).
    """

    accuracy: np.ndarray
    loss: np.ndarray
    dataset: str
    num_classes: int
    predictions: np.ndarray | None = None

    @property
    def episodes(self) -> int:
        return int(self.accuracy.shape[0])

    @property
    def steps(self) -> int:
        return int(self.accuracy.shape[1])

    @property
    def curve(self) -> np.ndarray:
        """Mean accuracy at each step [steps]: the learning curve."""
        return self.accuracy.mean(axis=0)

    def window(self, start: int, end: int | None = None) -> float:
        """Mean accuracy over steps start..end-1 of every episode (negative start: the
        last -start steps, e.g. window(-500) for the last 500)."""
        start, end, _ = slice(start, end).indices(self.steps)
        if start >= end:
            raise UserError(f"window({start}, {end}) holds no step of {self.steps}.")
        return float(self.accuracy[:, start:end].mean())

    @property
    def windows(self) -> dict[str, float]:
        """{'a-b': mean accuracy over steps a..b-1}: the windows of vsml-evaluate's summary
        and of the shipped learners' metadata (the first 50 steps, 300-400, the last 100)."""
        return {f"{a}-{b}": self.window(a, b) for a, b in curves.windows(self.steps)}

    def summary(self) -> str:
        """One line: dataset, episodes and the window means."""
        cells = "  ".join(f"[{w}] {v:.3f}" for w, v in self.windows.items())
        return f"{self.dataset} ({self.episodes} episodes of {self.steps} steps): {cells}"


Data = str | tuple  # a dataset name, or (X, y) arrays


class Learner:
    """A learned learner (a shipped one or a vsml-train run's): its config, meta-parameters
    and metadata, and the ways to use it. Made by `vsml_tf.load_learner`.

    Attributes:
        name: the shipped learner's name, or the workdir as given.
        config: the resolved config it was meta-trained with (ml_collections).
        theta: its flat meta-parameters [D] float32.
        metadata: how it was made: a shipped learner's metadata.json (command,
            iterations, wall time, seed, meta-test table); for a workdir, the learner,
            checkpoint and iteration.
    """

    def __init__(self, source: str | os.PathLike):
        self._source = loading.pinned(source)
        self.name = self._source.name
        self.config, self._network, self.theta = builder.load(self._source)
        self._runner = builder.runner(self.config, self._network)
        self._episode_fns = {}

    def __repr__(self) -> str:
        return (f"Learner({self.name!r}: {self.config.learner}, {self.theta.size} "
                f"meta-parameters)")

    @property
    def kind(self) -> str:
        """'shipped' (inside the package) or 'workdir' (a vsml-train run)."""
        return self._source.kind

    @property
    def metadata(self) -> dict:
        """How it was made (see the class's attributes), read from its files."""
        return loading.metadata(self._source)

    @property
    def batch_size(self) -> int:
        """Examples per step (the in-episode batch it was meta-trained with)."""
        return int(self.config.data.batch_size)

    # -- meta-test ------------------------------------------------------------------------

    def _config(self, episodes=None, steps=None, seed=None, chunk=None,
                data_dir=None) -> ml_collections.ConfigDict:
        """The learner's config with these meta-test settings (None: its own)."""
        config = ml_collections.ConfigDict(self.config.to_dict())
        ev = config.evaluation
        ev.num_episodes = int(episodes or ev.num_episodes)
        ev.episode_length = int(steps or ev.episode_length)
        ev.chunk = int(chunk or min(ev.chunk, ev.num_episodes))
        config.seed = int(self.config.seed if seed is None else seed)
        if data_dir is not None:
            config.data.data_dir = data_dir
        return config

    def meta_test(self, data: Data = "digits", *, episodes: int | None = None,
                  steps: int | None = None, seed: int | None = None,
                  chunk: int | None = None, data_dir: str | None = None) -> Curves:
        """Meta-test: `episodes` episodes of `steps` steps, each a fresh initial state
        learning examples drawn in a random order (episodes are a function of (seed,
        episode index) alone, as in `vsml-evaluate`).

        data: a dataset name (its test split, as `vsml-evaluate` reads it; default the
            offline digits; `data_dir` for the image sets' files) or (X, y), your examples ([n, features] or images
            [n, H, W, C]; y any labels), standardized as the learner's meta-training data
            was (data.normalize: for 'dataset_standard' one mean and std over X).
        episodes, steps, seed, chunk: default the learner's own evaluation settings and
            seed (those of its metadata's meta-test table); `chunk` episodes run per
            compiled call (it changes floating-point order only).
        """
        config = self._config(episodes, steps, seed, chunk, data_dir)
        if isinstance(data, str):
            if "," in data:
                raise UserError(f"meta_test({data!r}): one dataset per call.")
            config.evaluation.datasets = data
            (result,) = builder.meta_test_datasets(config, self._runner, self.theta)
            return Curves(result["accuracy"], result["loss"], data, result["num_classes"])
        dataset = _array_dataset(*data)
        if steps is None:  # one pass over the examples by default
            config.evaluation.episode_length = max(1, len(dataset) // self.batch_size)
        ev = config.evaluation
        episodes_of = builder.sampler(config, self._network, dataset, "test",
                                      ev.episode_length)
        run = builder.runner_for_episodes(config, self._runner, episodes_of)
        loss, acc = meta_test(run, self.theta, episodes_of, ev.num_episodes,
                              seed=config.seed, chunk=ev.chunk)
        return Curves(acc, loss, dataset.name, dataset.num_classes)

    # -- one episode on your data ---------------------------------------------------------

    def run_episode(self, X, y, *, seed: int = 0, classes=None,
                    preprocessed: bool = False) -> Curves:
        """Run one episode on your examples in their order: step t shows examples
        t*b..t*b+b-1 (b = `batch_size`; a last incomplete step is left out) and their
        labels, after the learner has predicted them. Returns the curves of that one
        episode ([1, steps]) with the predicted classes ([1, steps, b], indices into
        `classes`).

        X: [n, features] or images [n, H, W, C]; standardized as in `meta_test` unless
            `preprocessed` (then fed as given, e.g. a meta-test episode's own inputs).
        y: labels [n]; classes: every label, as in VSMLClassifier.partial_fit (default
            those in y); class i of the learner's outputs is the i-th in sorted order.
        seed: the learner's initial state is that of meta-test episode 0 with this seed.
        """
        X, y = np.asarray(X), np.asarray(y)
        if len(X) != len(y):
            raise UserError(f"X has {len(X)} examples but y has {len(y)} labels.")
        classes = np.unique(y if classes is None else np.asarray(classes))
        unseen = np.setdiff1d(y, classes)
        if unseen.size:
            raise UserError(f"y has labels {unseen.tolist()} that are not in classes "
                            f"{classes.tolist()}.")
        labels, num_classes = np.searchsorted(classes, y), len(classes)
        b = self.batch_size
        steps = len(X) // b
        if steps < 1:
            raise UserError(f"{len(X)} examples make no step of {b} examples.")
        X, labels = X[:steps * b], labels[:steps * b]
        if preprocessed:
            xs = tf.constant(X, tf.float32)
        else:
            config = self._config(steps=steps)
            dataset = _array_dataset(X, labels, num_classes)
            episodes = builder.sampler(config, self._network, dataset, "test", steps)
            xs = tf.reshape(episodes.preprocessor(tf.constant(dataset.images)),
                            (len(X),) + tuple(episodes.example_shape))
        xs = tf.reshape(xs, (steps, 1, b) + tuple(xs.shape[1:]))
        ys = tf.reshape(tf.one_hot(labels, num_classes), (steps, 1, b, num_classes))
        logits = self._episode_fn(tuple(xs.shape), num_classes)(
            tf.constant(self.theta), xs, ys,
            rng.member_seeds(seed, 0, rng.Purpose.EVAL, tf.range(1)))
        loss, acc = step_losses(logits, ys)
        predictions = np.argmax(logits.numpy(), axis=-1)  # [T, 1, b]
        return Curves(np.asarray(acc).T, np.asarray(loss).T, "arrays", num_classes,
                      np.moveaxis(predictions, 1, 0))

    def _episode_fn(self, shape: tuple, num_classes: int):
        key = (shape, num_classes)
        if key not in self._episode_fns:
            run = self._runner

            def episode(theta, xs, ys, seeds):
                _, state_seeds = meta_test_seeds(seeds)
                return run.logits(theta[None], xs, ys, state_seeds, remat=False)

            self._episode_fns[key] = tf.function(episode, autograph=False,
                                                 jit_compile=run.jit_compile)
        return self._episode_fns[key]

    # -- other forms ----------------------------------------------------------------------

    def keras_model(self) -> keras.Model:
        """The learner's network as a Keras model (a fresh one per call), its weights set
        to theta: `model.weights` are the meta-parameters, `model((xs, ys))` runs whole
        episodes (xs [episodes, T, ...], one-hot ys [episodes, T, C]) -> per-step logits,
        and `compile` + `fit` meta-train it by backprop (docs/keras.md;
        examples/keras_fit.py)."""
        network, _ = builder.build_learner(self.config)
        if not hasattr(network, "sub_rnns"):
            raise UserError(f"keras_model: a {self.config.learner} learner's weights are "
                            f"not assigned from theta here; only VSML networks.")
        ParamLayout(network).assign_to_network(self.theta)
        return network

    def classifier(self, **kwargs) -> VSMLClassifier:
        """This learner as a scikit-learn estimator (`VSMLClassifier`; keyword arguments:
        standardize, passes, random_state, jit_compile)."""
        for taken in ("learner", "workdir"):
            if taken in kwargs:
                raise TypeError(f"classifier() takes no {taken!r}: it is this learner's.")
        if self.kind == loading.WORKDIR:  # its newest checkpoint when fitted
            return VSMLClassifier(workdir=self._source.path, **kwargs)
        shipped = self.name if self.name in loading.names() else self._source.path
        return VSMLClassifier(learner=shipped, **kwargs)


def _array_dataset(X, y, num_classes: int | None = None) -> ArrayDataset:
    """Your examples as a dataset: flat features become 1 x F x 1 images, labels their
    index among the sorted classes, the statistics of X its normalization."""
    X = np.asarray(X, np.float32)
    y = np.asarray(y)
    if len(X) != len(y):
        raise UserError(f"X has {len(X)} examples but y has {len(y)} labels.")
    if X.ndim == 2:
        images = X[:, None, :, None]
    elif X.ndim == 3:
        images = X[..., None]
    elif X.ndim == 4:
        images = X
    else:
        raise UserError(f"X has shape {X.shape}: pass [n, features] or images "
                        f"[n, height, width(, channels)].")
    if not np.isfinite(X).all():
        raise UserError("X holds NaN or infinite values.")
    classes, labels = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise UserError("y has fewer than two classes: nothing to learn.")
    std = float(X.std())
    return ArrayDataset("arrays", images, labels, num_classes=int(num_classes or
                                                                  len(classes)),
                        scale=1.0, mean=float(X.mean()), std=std if std > 0 else 1.0)


def load_learner(name_or_workdir: str | os.PathLike) -> Learner:
    """A learned learner: the name of a shipped one (`python -m vsml_tf.apps.pretrained`
    lists them with their figures) or the workdir of a `vsml-train` run (its newest
    checkpoint that reads back). An unknown name or a directory that is not a run raises
    a `UserError` (a ValueError) listing the shipped names."""
    return Learner(name_or_workdir)
