"""Test data: the shared real MNIST files, and writers of small files in each dataset's
official distribution format (written from the format specs, not with the readers)."""

import gzip
import hashlib
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shared_data_dir() -> str:
    """$VSML_DATA_DIR, default ../shared/data next to the repository."""
    return os.environ.get("VSML_DATA_DIR", os.path.join(ROOT, "..", "shared", "data"))


def require_shared_mnist() -> str:
    """The data dir holding mnist/ with SHA256SUMS verified, or skip the test."""
    data_dir = shared_data_dir()
    mnist = os.path.join(data_dir, "mnist")
    sums = os.path.join(mnist, "SHA256SUMS")
    if not os.path.exists(sums):
        pytest.skip(f"real MNIST files not found: no {sums} (set VSML_DATA_DIR to a "
                    f"directory holding mnist/ with the official files and SHA256SUMS)")
    for line in open(sums):
        digest, name = line.split()
        with open(os.path.join(mnist, name.lstrip("*")), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, f"{name}: checksum"
    return data_dir


def images_and_labels(n, shape, num_classes, seed=0):
    g = np.random.default_rng(seed)
    images = g.integers(0, 256, size=(n,) + shape, dtype=np.uint8)
    labels = np.arange(n) % num_classes
    g.shuffle(labels)
    return images, labels


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX: 0, 0, type 0x08 (ubyte), ndim; big-endian uint32 sizes; the values."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def write_idx_gz(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(gzip.compress(idx_bytes(array)))


def write_mnist_format(directory, split, images, labels, prefix=""):
    """MNIST / Fashion-MNIST names, or EMNIST's with prefix 'emnist-byclass-'."""
    if prefix:
        names = (f"{prefix}{split}-images-idx3-ubyte.gz", f"{prefix}{split}-labels-idx1-ubyte.gz")
    else:
        tag = "train" if split == "train" else "t10k"
        names = (f"{tag}-images-idx3-ubyte.gz", f"{tag}-labels-idx1-ubyte.gz")
    write_idx_gz(os.path.join(directory, names[0]), images[..., 0])
    write_idx_gz(os.path.join(directory, names[1]), labels.astype(np.uint8))


def write_kmnist(directory, split, images, labels):
    os.makedirs(directory, exist_ok=True)
    np.savez_compressed(os.path.join(directory, f"kmnist-{split}-imgs.npz"), images[..., 0])
    np.savez_compressed(os.path.join(directory, f"kmnist-{split}-labels.npz"), labels)


def write_cifar10(directory, split, images, labels):
    """Python pickles with b'data' [N, 3072] rows in channel-major order and b'labels'."""
    folder = os.path.join(directory, "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    for name, part in zip(names, np.array_split(np.arange(len(labels)), len(names))):
        rows = images[part].transpose(0, 3, 1, 2).reshape(len(part), -1)
        batch = {b"batch_label": name.encode(), b"labels": [int(l) for l in labels[part]],
                 b"data": rows, b"filenames": [b"x.png"] * len(part)}
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(batch, f, protocol=2)


def write_svhn(directory, split, images, labels):
    """MATLAB: X [32, 32, 3, N] uint8, y [N, 1] with the digit 0 labelled 10."""
    import scipy.io

    os.makedirs(directory, exist_ok=True)
    y = np.where(labels == 0, 10, labels).reshape(-1, 1).astype(np.uint8)
    scipy.io.savemat(os.path.join(directory, f"{split}_32x32.mat"),
                     {"X": images.transpose(1, 2, 3, 0), "y": y})


def write_omniglot(directory, split, characters, per_character, size=105, seed=0):
    """images_{background,evaluation}.zip: <root>/<alphabet>/<character>/<id>_<n>.png,
    binary PNGs. Returns {(alphabet, character): [images]}."""
    from PIL import Image

    os.makedirs(directory, exist_ok=True)
    root = "images_background" if split == "train" else "images_evaluation"
    g = np.random.default_rng(seed)
    written = {}
    with zipfile.ZipFile(os.path.join(directory, root + ".zip"), "w") as archive:
        for c in range(characters):
            alphabet, character = f"Alphabet_{c % 2}", f"character{c:02d}"
            written[(alphabet, character)] = []
            for k in range(per_character):
                pixels = g.random((size, size)) < 0.9          # mostly white background
                buffer = io.BytesIO()
                Image.fromarray(pixels).convert("1").save(buffer, format="PNG")
                archive.writestr(f"{root}/{alphabet}/{character}/{c:04d}_{k:02d}.png",
                                 buffer.getvalue())
                written[(alphabet, character)].append(pixels.astype(np.uint8) * 255)
    return written


# The image datasets the package reads from official files, besides MNIST.
OTHER_DATASETS = ("fashion_mnist", "kmnist", "emnist", "cifar10", "svhn_cropped", "omniglot")


def write_every_official_format(data_dir) -> list[str]:
    """Small train and test files of every dataset in OTHER_DATASETS under
    data_dir/NAME/ (28x28 with 10 or 62 classes, 32x32x3, Omniglot PNGs); their names."""
    from pathlib import Path

    data = Path(data_dir)
    for split in ("train", "test"):
        images, labels = images_and_labels(40, (28, 28, 1), 10, seed=1)
        write_mnist_format(data / "fashion_mnist", split, images, labels)
        write_kmnist(data / "kmnist", split, images, labels)
        images62, labels62 = images_and_labels(124, (28, 28, 1), 62, seed=2)
        write_mnist_format(data / "emnist", split, images62, labels62, "emnist-byclass-")
        images32, labels32 = images_and_labels(30, (32, 32, 3), 10, seed=3)
        write_cifar10(data / "cifar10", split, images32, labels32)
        write_svhn(data / "svhn_cropped", split, images32, labels32)
        write_omniglot(data / "omniglot", split, 6, 4)
    return list(OTHER_DATASETS)
