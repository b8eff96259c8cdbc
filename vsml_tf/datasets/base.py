"""An in-memory labelled image set: the unit every data source produces.

Datasets of the paper are small enough (MNIST is 47 MB as uint8) to sit in memory, so
episodes are sampled by index inside the compiled meta-training step: no input pipeline
can starve the learner.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
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
            raise ValueError(f"{self.name}: images must be [N, H, W, C], got shape "
                             f"{self.images.shape}.")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{self.name}: {len(self.images)} images but "
                             f"{len(self.labels)} labels.")
        self.labels = self.labels.astype(np.int32)

    @property
    def shape(self) -> tuple:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.labels)
