"""Preprocessing math against NumPy, and its per-worker randomness."""

import math

import numpy as np
import pytest
import tensorflow as tf

from vsml_tf.datasets.base import ArrayDataset
from vsml_tf.datasets.preprocess import (
    Preprocessor,
    glorot_uniform_projection,
    parse_shape,
    pixel_permutation,
)


def dataset(shape=(6, 4, 1), n=5, seed=0):
    g = np.random.default_rng(seed)
    return ArrayDataset("toy", g.integers(0, 256, (n,) + shape).astype(np.uint8),
                        np.arange(n) % 3, num_classes=3, scale=255.0, mean=0.2, std=0.4)


def run(pre, images):
    return tf.function(pre, jit_compile=True)(tf.constant(images)).numpy()


def test_normalizations():
    d = dataset()
    x = d.images / 255.0
    np.testing.assert_allclose(run(Preprocessor(d), d.images), (x - 0.2) / 0.4, rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(run(Preprocessor(d, normalize="identity"), d.images), x,
                               rtol=1e-6)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2, 3), keepdims=True), 1 / math.sqrt(x[0].size))
    np.testing.assert_allclose(run(Preprocessor(d, normalize="standard"), d.images),
                               (x - mean) / std, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="dataset_standard"):
        Preprocessor(d, normalize="zscore")


def test_resize_by_half_is_2x2_mean_pooling():
    """Bilinear with half-pixel centers: output pixel i samples input 2i + 0.5."""
    d = dataset((8, 6, 1))
    out = run(Preprocessor(d, normalize="identity", resize=(4, 3)), d.images)
    x = d.images[..., 0] / 255.0
    pooled = x.reshape(5, 4, 2, 3, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(out[..., 0], pooled, rtol=1e-5, atol=1e-6)
    assert Preprocessor(d, resize=(28, 28)).output_shape == (28, 28, 1)


def test_pad_centers_the_normalized_image_in_zeros():
    d = dataset((3, 2, 1))
    pre = Preprocessor(d, pad_inputs=(7, 5, 2))
    out = run(pre, d.images)
    expected = np.zeros((5, 7, 5, 2), np.float32)
    expected[:, 2:5, 1:3, :1] = (d.images / 255.0 - 0.2) / 0.4
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert pre.output_shape == (7, 5, 2)
    with pytest.raises(ValueError, match="smaller than toy's 3x2x1"):
        Preprocessor(d, pad_inputs=(2, 2, 1))


def test_pixel_shuffle_is_one_fixed_permutation_of_positions():
    d = dataset((4, 3, 2))
    out = run(Preprocessor(d, normalize="identity", shuffle_pixels=True, seed=5,
                           worker_index=2), d.images)
    perm = pixel_permutation(12, 5, 2)
    x = (d.images / 255.0).reshape(5, 12, 2)
    np.testing.assert_allclose(out.reshape(5, 12, 2), x[:, perm], rtol=1e-6)
    assert sorted(perm) == list(range(12))
    assert not np.array_equal(perm, pixel_permutation(12, 5, 3))   # per worker
    np.testing.assert_array_equal(perm, pixel_permutation(12, 5, 2))  # fixed for the run


def test_rand_proj_is_glorot_uniform_and_fixed_per_worker():
    d = dataset((5, 4, 1))
    pre = Preprocessor(d, rand_proj=True, seed=3, worker_index=1)
    out = run(pre, d.images)
    m = glorot_uniform_projection(20, 3, 1)
    x = ((d.images / 255.0 - 0.2) / 0.4).reshape(5, 20)
    np.testing.assert_allclose(out.reshape(5, 20), x @ m, rtol=1e-4, atol=1e-4)
    assert out.shape == (5, 5, 4, 1)
    big = glorot_uniform_projection(784, 0, 0)
    limit = math.sqrt(6 / (784 + 784))
    assert np.abs(big).max() <= limit and np.abs(big).max() > 0.99 * limit
    assert abs(big.std() - limit / math.sqrt(3)) < 1e-3   # std of U(-l, l)
    np.testing.assert_array_equal(big, glorot_uniform_projection(784, 0, 0))
    assert not np.allclose(big, glorot_uniform_projection(784, 0, 1))
    assert not np.allclose(big, glorot_uniform_projection(784, 1, 0))


def test_order_resize_normalize_pad_shuffle_project():
    d = dataset((8, 8, 1))
    pre = Preprocessor(d, normalize="standard", resize=(4, 4), pad_inputs=(6, 6, 1),
                       shuffle_pixels=True, rand_proj=True, seed=1, worker_index=4)
    x = d.images[..., 0] / 255.0
    x = x.reshape(5, 4, 2, 4, 2).mean(axis=(2, 4))
    x = (x - x.mean(axis=(1, 2), keepdims=True)) / np.maximum(
        x.std(axis=(1, 2), keepdims=True), 1 / 4)
    x = np.pad(x, [(0, 0), (1, 1), (1, 1)]).reshape(5, 36)
    x = x[:, pixel_permutation(36, 1, 4)] @ glorot_uniform_projection(36, 1, 4)
    np.testing.assert_allclose(run(pre, d.images).reshape(5, 36), x, rtol=1e-4, atol=1e-4)


def test_parse_shape():
    assert parse_shape("28x28", 2, "data.resize") == (28, 28)
    assert parse_shape("28x28x1", 3, "data.pad_inputs") == (28, 28, 1)
    assert parse_shape("", 2, "data.resize") is None
    with pytest.raises(ValueError, match="data.resize='28'.*'28x28'"):
        parse_shape("28", 2, "data.resize")


@pytest.mark.parametrize("size", [(8, 8), (14, 14), (7, 9), (10, 5)])
def test_area_resize_matches_tf_image_resize_and_compiles(size):
    """'area' is computed as two overlap-weight matrices, because tf.image.resize's area
    kernel has no XLA implementation; eager TF is the reference."""
    d = dataset(shape=(28, 28, 2), n=3)
    want = tf.image.resize(d.images / 255.0, size, method="area").numpy()
    got = run(Preprocessor(d, normalize="identity", resize=size, resize_method="area"),
              d.images)
    np.testing.assert_allclose(got, want, atol=1e-6)
    with pytest.raises(ValueError, match="bilinear"):
        Preprocessor(d, resize=size, resize_method="bicubic")


def ink_images(n=6, size=28, seed=0):
    """Random strokes on a blank background at random places: a box of ink per image."""
    g = np.random.default_rng(seed)
    images = np.zeros((n, size, size, 1), np.uint8)
    for image in images:
        top, left = g.integers(0, size - 6, 2)
        h, w = g.integers(3, size - max(top, left), 2)
        image[top:top + h, left:left + w, 0] = g.integers(0, 256, (h, w))
        image[top, left, 0] = image[top + h - 1, left + w - 1, 0] = 255  # the box's corners
    return images


def test_crop_to_content_resamples_the_square_around_the_ink_as_scipy_does():
    """Reference: scipy's order-1 spline (bilinear) sampling with zeros outside the image,
    on the square grid centered on the ink's bounding box (pixels above half the max)."""
    from scipy import ndimage

    images = ink_images()
    d = ArrayDataset("ink", images, np.zeros(len(images)), num_classes=1)
    got = run(Preprocessor(d, normalize="identity", crop=True), images)
    for image, out in zip(images / 255.0, got):
        rows, cols = np.nonzero(image[..., 0] > 0.5 * image.max())
        side = max(rows.max() - rows.min(), cols.max() - cols.min())
        grid = np.linspace(-side / 2, side / 2, 28)
        ys = (rows.min() + rows.max()) / 2 + grid
        xs = (cols.min() + cols.max()) / 2 + grid
        coords = np.meshgrid(ys, xs, indexing="ij")
        want = ndimage.map_coordinates(image[..., 0], coords, order=1, mode="constant")
        np.testing.assert_allclose(out[..., 0], want, atol=1e-5)
        longer = (out[..., 0] > 0).any(1) if np.ptp(rows) >= np.ptp(cols) else \
            (out[..., 0] > 0).any(0)
        assert longer[0] and longer[-1]  # the ink spans the frame along its longer side


def test_crop_to_content_keeps_a_blank_image_and_sets_its_own_stats():
    """A blank image is resampled whole (here: unchanged); the normalization stats are
    those of the cropped and resized images, which are denser than the dataset's."""
    images = np.concatenate([np.zeros((1, 28, 28, 1), np.uint8), ink_images(n=40)])
    d = ArrayDataset("ink", images, np.zeros(len(images)), num_classes=1, mean=0.5, std=2.0)
    np.testing.assert_array_equal(
        run(Preprocessor(d, normalize="identity", crop=True), images[:1]), 0.0)
    pre = Preprocessor(d, resize=(8, 8), resize_method="area", crop=True)
    rendered = run(Preprocessor(d, normalize="identity", resize=(8, 8),
                                resize_method="area", crop=True), images)
    assert (pre.mean, pre.std) == pytest.approx((rendered.mean(), rendered.std()), rel=1e-4)
    standardized = run(pre, images)
    assert standardized.mean() == pytest.approx(0.0, abs=1e-4)
    assert standardized.std() == pytest.approx(1.0, rel=1e-3)
