"""The paper's image datasets: one `ImageSet` entry each, loadable from TFDS or from the
official files (see `official_files.py`).

Normalization statistics are the paper's (mean / std of pixels scaled to [0, 1]); the
paper reused MNIST's for Fashion-MNIST, so `stats='true'` offers its own as well.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import numpy as np
import tensorflow as tf

from vsml_tf.core.errors import UserError
from vsml_tf.datasets import official_files, tfds_source
from vsml_tf.datasets.base import ArrayDataset

SOURCES = ("auto", "files", "tfds")
STATS = ("paper", "true")  # normalization statistics: the paper's, or the dataset's own


@dataclasses.dataclass(frozen=True)
class ImageSet:
    name: str
    tfds_name: str
    read_files: Callable[[str, str], tuple]   # (directory, split) -> (images, labels)
    mean: float
    std: float
    num_classes: int | None = None            # None: as many as the split has
    true_stats: tuple[float, float] | None = None
    grayscale_from_rgb: bool = False          # TFDS stores it as RGB copies


IMAGE_SETS = {s.name: s for s in [
    ImageSet("mnist", "mnist", functools.partial(official_files.mnist_format, "mnist"),
             0.1307, 0.3081, 10),
    ImageSet("fashion_mnist", "fashion_mnist",
             functools.partial(official_files.mnist_format, "fashion_mnist"),
             0.1307, 0.3081, 10, true_stats=(0.2860, 0.3530)),
    ImageSet("kmnist", "kmnist", official_files.kmnist, 0.1918, 0.3483, 10),
    ImageSet("emnist", "emnist/byclass", official_files.emnist, 0.1739, 0.3319, 62),
    ImageSet("cifar10", "cifar10", official_files.cifar10, 0.4734, 0.2516, 10),
    ImageSet("svhn_cropped", "svhn_cropped", official_files.svhn_cropped, 0.4514, 0.1993,
             10),
    ImageSet("omniglot", "omniglot", official_files.omniglot, 0.9221, 0.2681,
             grayscale_from_rgb=True),
]}


def resolve_source(name: str, source: str, data_dir: str) -> str:
    """'files' or 'tfds' for `source` ('auto': the files when data_dir/<name>/ exists;
    else TFDS, without downloads when data_dir is set)."""
    if source not in SOURCES:
        raise UserError(f"data.source={source!r}: use one of {SOURCES}.")
    if source == "files" and not data_dir:
        raise UserError(f"{name}: data.source='files' needs --config.data.data_dir=DIR "
                        f"with DIR/{name}/ holding the official files.")
    if source == "auto":
        found = data_dir and tf.io.gfile.isdir(official_files._join(data_dir, name))
        return "files" if found else "tfds"
    return source


def load(name: str, split: str, source: str = "auto", data_dir: str = "",
         tfds_data_dir: str = "", tfds_download: bool = True,
         stats: str = "paper") -> ArrayDataset:
    spec = IMAGE_SETS[name]
    kind = resolve_source(name, source, data_dir)
    if kind == "files":
        images, labels = spec.read_files(official_files._join(data_dir, name), split)
    else:
        # 'auto' with a data_dir: the user keeps data offline, so TFDS may only read what
        # it has prepared, never download (that would retry for minutes without network).
        offline = source == "auto" and bool(data_dir)
        try:
            images, labels = tfds_source.load(spec.tfds_name, split, tfds_data_dir,
                                              tfds_download and not offline)
        except tfds_source.TFDSError as e:
            if offline:  # 'auto' looked for the files first: say so
                raise tfds_source.TFDSError(
                    f"{name}: no {official_files._join(data_dir, name)}/ with the official "
                    f"files ({official_files.EXPECTED_FILES[name]}, from "
                    f"{official_files.HOMEPAGES[name]}); TFDS has no prepared copy either "
                    f"and does not download while data.data_dir is set "
                    f"(--config.data.source=tfds lets it). TFDS said: {e}") from None
            raise
    if spec.grayscale_from_rgb and images.shape[-1] == 3:
        images = images[..., :1]
    num_classes = spec.num_classes
    if num_classes is None:  # e.g. Omniglot: classes of this split, numbered 0..k-1
        _, labels = np.unique(labels, return_inverse=True)
        num_classes = int(labels.max()) + 1
    if stats not in STATS:
        raise UserError(f"data.stats={stats!r}: use 'paper' or 'true'.")
    mean, std = (spec.true_stats if stats == "true" and spec.true_stats
                 else (spec.mean, spec.std))
    return ArrayDataset(name, images, labels, num_classes, scale=255.0, mean=mean, std=std)
