"""The paper's synthetic meta-test tasks (Fig. 8), generated from fixed seeds.

- `random`: 20 fixed Gaussian 28x28x1 images, labels uniform over 10 classes -- pure
  memorization. Both splits hold the same 20 examples (there is nothing to generalize to).
- `sum`: truncated-normal (+-2 std) 28x28x1 images around a per-image mean drawn from
  U(-1, 1); label 1 when the pixel sum is >= 0, else 0. A fixed pool per split
  (different seeds), large enough that episodes rarely repeat an example.

Values are already standardized: scale 1, mean 0, std 1.
"""

from __future__ import annotations

import numpy as np

from vsml_tf.core.errors import UserError
from vsml_tf.datasets.base import ArrayDataset

SHAPE = (28, 28, 1)
SUM_POOL = {"train": 20_000, "test": 10_000}
CLUSTERS_POOL = {"train": 20_000, "test": 10_000}
CLUSTERS_FEATURES, CLUSTERS_INFORMATIVE, CLUSTERS_CLASSES = 32, 16, 10
_SEEDS = {"random": 0, "train": 1, "test": 2, "clusters": 3}


def _check_split(name: str, split: str) -> None:
    if split not in ("train", "test"):
        raise UserError(f"{name} has splits 'train' and 'test', not {split!r}.")


def random(split: str) -> ArrayDataset:
    _check_split("random", split)
    g = np.random.default_rng(_SEEDS["random"])
    images = g.standard_normal((20,) + SHAPE).astype(np.float32)
    labels = g.integers(0, 10, size=20)
    return ArrayDataset("random", images, labels, num_classes=10, scale=1.0, mean=0.0,
                        std=1.0)


def sum_sign(split: str) -> ArrayDataset:
    import scipy.stats

    _check_split("sum", split)
    g = np.random.default_rng(_SEEDS[split])
    n = SUM_POOL[split]
    means = g.uniform(-1.0, 1.0, size=(n, 1, 1, 1))
    noise = scipy.stats.truncnorm.rvs(-2.0, 2.0, size=(n,) + SHAPE, random_state=g)
    images = (means + noise).astype(np.float32)
    labels = (images.reshape(n, -1).sum(axis=1) >= 0).astype(np.int64)
    return ArrayDataset("sum", images, labels, num_classes=2, scale=1.0, mean=0.0, std=1.0)


def clusters(split: str) -> ArrayDataset:
    _check_split("clusters", split)
    k, c = CLUSTERS_INFORMATIVE, CLUSTERS_CLASSES
    structure = np.random.default_rng(_SEEDS["clusters"])
    means = structure.choice([-1.0, 1.0], size=(c, k))               # hypercube vertices
    covariance_maps = structure.uniform(-1.0, 1.0, size=(c, k, k))
    g = np.random.default_rng([_SEEDS["clusters"], _SEEDS[split]])
    n = CLUSTERS_POOL[split]
    labels = np.arange(n) % c
    g.shuffle(labels)
    z = g.standard_normal((n, k))
    informative = means[labels] + np.einsum("ni,nij->nj", z, covariance_maps[labels])
    noise = g.standard_normal((n, CLUSTERS_FEATURES - k))
    features = np.concatenate([informative, noise], axis=1)
    features = (features - features.mean(0)) / features.std(0)      # each feature z-scored
    images = features.reshape(n, 1, CLUSTERS_FEATURES, 1).astype(np.float32)
    return ArrayDataset("clusters", images, labels, num_classes=c, scale=1.0, mean=0.0,
                        std=1.0)
