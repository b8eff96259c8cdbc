"""The synthetic datasets (random, sum)."""

import numpy as np
import pytest

from vsml_tf import datasets

pytestmark = pytest.mark.slow  # every test here takes more than ~5 s


def test_synthetic_datasets():
    random = datasets.load("random", "train")
    assert random.images.shape == (20, 28, 28, 1) and random.num_classes == 10
    np.testing.assert_array_equal(random.images, datasets.load("random", "test").images)
    assert abs(random.images.mean()) < 0.1 and abs(random.images.std() - 1) < 0.1
    total = datasets.load("sum", "test")
    assert total.images.shape[1:] == (28, 28, 1) and total.num_classes == 2
    sums = total.images.reshape(len(total), -1).sum(1)
    np.testing.assert_array_equal(total.labels, sums >= 0)
    centered = total.images - total.images.mean(axis=(1, 2, 3), keepdims=True)
    assert np.abs(centered).max() <= 2 + 1 + 1e-5     # truncated at 2 std around a mean
    assert 0.4 < total.labels.mean() < 0.6
    assert not np.array_equal(total.images[:5], datasets.load("sum", "train").images[:5])


def test_clusters_is_one_class_structure_with_two_pools():
    train, test = datasets.load("clusters", "train"), datasets.load("clusters", "test")
    assert train.images.shape == (20_000, 1, 32, 1) and test.images.shape[1:] == (1, 32, 1)
    assert train.num_classes == test.num_classes == 10
    np.testing.assert_array_equal(np.bincount(train.labels), np.full(10, 2_000))
    X, Xt = train.images.reshape(len(train), -1), test.images.reshape(len(test), -1)
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(0), 1, atol=1e-4)
    assert not np.array_equal(X[:5], Xt[:5])

    def nearest_mean_accuracy(columns):
        means = np.stack([X[train.labels == c][:, columns].mean(0) for c in range(10)])
        distance = ((Xt[:, None, columns] - means[None]) ** 2).sum(-1)
        return (distance.argmin(1) == test.labels).mean()

    # The class means learned on the train pool carry to the test pool through the 16
    # informative features; the 16 noise features carry nothing (chance is 0.1).
    assert nearest_mean_accuracy(slice(0, 16)) > 0.4
    assert abs(nearest_mean_accuracy(slice(16, 32)) - 0.1) < 0.02
