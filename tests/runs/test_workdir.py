"""One run per workdir: a rerun with a config that changes what the checkpoints mean
stops before touching anything; a second process is locked out (issue 17, 5-7)."""

import json
import os
import subprocess
import sys

import pytest
from checkout import ROOT, TESTING, small_config

from vsml_tf.apps.train import train
from vsml_tf.runs import workdir as workdir_lib

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT,
       "WANDB_MODE": "offline"}


def cli(*args):
    return subprocess.run([sys.executable, "-m", "vsml_tf.apps.train", f"--config={TESTING}",
                           "--config.logging.wandb.enabled=False",
                           "--config.evaluation.every=0", *args],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("wd") / "run")
    train(small_config(training__num_iterations=2), workdir)
    workdir_lib.release(workdir)  # as when that process ends
    return workdir


def test_meaning_changing_keys_are_listed_and_others_ignored():
    recorded = workdir_lib.as_json(small_config())
    new = small_config(training__algorithm="gradient", model__layers="dense32,dense",
                       training__num_iterations=99, evaluation__every=5,
                       checkpoint__every=7, logging__summary_every=3, es__sigma=0.1,
                       data__data_dir="/elsewhere")
    new.seed = 3
    assert [k for k, _, _ in workdir_lib.differences(recorded, new)] == \
        ["model.layers", "seed", "training.algorithm"]
    del recorded["model"]["layer_norm"]  # a config.json of an older version: the default
    assert workdir_lib.differences(recorded, small_config()) == []


@pytest.mark.slow
def test_rerun_with_another_learner_stops_and_keeps_config_json(trained):
    before = open(os.path.join(trained, "config.json")).read()
    result = cli(f"--workdir={trained}", "--config.learner=hebbian", "--config.seed=1")
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "learner: 'vsml' -> 'hebbian'" in last
    assert "seed: 0 -> 1" in last and "--allow_config_change" in last
    assert "Traceback" not in result.stderr
    assert open(os.path.join(trained, "config.json")).read() == before


@pytest.mark.slow
def test_allow_config_change_continues_on_purpose(trained, tmp_path):
    import shutil

    workdir = str(tmp_path / "run")
    shutil.copytree(trained, workdir)
    changed = small_config(training__num_iterations=3)
    changed.seed = 5
    with pytest.raises(workdir_lib.WorkdirError, match="seed: 0 -> 5"):
        train(changed, workdir)
    trainer, _ = train(changed, workdir, allow_config_change=True)
    assert int(trainer.iteration.numpy()) == 3
    assert json.load(open(os.path.join(workdir, "config.json")))["seed"] == 5


@pytest.mark.slow
def test_second_process_on_a_workdir_is_locked_out(tmp_path):
    workdir = str(tmp_path / "run")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import os, time; from vsml_tf.runs import workdir; "
         f"os.makedirs({workdir!r}); workdir._lock({workdir!r}); "
         f"print('locked', flush=True); time.sleep(300)"],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = cli(f"--workdir={workdir}")
        assert result.returncode == 2, result.stderr[-3000:]
        last = result.stderr.strip().splitlines()[-1]
        assert f"in use by another vsml-train (PID {holder.pid}" in last
        assert not os.path.exists(os.path.join(workdir, "config.json"))
        assert not os.path.exists(os.path.join(workdir, "checkpoints"))
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its process: the workdir is free again.
    workdir_lib._lock(workdir)
    workdir_lib.release(workdir)


def test_unwritable_checkpoints_are_found_before_training(tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "checkpoints").write_text("a file where the checkpoints go")
    with pytest.raises(workdir_lib.WorkdirError, match="checkpoints is a file"):
        workdir_lib.check(small_config(), str(workdir))
    if os.geteuid() != 0:  # root may write anywhere: the file case above stands in
        readonly = tmp_path / "readonly"
        readonly.mkdir(mode=0o555)
        with pytest.raises(workdir_lib.WorkdirError, match="not writable"):
            workdir_lib.check(small_config(), str(readonly / "run"))
