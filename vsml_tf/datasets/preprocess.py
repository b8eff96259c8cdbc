"""Preprocessing of the paper, split by where it is cheapest.

At load time, in NumPy, once: `filter_classes` (a subset of the classes, relabeled).
Per drawn example, inside the compiled meta-training step (`Preprocessor`), in order:
scale to [0, 1] -> `crop_to_content` -> `resize` (`resize_method`) -> `normalize` ->
`pad_inputs` -> `shuffle_pixels` -> `rand_proj`. Datasets thus stay in memory as compact
uint8 and one loaded dataset serves every worker's variant; each transform costs
O(pixels) per example (the projection O(pixels^2)), far below the learner's
O(pixels x classes x state^2).

The pixel permutation and the projection matrix are drawn once per worker from
(seed, worker index) and fixed for the run: a resumed run, or worker i on any host, draws
the same ones.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Sequence

import numpy as np
import tensorflow as tf

from vsml_tf.core.errors import UserError
from vsml_tf.datasets.base import ArrayDataset

NORMALIZATIONS = ("dataset_standard", "standard", "identity")
RESIZE_METHODS = ("bilinear", "area")
_STATS_SAMPLE = 2048  # examples that set the stats of content-cropped images
_SALT = {"shuffle_pixels": 1, "rand_proj": 2}


def parse_shape(text: str, dims: int, key: str) -> tuple | None:
    """'28x28' -> (28, 28) for dims=2; '' -> None."""
    if text in ("", None):
        return None
    if isinstance(text, (tuple, list)):
        parts = [str(p) for p in text]
    else:
        parts = re.split(r"[x,]", str(text).strip().lower())
    if len(parts) != dims or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        example = "x".join(["28", "28", "1"][:dims])
        raise UserError(f"{key}={text!r}: write {dims} positive sizes like '{example}'.")
    return tuple(int(p) for p in parts)


def parse_classes(text) -> tuple[int, ...]:
    """'3,5,7' -> (3, 5, 7); '' -> ()."""
    if isinstance(text, (tuple, list)):
        return tuple(int(c) for c in text)
    parts = [p.strip() for p in str(text or "").split(",") if p.strip()]
    if not all(p.lstrip("-").isdigit() for p in parts):
        raise UserError(f"data.filter_classes={text!r}: write class ids like '0,1,2'.")
    return tuple(int(p) for p in parts)


def filter_classes(dataset: ArrayDataset, classes: Sequence[int]) -> ArrayDataset:
    """Keep the examples of `classes`; class classes[j] becomes label j."""
    classes = tuple(int(c) for c in classes)
    if not classes:
        return dataset
    bad = [c for c in classes if not 0 <= c < dataset.num_classes]
    if bad or len(set(classes)) != len(classes):
        raise UserError(f"data.filter_classes={','.join(map(str, classes))}: {dataset.name} "
                        f"has classes 0..{dataset.num_classes - 1}; "
                        f"{'not ' + str(bad) if bad else 'each class once'}.")
    relabel = np.full(dataset.num_classes, -1, np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    keep = relabel[dataset.labels] >= 0
    return dataclasses.replace(dataset, images=dataset.images[keep],
                               labels=relabel[dataset.labels[keep]],
                               num_classes=len(classes))


def _worker_rng(seed: int, worker_index: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(worker_index), _SALT[purpose]]))


def glorot_limit(dim: int) -> float:
    """l of a Glorot-uniform DxD projection, U(-l, l): sqrt(6 / (fan_in + fan_out))."""
    return math.sqrt(6.0 / (dim + dim))


def glorot_uniform_projection(dim: int, seed: int, worker_index: int = 0) -> np.ndarray:
    """[dim, dim] float32, U(-l, l) with l = glorot_limit(dim)."""
    limit = glorot_limit(dim)
    g = _worker_rng(seed, worker_index, "rand_proj")
    return g.uniform(-limit, limit, size=(dim, dim)).astype(np.float32)


def pixel_permutation(num_pixels: int, seed: int, worker_index: int = 0) -> np.ndarray:
    return _worker_rng(seed, worker_index, "shuffle_pixels").permutation(num_pixels)


def area_weights(length: int, size: int) -> np.ndarray:
    """[size, length]: output cell i averages the input cells it overlaps, weighted by the
    overlap (what tf.image.resize's 'area' computes; it has no XLA kernel)."""
    edges = np.arange(size + 1) * length / size
    cells = np.arange(length)
    overlap = np.clip(np.minimum(edges[1:, None], cells + 1) -
                      np.maximum(edges[:-1, None], cells), 0, None)
    return (overlap / overlap.sum(1, keepdims=True)).astype(np.float32)


def crop_to_content(x: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Each image [N, H, W, C] in [0, 1] cropped to the square around its ink (pixels above
    half the image's maximum), centered, and resampled (bilinear) to `size`: the way
    handwriting datasets such as UCI digits were rendered, the digit filling the frame.
    An image without ink is resampled whole."""
    height, width = x.shape[1], x.shape[2]
    peak = tf.reduce_max(x, axis=[1, 2, 3], keepdims=True)
    ink = tf.reduce_max(x, axis=3) > 0.5 * peak[..., 0]  # none in a blank image

    def extent(mask, length):  # first and last inked index along one axis; 0, n-1 if none
        index = tf.range(length, dtype=tf.float32)
        first = tf.reduce_min(tf.where(mask, index, float(length)), axis=1)
        last = tf.reduce_max(tf.where(mask, index, -1.0), axis=1)
        empty = last < 0
        return tf.where(empty, 0.0, first), tf.where(empty, length - 1.0, last)

    top, bottom = extent(tf.reduce_any(ink, axis=2), height)
    left, right = extent(tf.reduce_any(ink, axis=1), width)
    half = tf.maximum(bottom - top, right - left) / 2

    def tent(center, samples, length):  # bilinear weights [N, samples, length]
        at = center[:, None] - half[:, None] + tf.linspace(0.0, 1.0, samples)[None] * (
            2 * half[:, None])
        return tf.nn.relu(1 - tf.abs(at[..., None] - tf.range(length, dtype=tf.float32)))

    # Separable bilinear resampling (tf.image.crop_and_resize has no XLA kernel); points
    # outside the image fade to 0.
    rows = tent((top + bottom) / 2, size[0], height)
    cols = tent((left + right) / 2, size[1], width)
    return tf.einsum("nir,nrsc,njs->nijc", rows, x, cols)


class Preprocessor:
    """Maps raw examples [..., H, W, C] of `dataset` to float32 [..., *output_shape]."""

    def __init__(self, dataset: ArrayDataset, normalize: str = "dataset_standard",
                 resize: tuple | None = None, pad_inputs: tuple | None = None,
                 shuffle_pixels: bool = False, rand_proj: bool = False, seed: int = 0,
                 worker_index: int = 0, resize_method: str = "bilinear",
                 crop: bool = False):
        if normalize not in NORMALIZATIONS:
            raise UserError(f"data.normalize={normalize!r}: use one of {NORMALIZATIONS}.")
        if resize_method not in RESIZE_METHODS:
            raise UserError(f"data.resize_method={resize_method!r}: use one of "
                            f"{RESIZE_METHODS} ('area' averages, for downsampling).")
        self.scale, self.mean, self.std = dataset.scale, dataset.mean, dataset.std
        self.normalize, self.resize_method, self.crop = normalize, resize_method, crop
        self.resize = tuple(resize) if resize else None
        self.pad_inputs = tuple(pad_inputs) if pad_inputs else None
        height, width, channels = dataset.shape
        if self.resize:
            height, width = self.resize
        if self.pad_inputs:
            ph, pw, pc = self.pad_inputs
            if ph < height or pw < width or pc < channels:
                raise UserError(
                    f"data.pad_inputs={'x'.join(map(str, self.pad_inputs))} is smaller than "
                    f"{dataset.name}'s {height}x{width}x{channels} examples; set data.resize "
                    f"first or pad to a larger shape.")
            self._pad = (ph, pw, pc, (ph - height) // 2, (pw - width) // 2)
            height, width, channels = ph, pw, pc
        self.output_shape = (height, width, channels)
        dim = height * width * channels
        self.permutation = self.projection = None
        if shuffle_pixels:  # one permutation of pixel positions, channels move together
            self.permutation = tf.constant(pixel_permutation(height * width, seed,
                                                             worker_index), tf.int32)
        if rand_proj:
            self.projection = tf.convert_to_tensor(glorot_uniform_projection(dim, seed,
                                                                             worker_index))
        self._area = None
        if self.resize and resize_method == "area":  # overlap weights [out, in] per axis
            source = tuple(4 * n for n in self.resize) if crop else dataset.shape[:2]
            self._area = [tf.constant(area_weights(n, m))
                          for n, m in zip(source, self.resize)]
        if crop:  # cropped digits are denser than the dataset's stats say: measure them
            sample = self._render(tf.cast(dataset.images[:_STATS_SAMPLE], tf.float32)
                                  / self.scale).numpy()
            self.mean, self.std = float(sample.mean()), float(sample.std())

    def _render(self, x: tf.Tensor) -> tf.Tensor:
        """Crop and resize of images [N, H, W, C] in [0, 1]."""
        if self.crop:  # crop at 4x the target, so that 'area' then averages blocks
            h, w = self.resize or x.shape[1:3]
            x = crop_to_content(x, (4 * h, 4 * w) if self.resize else (h, w))
        if self._area:
            x = tf.einsum("ir,nrsc,js->nijc", self._area[0], x, self._area[1])
        elif self.resize:
            x = tf.image.resize(x, self.resize, method="bilinear")
        return x

    def __call__(self, images: tf.Tensor) -> tf.Tensor:
        lead = tuple(images.shape[:-3])
        x = tf.cast(images, tf.float32) / self.scale
        x = self._render(tf.reshape(x, (-1,) + tuple(images.shape[-3:])))
        if self.normalize == "dataset_standard":
            x = (x - self.mean) / self.std
        elif self.normalize == "standard":
            x = tf.image.per_image_standardization(x)
        if self.pad_inputs:
            ph, pw, pc, top, left = self._pad
            h, w, c = x.shape[1:]
            x = tf.pad(x, [[0, 0], [top, ph - h - top], [left, pw - w - left], [0, pc - c]])
        if self.permutation is not None:
            h, w, c = x.shape[1:]
            x = tf.reshape(tf.gather(tf.reshape(x, (-1, h * w, c)), self.permutation,
                                     axis=1), (-1, h, w, c))
        if self.projection is not None:
            x = tf.reshape(tf.reshape(x, (-1, self.projection.shape[0])) @ self.projection,
                           (-1,) + self.output_shape)
        return tf.reshape(x, lead + self.output_shape)
