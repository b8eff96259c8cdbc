"""Dataset registry: name -> loader returning an in-memory `ArrayDataset`.

A new dataset is one module with `load(split, **options)` plus one line here.
"""

from __future__ import annotations

import difflib
from typing import Callable

from vsml_tf.datasets import digits
from vsml_tf.datasets.base import ArrayDataset

LOADERS: dict[str, Callable[..., ArrayDataset]] = {
    "digits": digits.load,
}


def load(name: str, split: str, **options) -> ArrayDataset:
    if name not in LOADERS:
        close = difflib.get_close_matches(name, LOADERS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown dataset {name!r}.{hint} Registered: {sorted(LOADERS)}.")
    return LOADERS[name](split, **options)


__all__ = ["ArrayDataset", "LOADERS", "load"]
