"""Dataset readers on real files (MNIST from the shared data dir, also through a TF
filesystem) and on small files written in each dataset's official distribution format;
clear errors for missing and corrupt files."""

import gzip
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from official_format import (
    images_and_labels,
    require_shared_mnist,
    write_cifar10,
    write_kmnist,
    write_mnist_format,
    write_omniglot,
    write_svhn,
)

from vsml_tf import datasets
from vsml_tf.datasets import images as image_sets
from vsml_tf.datasets.official_files import DatasetFileError


def load_files(name, split, data_dir, **kwargs):
    return datasets.load(name, split, source="files", data_dir=str(data_dir), **kwargs)


def test_real_mnist_files():
    data_dir = require_shared_mnist()  # checksums verified against SHA256SUMS
    train = load_files("mnist", "train", data_dir)
    test = load_files("mnist", "test", data_dir)
    assert train.images.shape == (60000, 28, 28, 1) and train.images.dtype == np.uint8
    assert test.images.shape == (10000, 28, 28, 1) and len(test) == 10000
    np.testing.assert_array_equal(train.labels[:8], [5, 0, 4, 1, 9, 2, 1, 3])
    np.testing.assert_array_equal(test.labels[:8], [7, 2, 1, 0, 4, 1, 4, 9])
    np.testing.assert_array_equal(np.bincount(test.labels),
                                  [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    # The paper's normalization stats are MNIST's own.
    scaled = train.images / 255.0
    assert abs(scaled.mean() - 0.1307) < 1e-4 and abs(scaled.std() - 0.3081) < 1e-4
    assert (train.mean, train.std, train.num_classes) == (0.1307, 0.3081, 10)


def test_one_split_needs_only_its_files(tmp_path):
    data_dir = require_shared_mnist()
    only_test = tmp_path / "mnist"
    only_test.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(os.path.join(data_dir, "mnist", name), only_test / name)
    assert len(load_files("mnist", "test", tmp_path)) == 10000
    with pytest.raises(DatasetFileError, match="train-images-idx3-ubyte.gz.*yann.lecun"):
        load_files("mnist", "train", tmp_path)


@pytest.mark.parametrize("name,prefix", [("fashion_mnist", ""),
                                         ("emnist", "emnist-byclass-")])
def test_idx_gzip_format(tmp_path, name, prefix):
    classes = image_sets.IMAGE_SETS[name].num_classes
    for split, n in (("train", 70), ("test", 30)):
        images, labels = images_and_labels(n, (28, 28, 1), classes, seed=n)
        write_mnist_format(tmp_path / name, split, images, labels, prefix)
        dataset = load_files(name, split, tmp_path)
        np.testing.assert_array_equal(dataset.images, images)  # orientation as in the file
        np.testing.assert_array_equal(dataset.labels, labels)
        assert dataset.num_classes == classes


def test_emnist_inside_gzip_folder_and_stats(tmp_path):
    images, labels = images_and_labels(62, (28, 28, 1), 62)
    write_mnist_format(tmp_path / "emnist" / "gzip", "test", images, labels, "emnist-byclass-")
    dataset = load_files("emnist", "test", tmp_path)
    assert (dataset.num_classes, dataset.mean, dataset.std) == (62, 0.1739, 0.3319)


def test_fashion_mnist_stats_paper_or_true(tmp_path):
    images, labels = images_and_labels(10, (28, 28, 1), 10)
    write_mnist_format(tmp_path / "fashion_mnist", "test", images, labels)
    paper = load_files("fashion_mnist", "test", tmp_path)
    true = load_files("fashion_mnist", "test", tmp_path, stats="true")
    assert (paper.mean, paper.std) == (0.1307, 0.3081)  # the paper reused MNIST's
    assert (true.mean, true.std) == (0.2860, 0.3530)


def test_kmnist_npz(tmp_path):
    images, labels = images_and_labels(40, (28, 28, 1), 10)
    write_kmnist(tmp_path / "kmnist", "train", images, labels)
    dataset = load_files("kmnist", "train", tmp_path)
    np.testing.assert_array_equal(dataset.images, images)
    np.testing.assert_array_equal(dataset.labels, labels)
    assert (dataset.mean, dataset.std) == (0.1918, 0.3483)


def test_cifar10_pickled_batches(tmp_path):
    images, labels = images_and_labels(25, (32, 32, 3), 10)
    write_cifar10(tmp_path / "cifar10", "train", images, labels)   # 5 batches
    dataset = load_files("cifar10", "train", tmp_path)
    np.testing.assert_array_equal(dataset.images, images)         # rows CHW -> HWC
    np.testing.assert_array_equal(dataset.labels, labels)
    test_images, test_labels = images_and_labels(7, (32, 32, 3), 10, seed=3)
    write_cifar10(tmp_path / "cifar10", "test", test_images, test_labels)
    np.testing.assert_array_equal(load_files("cifar10", "test", tmp_path).images, test_images)


def test_svhn_mat(tmp_path):
    images, labels = images_and_labels(30, (32, 32, 3), 10)
    write_svhn(tmp_path / "svhn_cropped", "test", images, labels)
    dataset = load_files("svhn_cropped", "test", tmp_path)
    np.testing.assert_array_equal(dataset.images, images)
    np.testing.assert_array_equal(dataset.labels, labels)  # 10 in the file means digit 0
    assert 0 in dataset.labels and (dataset.mean, dataset.std) == (0.4514, 0.1993)


def test_omniglot_zip(tmp_path):
    written = write_omniglot(tmp_path / "omniglot", "test", characters=5, per_character=3,
                             size=16)
    dataset = load_files("omniglot", "test", tmp_path)
    assert dataset.images.shape == (15, 16, 16, 1) and dataset.num_classes == 5
    order = sorted(written)  # classes numbered by sorted alphabet/character
    for label, key in enumerate(order):
        got = dataset.images[dataset.labels == label][..., 0]
        np.testing.assert_array_equal(got, np.stack(written[key]))
    assert (dataset.mean, dataset.std) == (0.9221, 0.2681)


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(DatasetFileError, match=r"kmnist-test-imgs\.npz.*rois-codh"):
        load_files("kmnist", "test", tmp_path)
    with pytest.raises(DatasetFileError, match=r"cifar-10-batches-py.data_batch_1"):
        load_files("cifar10", "train", tmp_path)
    with pytest.raises(DatasetFileError, match=r"train_32x32\.mat.*housenumbers"):
        load_files("svhn_cropped", "train", tmp_path)
    with pytest.raises(DatasetFileError, match=r"images_background\.zip"):
        load_files("omniglot", "train", tmp_path)

    images, labels = images_and_labels(10, (28, 28, 1), 10)
    write_mnist_format(tmp_path / "fashion_mnist", "test", images, labels)
    path = tmp_path / "fashion_mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])                        # truncated download
    with pytest.raises(DatasetFileError, match=r"t10k-images-idx3-ubyte\.gz is not a valid"):
        load_files("fashion_mnist", "test", tmp_path)
    path.write_bytes(gzip.compress(b"<html>Not found</html>"))        # an error page
    with pytest.raises(DatasetFileError, match="IDX magic"):
        load_files("fashion_mnist", "test", tmp_path)
    write_mnist_format(tmp_path / "fashion_mnist", "test", images, labels[:9])
    with pytest.raises(DatasetFileError, match="9 labels for 10 images"):
        load_files("fashion_mnist", "test", tmp_path)
    (tmp_path / "svhn_cropped").mkdir()
    (tmp_path / "svhn_cropped" / "test_32x32.mat").write_bytes(b"garbage" * 20)
    with pytest.raises(DatasetFileError, match="test_32x32.mat is not a valid"):
        load_files("svhn_cropped", "test", tmp_path)


def test_official_files_through_a_tf_filesystem():
    """Paths go through tf.io.gfile, as gs:// ones do (here TF's in-memory ram://)."""
    shared = os.path.join(require_shared_mnist(), "mnist")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        tf.io.gfile.makedirs("ram://vsml_data/mnist")
        tf.io.gfile.copy(os.path.join(shared, name), f"ram://vsml_data/mnist/{name}",
                         overwrite=True)
    dataset = datasets.load("mnist", "test", data_dir="ram://vsml_data")  # 'auto' finds it
    assert len(dataset) == 10000
    np.testing.assert_array_equal(dataset.labels[:4], [7, 2, 1, 0])
