"""Load a whole split from TensorFlow Datasets into memory.

`data_dir` is TFDS's own (default ~/tensorflow_datasets or $TFDS_DATA_DIR); gs:// paths
work as on TPU VMs. With `download=True` TFDS downloads and prepares a dataset it does
not have yet (network needed once).
"""

from __future__ import annotations

import numpy as np

from vsml_tf.core.errors import MissingFileError


class TFDSError(MissingFileError):
    """TFDS could not provide the dataset (the commands report it in one line, like a
    missing file)."""


def load(tfds_name: str, split: str, data_dir: str = "", download: bool = True):
    """(images uint8 [N, H, W, C], labels int64 [N]) of `split`."""
    import tensorflow_datasets as tfds

    try:
        images, labels = tfds.as_numpy(tfds.load(
            tfds_name, split=split, data_dir=data_dir or None, batch_size=-1,
            as_supervised=True, download=download))
    except Exception as e:  # TFDS raises many types: network, missing data, bad split
        how = ("download it with network access" if download else
               "prepare it (tfds build) or set --config.data.tfds_download=True")
        raise TFDSError(f"TFDS could not load {tfds_name!r} split {split!r} from "
                        f"{data_dir or 'its default data_dir'}: {type(e).__name__}: "
                        f"{' '.join(str(e).split())[:500]}. Either {how}, or point "
                        f"--config.data.data_dir at the official files.") from None
    return np.asarray(images), np.asarray(labels).astype(np.int64)
