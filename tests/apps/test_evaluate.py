"""The commands with real data: worker_split overrides on the command line, and
`vsml-evaluate` meta-testing a learner trained on 8x8 digits on 28x28 MNIST."""

import csv
import json
import os

from official_format import require_shared_mnist
from test_cli import TESTING, cli

from vsml_tf.runs import workdir as workdir_lib


def test_train_with_worker_splits_then_meta_test_on_mnist_at_native_size(tmp_path):
    data_dir = require_shared_mnist()
    workdir = str(tmp_path / "run")
    result = cli("train", f"--config={TESTING}", f"--workdir={workdir}",
                 "--config.logging.wandb.enabled=False",
                 "--config.data.rand_proj=worker_split([False, True])",
                 '--config.data.dataset=worker_split(["digits"])')
    assert result.returncode == 0, result.stderr[-3000:]
    saved = json.load(open(os.path.join(workdir, "config.json")))["data"]
    assert saved["rand_proj"] == "worker_split([False, True])"
    assert saved["dataset"] == 'worker_split(["digits"])'
    from vsml_tf.runs import per_worker  # config.json reads back as the run's splits

    reread = workdir_lib.read_config(workdir)
    assert [per_worker.for_worker(reread, w).data.rand_proj for w in (0, 1)] == [False, True]

    result = cli("evaluate", f"--config={TESTING}", f"--workdir={workdir}",
                 f"--config.data.data_dir={data_dir}", "--config.evaluation.datasets=mnist,sum")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader(open(os.path.join(workdir, "eval", "curves.csv"))))
    assert {r["dataset"] for r in rows} == {"mnist", "sum"}
    assert len([r for r in rows if r["dataset"] == "mnist"]) == 3 * 12
    assert "mnist" in result.stdout

    result = cli("evaluate", f"--config={TESTING}", f"--workdir={workdir}",
                 f"--config.data.data_dir={data_dir}", "--config.data.source=files",
                 "--config.evaluation.datasets=fashion_mnist")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: fashion_mnist: expected") and \
        "fashion_mnist/t10k-images-idx3-ubyte.gz" in last and "zalandoresearch" in last


def test_bad_worker_split_override_is_a_one_line_error(tmp_path):
    result = cli("train", f"--config={TESTING}", f"--workdir={tmp_path}",
                 "--config.data.rand_proj=worker_split([False, 'yes'])")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("error: data.rand_proj=worker_split([False, \"yes\"]): option 'yes' is a "
                    "str, the field is a bool.")


def test_shipped_learner_meta_tests_every_dataset_from_official_files(tmp_path):
    """The results command for users who have the files: `vsml-evaluate --pretrained`
    with `data.data_dir` (the shipped learner's own run had another one) reads
    Fashion-MNIST, KMNIST, EMNIST and CIFAR-10 in their official formats and meta-tests
    at native size (784, 784, 784 and 3,072 inputs; 10, 10, 62, 10 classes)."""
    from official_format import (
        images_and_labels,
        write_cifar10,
        write_kmnist,
        write_mnist_format,
    )

    data = tmp_path / "data"
    for split in ("train", "test"):
        images, labels = images_and_labels(40, (28, 28, 1), 10, seed=1)
        write_mnist_format(data / "fashion_mnist", split, images, labels)
        write_kmnist(data / "kmnist", split, images, labels)
        images62, labels62 = images_and_labels(124, (28, 28, 1), 62, seed=2)
        write_mnist_format(data / "emnist", split, images62, labels62, "emnist-byclass-")
        images32, labels32 = images_and_labels(30, (32, 32, 3), 10, seed=3)
        write_cifar10(data / "cifar10", split, images32, labels32)
    out = tmp_path / "out"
    names = ["fashion_mnist", "kmnist", "emnist", "cifar10"]
    result = cli("evaluate", "--pretrained=quickstart_digits", f"--workdir={out}",
                 f"--config.data.data_dir={data}", "--config.data.source=files",
                 f"--config.evaluation.datasets={','.join(names)}",
                 "--config.evaluation.preprocessing=none",
                 "--config.evaluation.episode_length=12",
                 "--config.evaluation.num_episodes=2", "--config.evaluation.chunk=2")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader(open(os.path.join(out, "eval", "curves.csv"))))
    assert [len([r for r in rows if r["dataset"] == n]) for n in names] == [24] * 4
