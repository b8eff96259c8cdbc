"""The commands with real data: worker_split overrides on the command line, and
`vsml-evaluate` meta-testing a learner trained on 8x8 digits on 28x28 MNIST."""

import csv
import json
import os

from official_format import require_shared_mnist
from test_cli import TESTING, cli


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
