"""scikit-learn's 8x8 handwritten digits: an offline dataset that ships with a pip package.

1,797 images with values 0..16. A fixed permutation (seed 0) holds out 397 images as the
test split, so meta-test episodes never show an image seen during meta-training.
"""

from __future__ import annotations

import numpy as np

from vsml_tf.core.errors import UserError
from vsml_tf.datasets.base import ArrayDataset

NUM_TEST = 397


def load(split: str) -> ArrayDataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.RandomState(0).permutation(len(digits.target))
    images = digits.images.astype(np.float32)[order, :, :, None]
    labels = digits.target[order]
    train = slice(0, len(order) - NUM_TEST)
    scaled = images[train] / 16.0
    mean, std = float(scaled.mean()), float(scaled.std())
    index = {"train": train, "test": slice(len(order) - NUM_TEST, None)}
    if split not in index:
        raise UserError(f"digits has splits 'train' and 'test', not {split!r}.")
    return ArrayDataset("digits", images[index[split]], labels[index[split]], num_classes=10,
                        scale=16.0, mean=mean, std=std)
