"""Meta-train a VSML learner the Keras way: compile, then fit on episodes.

A `VSMLNetwork` is a Keras model over batches of episodes: xs [b, T, 64] (8x8 digits,
flattened) with one-hot ys [b, T, 10] -> per-step logits [b, T, 10], each step predicted
before its label is fed back. Its weights are the meta-parameters (the shared sub-RNNs);
`fit` backpropagates the mean cross-entropy over whole episodes into them -- the package's
`Backprop` estimator's gradient (tests/learners/test_network.py). Labels are permuted per
episode, so the learner has to learn the class map inside each episode.

From VSML's random initialization the meta-gradient is tiny and a few steps change
nothing (configs/gradient.py says so for 500); so, as configs/gradient.py:from_clone,
this starts from the shipped `clone_backprop` learner (sub-RNNs cloned to run online
SGD, overconfident), from where fit lowers the meta-loss at once.

    python examples/keras_fit.py        # about 30 s on 2 CPU cores
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

import vsml_tf
from vsml_tf import datasets
from vsml_tf.core import rng
from vsml_tf.datasets.episodes import EpisodeSampler

STEPS = 20  # examples per episode


def episodes(split: str, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` episodes of the bundled digits: xs [count, T, 64], ys [count, T, 10]."""
    sampler = EpisodeSampler(datasets.load("digits", split), STEPS, permute_labels=True)
    seeds = rng.member_seeds(seed, 0, rng.Purpose.DATA, tf.range(count))
    xs, ys = sampler.sample(seeds)                      # [T, count, 1, ...], time-major
    return np.moveaxis(xs.numpy()[:, :, 0], 0, 1), np.moveaxis(ys.numpy()[:, :, 0], 0, 1)


def main() -> None:
    train_x, train_y = episodes("train", 32, seed=1)
    test_x, test_y = episodes("test", 16, seed=2)
    model = vsml_tf.load_learner("clone_backprop").keras_model()  # a keras.Model
    model.compile(optimizer=keras.optimizers.Adam(3e-3, global_clipnorm=25.0),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["categorical_accuracy"])
    model.summary()
    start = time.time()
    before = model.evaluate((test_x, test_y), test_y, batch_size=16, verbose=0)
    model.fit((train_x, train_y), train_y, batch_size=16, epochs=5, verbose=2)
    after = model.evaluate((test_x, test_y), test_y, batch_size=16, verbose=0)
    print(f"meta-test loss {before[0]:.3f} -> {after[0]:.3f}, accuracy over the "
          f"episodes {before[1]:.3f} -> {after[1]:.3f} ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
