"""datasets.load: class filters, the registry of loaders, and errors for unknown names,
sources and splits."""

import numpy as np
import pytest

from vsml_tf import datasets
from vsml_tf.datasets import images as image_sets


def test_filter_classes_relabels_in_given_order():
    full = datasets.load("digits", "train")
    subset = datasets.load("digits", "train", filter_classes="7,2")
    assert subset.num_classes == 2
    np.testing.assert_array_equal(subset.images, full.images[np.isin(full.labels, [2, 7])])
    np.testing.assert_array_equal(subset.labels,
                                  np.where(full.labels[np.isin(full.labels, [2, 7])] == 7, 0, 1))
    with pytest.raises(ValueError, match="0..9"):
        datasets.load("digits", "train", filter_classes="3,12")


def test_registry_and_source_errors(tmp_path):
    assert set(datasets.LOADERS) >= {"mnist", "fashion_mnist", "kmnist", "emnist", "cifar10",
                                     "svhn_cropped", "omniglot", "digits", "random", "sum"}
    with pytest.raises(ValueError, match="Did you mean mnist"):
        datasets.load("mnsit", "train")
    with pytest.raises(ValueError, match="needs --config.data.data_dir"):
        datasets.load("mnist", "train", source="files")
    with pytest.raises(ValueError, match="splits 'train' and 'test'"):
        datasets.load("random", "validation")
    # 'auto' reads the files when data_dir/<name>/ exists, TFDS otherwise.
    assert image_sets.resolve_source("kmnist", "auto", str(tmp_path)) == "tfds"
    (tmp_path / "kmnist").mkdir()
    assert image_sets.resolve_source("kmnist", "auto", str(tmp_path)) == "files"
    assert image_sets.resolve_source("kmnist", "auto", "") == "tfds"
