"""`vsml-evaluate` (apps/evaluate.py): meta-testing a learner trained on 8x8 digits (with
worker_split overrides) on 28x28 MNIST, a shipped learner on every dataset from official
files, online SGD without a checkpoint, comparisons of learners on the same episodes, and
its errors."""

import csv
import json
import os

import numpy as np
import pytest
from baseline_configs import tiny_config
from checkout import TESTING, cli
from official_format import require_shared_mnist

from vsml_tf.apps import evaluate
from vsml_tf.apps.train import train
from vsml_tf.runs import workdir as workdir_lib


@pytest.mark.slow
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


@pytest.mark.slow
def test_shipped_learner_meta_tests_every_dataset_from_official_files(tmp_path):
    """The results command for users who have the files: `vsml-evaluate --pretrained`
    with `data.data_dir` (the shipped learner's own run had another one) reads
    Fashion-MNIST, KMNIST, EMNIST and CIFAR-10 in their official formats and meta-tests
    at native size (784, 784, 784 and 3,072 inputs; 10, 10, 62, 10 classes)."""
    from official_format import write_every_official_format

    data = tmp_path / "data"
    write_every_official_format(data)
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


@pytest.mark.slow
def test_evaluate_without_checkpoint_says_what_to_do(tmp_path):
    result = cli("evaluate", f"--config={TESTING}", f"--workdir={tmp_path}")
    assert result.returncode != 0
    assert "run vsml-train" in result.stderr.strip().splitlines()[-1]


def test_online_sgd_learns_and_draws_fresh_weights_per_episode(tmp_path):
    """vsml-evaluate runs it without a checkpoint; every episode starts from new weights."""
    config = tiny_config("sgd", evaluation__num_episodes=8, evaluation__chunk=4,
                         evaluation__episode_length=150)
    config.baselines.sgd.learning_rate = 0.05
    results = evaluate.evaluate(config, str(tmp_path))
    acc, loss = results[0]["accuracy"], results[0]["loss"]
    assert acc[:, -50:].mean() > acc[:, :10].mean() + 0.3  # it learns within the episode
    assert len({round(float(l), 5) for l in loss[:, 0]}) == 8  # different initial weights


@pytest.mark.slow
def test_compare_learners_on_the_same_episodes(tmp_path):
    runs = {}
    for learner in ("hebbian", "fwp"):
        runs[learner] = str(tmp_path / learner)
        train(tiny_config(learner, evaluation__every=0), runs[learner])
    config = tiny_config("sgd", evaluation__num_episodes=3, evaluation__chunk=2)
    config.seed = 5
    config.evaluation.compare = (f"hebb={runs['hebbian']},fwp={runs['fwp']},"
                                 f"again={runs['hebbian']},sgd")
    out = str(tmp_path / "compare")
    results = evaluate.evaluate(config, out)
    assert [r["learner"] for r in results] == ["hebb", "fwp", "again", "sgd"]
    rows = list(csv.DictReader(open(os.path.join(out, "eval", "curves.csv"))))
    assert len(rows) == 4 * 3 * 12
    assert {r["learner"] for r in rows} == {"hebb", "fwp", "again", "sgd"}
    # The same run under two labels: the same episodes (seed 5, not the runs' seed 0).
    np.testing.assert_array_equal(results[0]["loss"], results[2]["loss"])
    alone = evaluate.evaluate(tiny_config("hebbian", evaluation__num_episodes=3,
                                          evaluation__chunk=2), runs["hebbian"])
    assert not np.array_equal(alone[0]["loss"], results[0]["loss"])
    config.seed = 0
    config.evaluation.compare = f"hebb={runs['hebbian']}"
    seed0 = evaluate.evaluate(config, out)
    np.testing.assert_array_equal(seed0[0]["loss"], alone[0]["loss"])
    with open(os.path.join(out, "eval", "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("compare,message", [
    ("metarnn", "has .* meta-parameters; name its trained run as metarnn=WORKDIR"),
    ("a=sgd,a=sgd", "labels must be unique"),
    ("x=/no/such/dir", "neither a directory, nor a shipped learner .*, nor a registered"),
])
def test_compare_entry_errors(tmp_path, compare, message):
    config = tiny_config("sgd", evaluation__compare=compare)
    with pytest.raises(ValueError, match=message):
        evaluate.evaluate(config, str(tmp_path))
    assert not os.path.exists(tmp_path / "eval")  # checked before any meta-test


def test_compare_entry_needs_a_run_directory(tmp_path):
    config = tiny_config("sgd", evaluation__compare=f"x={tmp_path}")
    with pytest.raises(FileNotFoundError, match="No config.json"):
        evaluate.evaluate(config, str(tmp_path))
