"""An in-memory labelled image set: the unit every data source produces.

Datasets of the paper are small enough (MNIST is 47 MB as uint8) to sit in memory, so
episodes are sampled by index inside the compiled meta-training step: no input pipeline
can starve the learner.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from vsml_tf.core.errors import UserError


@dataclasses.dataclass(eq=False)
class ArrayDataset:
    name: str
    images: np.ndarray        # [N, H, W, C], raw values (uint8 or float)
    labels: np.ndarray        # [N] int
    num_classes: int
    scale: float = 255.0      # raw value that maps to 1.0
    mean: float = 0.0         # normalization stats of pixels scaled to [0, 1]
    std: float = 1.0

    def __post_init__(self):
        if self.images.ndim != 4:
            raise UserError(f"{self.name}: images must be [N, H, W, C], got shape "
                            f"{self.images.shape}.")
        if len(self.images) != len(self.labels):
            raise UserError(f"{self.name}: {len(self.images)} images but "
                            f"{len(self.labels)} labels.")
        if len(self.labels) == 0:
            raise UserError(f"{self.name}: no examples.")
        self.labels = self.labels.astype(np.int32)
        if self.labels.min() < 0 or self.labels.max() >= self.num_classes:
            raise UserError(f"{self.name}: labels must lie in 0..{self.num_classes - 1}, "
                            f"found {self.labels.min()}..{self.labels.max()}.")
        self._tensors = None

    @property
    def shape(self) -> tuple:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.labels)

    def tensors(self) -> tuple[tf.Tensor, tf.Tensor]:
        """(images, labels) as tensors, made once: every sampler of this dataset (one per
        worker variant) shares them, and a compiled step captures them as inputs rather
        than embedding them as graph constants."""
        if self._tensors is None:
            with tf.init_scope():  # eager constants, even when first asked while tracing
                self._tensors = (tf.convert_to_tensor(self.images),
                                 tf.convert_to_tensor(self.labels))
        return self._tensors
