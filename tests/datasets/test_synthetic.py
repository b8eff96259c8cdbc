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
