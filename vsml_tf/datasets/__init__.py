"""Dataset registry: name -> loader returning an in-memory `ArrayDataset`.

    load("mnist", "test", data_dir="/data")     # official files in /data/mnist/
    load("mnist", "test")                        # TFDS (downloads once)

Image sets (`images.IMAGE_SETS`) come from TFDS or the official files; `digits`, `random`,
`sum` and `clusters` ship with the package. A new dataset is one loader plus one line
here. Loads are cached per process, so the workers of one run share one copy of each
dataset.
"""

from __future__ import annotations

import difflib
import functools
from typing import Callable

from vsml_tf.core.errors import UserError
from vsml_tf.datasets import digits, images, preprocess, synthetic
from vsml_tf.datasets.base import ArrayDataset

# Built-in loaders take only the split; image sets also take the source options.
BUILTIN: dict[str, Callable[[str], ArrayDataset]] = {
    "digits": digits.load,
    "random": synthetic.random,
    "sum": synthetic.sum_sign,
    "clusters": synthetic.clusters,
}
LOADERS: dict[str, Callable[..., ArrayDataset]] = {
    **BUILTIN,
    **{name: functools.partial(images.load, name) for name in images.IMAGE_SETS},
}


def check_name(name: str) -> None:
    if name not in LOADERS:
        close = difflib.get_close_matches(name, LOADERS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UserError(f"Unknown dataset {name!r}.{hint} Registered: {sorted(LOADERS)}.")


def load(name: str, split: str, source: str = "auto", data_dir: str = "",
         tfds_data_dir: str = "", tfds_download: bool = True, stats: str = "paper",
         filter_classes=()) -> ArrayDataset:
    """`split` ('train' or 'test') of dataset `name`, held in memory. The result is cached
    and shared: treat it as read-only."""
    check_name(name)
    return _load(name, split, source, data_dir, tfds_data_dir, bool(tfds_download), stats,
                 preprocess.parse_classes(filter_classes))


@functools.lru_cache(maxsize=16)
def _load(name, split, source, data_dir, tfds_data_dir, tfds_download, stats, classes):
    if name in BUILTIN:
        dataset = BUILTIN[name](split)
    else:
        dataset = LOADERS[name](split, source=source, data_dir=data_dir,
                                tfds_data_dir=tfds_data_dir, tfds_download=tfds_download,
                                stats=stats)
    return preprocess.filter_classes(dataset, classes)



__all__ = ["ArrayDataset", "LOADERS", "load", "check_name"]
