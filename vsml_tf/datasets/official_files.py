"""Readers of the datasets' official distribution files, without any network.

`config.data.data_dir` holds one subdirectory per dataset with the files exactly as their
authors distribute them (paths may be local or gs://, read through tf.io.gfile):

    mnist/, fashion_mnist/   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
                             t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
    emnist/                  emnist-byclass-{train,test}-{images-idx3,labels-idx1}-ubyte.gz
                             (from gzip.zip; also found in emnist/gzip/)
    kmnist/                  kmnist-{train,test}-{imgs,labels}.npz
    cifar10/                 cifar-10-batches-py/{data_batch_1..5,test_batch}
    svhn_cropped/            train_32x32.mat  test_32x32.mat
    omniglot/                images_background.zip (train)  images_evaluation.zip (test)

Each reader returns (images uint8 [N, H, W, C], labels int [N]) for one split and opens
only that split's files. A missing or unreadable file raises `DatasetFileError` naming the
file expected and where it comes from. Images keep the orientation of the files, as TFDS
does (EMNIST's are transposed, as distributed).
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import posixpath
import zipfile
import zlib

import numpy as np
import tensorflow as tf

from vsml_tf.core.errors import MissingFileError, UserError


class DatasetFileError(MissingFileError):
    """An official dataset file is missing or unreadable."""


HOMEPAGES = {
    "mnist": "http://yann.lecun.com/exdb/mnist/ (mirror: "
             "https://storage.googleapis.com/cvdf-datasets/mnist/)",
    "fashion_mnist": "https://github.com/zalandoresearch/fashion-mnist (data/fashion/)",
    "emnist": "https://www.nist.gov/itl/products-and-services/emnist-dataset "
              "(gzip.zip, folder gzip/)",
    "kmnist": "https://github.com/rois-codh/kmnist (the 'NumPy format' files)",
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-python.tar.gz, "
               "extracted)",
    "svhn_cropped": "http://ufldl.stanford.edu/housenumbers/ (format 2, cropped digits)",
    "omniglot": "https://github.com/brendenlake/omniglot (python/images_background.zip, "
                "python/images_evaluation.zip)",
}

# The files each reader expects in DATA_DIR/<name>/, as named in error messages.
EXPECTED_FILES = {
    "mnist": "{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
    "fashion_mnist": "{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
    "emnist": "emnist-byclass-{train,test}-{images-idx3,labels-idx1}-ubyte.gz",
    "kmnist": "kmnist-{train,test}-{imgs,labels}.npz",
    "cifar10": "cifar-10-batches-py/{data_batch_1..5,test_batch}",
    "svhn_cropped": "{train,test}_32x32.mat",
    "omniglot": "images_background.zip, images_evaluation.zip",
}

SPLIT_NAMES = ("train", "test")


def _join(*parts: str) -> str:
    return posixpath.join(*parts) if parts[0].startswith("gs://") else os.path.join(*parts)


def _check_split(dataset: str, split: str) -> None:
    if split not in SPLIT_NAMES:
        raise UserError(f"{dataset} has splits 'train' and 'test', not {split!r}.")


def _missing(dataset: str, path: str, what: str = "") -> DatasetFileError:
    return DatasetFileError(
        f"{dataset}: expected {what or 'the official file'} {path}, not found. It comes "
        f"from {HOMEPAGES[dataset]}; put it there unchanged (or use "
        f"--config.data.source=tfds).")


def _corrupt(dataset: str, path: str, problem) -> DatasetFileError:
    return DatasetFileError(
        f"{dataset}: {path} is not a valid official file ({problem}). Download it again "
        f"from {HOMEPAGES[dataset]}.")


def _read_bytes(dataset: str, path: str, what: str = "") -> bytes:
    if not tf.io.gfile.exists(path):
        raise _missing(dataset, path, what)
    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read()


def _first_existing(dataset: str, candidates: list[str]) -> str:
    for path in candidates:
        if tf.io.gfile.exists(path):
            return path
    return candidates[0]


# -- IDX (MNIST, Fashion-MNIST, EMNIST) ---------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
               0x0E: ">f8"}


def read_idx(dataset: str, path: str) -> np.ndarray:
    """An IDX file, gzip-compressed as distributed: magic 0x0000TTDD, DD big-endian
    uint32 sizes, then the values."""
    raw = _read_bytes(dataset, path)
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise _corrupt(dataset, path, f"gzip: {e}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise _corrupt(dataset, path, "no IDX magic number")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _corrupt(dataset, path, "truncated header")
    shape = tuple(int(d) for d in np.frombuffer(data[4:header], ">u4"))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise _corrupt(dataset, path, f"header says {shape} ({expected} bytes of data), "
                                      f"file has {len(data) - header}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape)


def _idx_pair(dataset: str, images_path: str, labels_path: str):
    images = read_idx(dataset, images_path)
    labels = read_idx(dataset, labels_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise _corrupt(dataset, images_path if images.ndim != 3 else labels_path,
                       f"expected images [N, H, W] and labels [N], got {images.shape} and "
                       f"{labels.shape}")
    if len(images) != len(labels):
        raise _corrupt(dataset, labels_path, f"{len(labels)} labels for {len(images)} "
                                             f"images in {images_path}")
    return images[..., None], labels.astype(np.int64)


def mnist_format(dataset: str, directory: str, split: str):
    """MNIST and Fashion-MNIST: the same four file names."""
    _check_split(dataset, split)
    prefix = "train" if split == "train" else "t10k"
    return _idx_pair(dataset, _join(directory, f"{prefix}-images-idx3-ubyte.gz"),
                     _join(directory, f"{prefix}-labels-idx1-ubyte.gz"))


def emnist(directory: str, split: str, subset: str = "byclass"):
    _check_split("emnist", split)
    paths = []
    for kind in ("images-idx3", "labels-idx1"):
        name = f"emnist-{subset}-{split}-{kind}-ubyte.gz"
        paths.append(_first_existing("emnist", [_join(directory, name),
                                                _join(directory, "gzip", name)]))
    return _idx_pair("emnist", *paths)


# -- KMNIST (npz) -------------------------------------------------------------------------

def _npz_array(dataset: str, path: str) -> np.ndarray:
    raw = _read_bytes(dataset, path)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return npz["arr_0"]
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as e:
        raise _corrupt(dataset, path, f"npz with array 'arr_0': {e}") from None


def kmnist(directory: str, split: str):
    _check_split("kmnist", split)
    images_path = _join(directory, f"kmnist-{split}-imgs.npz")
    labels_path = _join(directory, f"kmnist-{split}-labels.npz")
    images, labels = _npz_array("kmnist", images_path), _npz_array("kmnist", labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise _corrupt("kmnist", images_path, f"expected images [N, 28, 28] and labels [N], "
                                              f"got {images.shape} and {labels.shape}")
    return images.astype(np.uint8)[..., None], labels.astype(np.int64)


# -- CIFAR-10 (python pickles) ------------------------------------------------------------

CIFAR_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def cifar10(directory: str, split: str):
    _check_split("cifar10", split)
    images, labels = [], []
    for name in CIFAR_BATCHES[split]:
        path = _join(directory, "cifar-10-batches-py", name)
        raw = _read_bytes("cifar10", path)
        try:
            batch = pickle.loads(raw, encoding="bytes")
            data = np.asarray(batch[b"data"], np.uint8)
            batch_labels = np.asarray(batch[b"labels"], np.int64)
        except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as e:
            raise _corrupt("cifar10", path, f"pickled dict with b'data', b'labels': "
                                            f"{type(e).__name__}: {e}") from None
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(batch_labels):
            raise _corrupt("cifar10", path, f"data {data.shape}, labels "
                                            f"{batch_labels.shape}; expected [N, 3072], [N]")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))  # rows are CHW
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)


# -- SVHN (MATLAB) ------------------------------------------------------------------------

def svhn_cropped(directory: str, split: str):
    import scipy.io

    _check_split("svhn_cropped", split)
    path = _join(directory, f"{split}_32x32.mat")
    raw = _read_bytes("svhn_cropped", path)
    try:
        mat = scipy.io.loadmat(io.BytesIO(raw), variable_names=["X", "y"])
        images, labels = mat["X"], mat["y"]
    except (ValueError, TypeError, KeyError, OSError, NotImplementedError) as e:
        raise _corrupt("svhn_cropped", path, f"MATLAB file with X [32, 32, 3, N] and y: "
                                             f"{type(e).__name__}: {e}") from None
    labels = labels.reshape(-1).astype(np.int64)
    if images.shape[:3] != (32, 32, 3) or images.shape[3] != len(labels):
        raise _corrupt("svhn_cropped", path, f"X {images.shape}, y {labels.shape}")
    labels[labels == 10] = 0  # the files label the digit 0 as 10; TFDS maps it to 0
    return np.ascontiguousarray(images.transpose(3, 0, 1, 2), dtype=np.uint8), labels


# -- Omniglot (zips of PNGs) --------------------------------------------------------------

OMNIGLOT_ZIPS = {"train": "images_background", "test": "images_evaluation"}


def omniglot(directory: str, split: str):
    """One class per character (alphabet/character folder), numbered 0..k-1 in sorted
    order; images 105x105 binary, stored as 0/255 uint8 (white background 255)."""
    from PIL import Image

    _check_split("omniglot", split)
    path = _join(directory, OMNIGLOT_ZIPS[split] + ".zip")
    raw = _read_bytes("omniglot", path)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        names = sorted(n for n in archive.namelist() if n.lower().endswith(".png"))
        if not names:
            raise UserError("no PNG images inside")
        characters = sorted({posixpath.dirname(n) for n in names})
        index = {c: i for i, c in enumerate(characters)}
        images = np.stack([np.asarray(Image.open(io.BytesIO(archive.read(n))).convert("L"),
                                      np.uint8) for n in names])
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise _corrupt("omniglot", path, f"zip of alphabet/character/*.png: "
                                         f"{type(e).__name__}: {e}") from None
    labels = np.array([index[posixpath.dirname(n)] for n in names], np.int64)
    return images[..., None], labels
