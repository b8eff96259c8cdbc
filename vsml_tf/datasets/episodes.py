"""Episodes: sequences of labelled examples drawn from an in-memory dataset.

`sample(seeds)` returns time-major tensors for a batch of members, each member's episode a
pure function of its seed (see `rng.py`): a resumed run, or a member computed on another
device or host, sees the same examples. Everything here is static-shaped TF ops, so it runs
inside the XLA-compiled meta-training step. (TF's XLA and non-XLA kernels draw different
stateless random numbers on CPU: episodes repeat exactly for one `training.jit_compile`.)

- `EpisodeSampler`: examples in a fresh random order without replacement ("shuffled"); an
  episode longer than the dataset continues with a new order ("repeated").
- `FewShotSampler`: N-way K-shot: N classes relabeled 0..N-1 in a random order, K
  examples of each in random order, then one unseen query example of one of the N.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from vsml_tf.core.errors import UserError
from vsml_tf.datasets import index_shuffle
from vsml_tf.datasets.base import ArrayDataset
from vsml_tf.datasets.preprocess import Preprocessor, glorot_limit


def _fold(seed, salt: int):
    return tf.random.experimental.stateless_fold_in(seed, salt)


def _per_member(fn, seeds, *specs):
    """Stack fn(seed) over seeds [p, 2] (one seed per member)."""
    return tf.map_fn(fn, seeds, fn_output_signature=specs[0] if len(specs) == 1 else specs)


def glorot_uniform_per_member(seeds, dim: int) -> tf.Tensor:
    """[p, dim, dim]: member i's own Glorot-uniform projection, drawn from its episode
    seed (the per-episode counterpart of `Preprocessor`'s per-worker `rand_proj`)."""
    limit = glorot_limit(dim)
    return _per_member(lambda s: tf.random.stateless_uniform([dim, dim], _fold(s, 11),
                                                             -limit, limit),
                       seeds, tf.TensorSpec([dim, dim], tf.float32))


class _Sampler:
    """Shared by both samplers: preprocessing, output shapes, one-hot labels.

    `episode_rand_proj`: after preprocessing, each episode's inputs go through a fresh
    Glorot-uniform DxD projection drawn from the episode's seed, so every episode is a
    new linear view of the data (`Preprocessor`'s `rand_proj` is one per worker)."""

    def __init__(self, dataset: ArrayDataset, steps: int, batch_size: int, flatten: bool,
                 preprocessor: Preprocessor | None, num_classes: int | None,
                 episode_rand_proj: bool = False):
        self.dataset = dataset
        self.episode_rand_proj = bool(episode_rand_proj)
        self.steps = int(steps)
        self.batch_size = int(batch_size)
        self.flatten = flatten
        self.preprocessor = preprocessor or Preprocessor(dataset)
        shape = self.preprocessor.output_shape
        self.example_shape = (int(np.prod(shape)),) if flatten else shape
        self.num_classes = int(num_classes or self.dataset_classes)
        if self.num_classes < self.dataset_classes:
            raise UserError(f"data.pad_classes={num_classes} is fewer than the "
                            f"{self.dataset_classes} classes of {dataset.name}'s episodes.")
        self._images, self._labels = dataset.tensors()

    @property
    def dataset_classes(self) -> int:
        return self.dataset.num_classes

    def episode_indices(self, seeds):
        """(dataset indices [T, p, n], episode labels [T, p, n]) of members `seeds`."""
        raise NotImplementedError

    def sample(self, seeds: tf.Tensor):
        """seeds [p, 2] -> (xs [T, p, n, *example_shape] float32, ys one-hot [T, p, n, C])."""
        index, labels = self.episode_indices(seeds)
        xs = self.preprocessor(tf.gather(self._images, index))
        if self.episode_rand_proj:
            dim = int(np.prod(self.preprocessor.output_shape))
            xs = tf.einsum("tpnd,pde->tpne", tf.reshape(xs, tuple(index.shape) + (dim,)),
                           glorot_uniform_per_member(seeds, dim))
        xs = tf.reshape(xs, tuple(index.shape) + self.example_shape)
        return xs, tf.one_hot(labels, self.num_classes)


class EpisodeSampler(_Sampler):
    """`steps` x `batch_size` examples per member, shuffled and repeated.

    `permute_labels`: every episode renames the classes by its own random permutation, so
    a learner cannot carry the class -> label map over from meta-training and must learn
    it within the episode (the test of learning-to-learn vs memorizing).

    `pool`: each episode cycles through its own random subset of `pool` examples (a
    fresh order per pass), so that a long episode makes many passes over a small dataset,
    as `VSMLClassifier(passes=...)` on a user's few hundred examples does; 0 (default):
    the whole split."""

    def __init__(self, dataset: ArrayDataset, steps: int, batch_size: int = 1,
                 flatten: bool = True, preprocessor: Preprocessor | None = None,
                 num_classes: int | None = None, permute_labels: bool = False,
                 episode_rand_proj: bool = False, pool: int = 0):
        super().__init__(dataset, steps, batch_size, flatten, preprocessor, num_classes,
                         episode_rand_proj)
        self.permute_labels = permute_labels
        if pool < 0:
            raise UserError(f"data.episode_pool={pool}: use 0 (the whole split) or a "
                            f"positive number of examples.")
        self.pool = min(int(pool), len(dataset)) if pool else 0

    def episode_indices(self, seeds):
        n, total = len(self.dataset), self.steps * self.batch_size
        m = self.pool or n             # examples the episode cycles through
        epochs = math.ceil(total / m)  # a fresh random order for every pass over the data
        shape = [epochs, index_shuffle.num_keys()]
        keys = _per_member(lambda s: tf.random.stateless_uniform(shape, s, None, None, tf.int32),
                           seeds, tf.TensorSpec(shape, tf.int32))          # [p, epochs, R]
        position = tf.range(total)
        keys = tf.gather(keys, position // m, axis=1)                    # [p, total, R]
        index = index_shuffle.index_shuffle(position % m, keys, m)       # [p, total]
        if self.pool:  # the first m of a random permutation of [0, n): the episode's pool
            spec = tf.TensorSpec([index_shuffle.num_keys()], tf.int32)
            pool_keys = _per_member(lambda s: tf.random.stateless_uniform(
                spec.shape, _fold(s, 5), None, None, tf.int32), seeds, spec)   # [p, R]
            members = index_shuffle.index_shuffle(tf.range(m)[None, :],
                                                  pool_keys[:, None, :], n)  # [p, m]
            index = tf.gather(members, index, batch_dims=1)
        index = tf.transpose(tf.reshape(index, (-1, self.steps, self.batch_size)), [1, 0, 2])
        labels = tf.gather(self._labels, index)                          # [T, p, n]
        if self.permute_labels:
            classes = self.dataset_classes
            perm = _per_member(lambda s: tf.argsort(tf.random.stateless_uniform(
                [classes], _fold(s, 7))), seeds, tf.TensorSpec([classes], tf.int32))
            labels = tf.transpose(tf.gather(perm, tf.transpose(labels, [1, 0, 2]),
                                            batch_dims=1), [1, 0, 2])
        return index, labels


class FewShotSampler(_Sampler):
    """N-way K-shot episodes of N*K + 1 steps; the last step is the query."""

    def __init__(self, dataset: ArrayDataset, ways: int, shots: int, steps: int | None = None,
                 batch_size: int = 1, flatten: bool = True,
                 preprocessor: Preprocessor | None = None, num_classes: int | None = None,
                 episode_rand_proj: bool = False):
        self.ways, self.shots = int(ways), int(shots)
        length = self.ways * self.shots + 1
        if steps is not None and steps != length:
            raise UserError(f"{self.ways}-way {self.shots}-shot episodes have "
                            f"ways*shots+1 = {length} steps, not {steps}: set "
                            f"training.episode_length and evaluation.episode_length to "
                            f"{length}.")
        if batch_size != 1:
            raise UserError("Few-shot episodes show one example per step: set "
                            "data.batch_size=1.")
        counts = np.bincount(dataset.labels, minlength=dataset.num_classes)
        eligible = np.flatnonzero(counts >= self.shots + 1)
        if len(eligible) < self.ways or self.ways < 2 or self.shots < 1:
            raise UserError(f"{self.ways}-way {self.shots}-shot episodes need ways >= 2, "
                            f"shots >= 1 and {self.ways} classes with >= {self.shots + 1} "
                            f"examples; {dataset.name} has {len(eligible)} such classes.")
        super().__init__(dataset, length, 1, flatten, preprocessor, num_classes,
                         episode_rand_proj)
        by_class = [np.flatnonzero(dataset.labels == c) for c in eligible]
        width = max(len(members) for members in by_class)
        table = np.stack([np.pad(m, (0, width - len(m)), mode="edge") for m in by_class])
        self._table = tf.constant(table, tf.int32)                       # [classes, width]
        self._counts = tf.constant(counts[eligible], tf.int32)

    @property
    def dataset_classes(self) -> int:
        return self.ways

    def episode_indices(self, seeds):
        ways, shots = self.ways, self.shots
        num_classes, width = self._table.shape

        def member(seed):
            keys = tf.random.stateless_uniform([num_classes], _fold(seed, 0))
            chosen = tf.math.top_k(keys, ways).indices                  # label j <- chosen[j]
            keys = tf.random.stateless_uniform([ways, width], _fold(seed, 1))
            valid = tf.range(width)[None] < tf.gather(self._counts, chosen)[:, None]
            picks = tf.math.top_k(tf.where(valid, keys, -1.0), shots + 1).indices
            index = tf.gather(tf.gather(self._table, chosen), picks, batch_dims=1)
            support = tf.reshape(index[:, :shots], [-1])
            labels = tf.repeat(tf.range(ways), shots)
            order = tf.math.top_k(tf.random.stateless_uniform([ways * shots],
                                                              _fold(seed, 2)), ways * shots)
            query = tf.random.stateless_uniform([], _fold(seed, 3), 0, ways, tf.int32)
            return (tf.concat([tf.gather(support, order.indices), index[query, shots][None]], 0),
                    tf.concat([tf.gather(labels, order.indices), query[None]], 0))

        spec = tf.TensorSpec([self.steps], tf.int32)
        index, labels = _per_member(member, seeds, spec, spec)
        return tf.transpose(index)[..., None], tf.transpose(labels)[..., None]
