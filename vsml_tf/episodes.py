"""Episodes: sequences of labelled examples drawn from an in-memory dataset.

`EpisodeSampler.sample(seeds)` returns time-major tensors for a batch of members, each
member's examples a pure function of its seed (see `rng.py`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from vsml_tf.datasets.base import ArrayDataset


class EpisodeSampler:
    """Draws `steps` x `batch_size` examples per member, uniformly with replacement."""

    def __init__(self, dataset: ArrayDataset, steps: int, batch_size: int = 1,
                 flatten: bool = True):
        self.dataset = dataset
        self.steps = steps
        self.batch_size = batch_size
        self.flatten = flatten
        self.num_classes = dataset.num_classes
        self.example_shape = ((int(np.prod(dataset.shape)),) if flatten else dataset.shape)
        # Captured by the compiled step as a resource, not embedded as a graph constant.
        self._images = tf.convert_to_tensor(dataset.images)
        self._labels = tf.convert_to_tensor(dataset.labels)

    def normalize(self, images: tf.Tensor) -> tf.Tensor:
        d = self.dataset
        return (tf.cast(images, tf.float32) / d.scale - d.mean) / d.std

    def sample(self, seeds: tf.Tensor):
        """seeds [p, 2] -> (xs [T, p, n, *example_shape] float32, ys one-hot [T, p, n, C])."""
        n = len(self.dataset)
        index = tf.map_fn(
            lambda s: tf.random.stateless_uniform([self.steps, self.batch_size], s, 0, n,
                                                  dtype=tf.int32),
            seeds, fn_output_signature=tf.TensorSpec([self.steps, self.batch_size], tf.int32))
        index = tf.transpose(index, [1, 0, 2])                           # [T, p, n]
        xs = self.normalize(tf.gather(self._images, index))
        members = seeds.shape[0]
        xs = tf.reshape(xs, (self.steps, members, self.batch_size) + self.example_shape)
        ys = tf.one_hot(tf.gather(self._labels, index), self.num_classes)
        return xs, ys
