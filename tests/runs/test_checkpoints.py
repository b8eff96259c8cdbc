"""Damaged checkpoints and state files: restore falls back to the newest checkpoint that
reads back, rebuilds the state file, and never restarts silently from iteration 0."""

import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from checkout import ROOT, TESTING, small_config

from vsml_tf.apps.train import train
from vsml_tf.runs import builder, checkpoints

THETA = "meta_params/.ATTRIBUTES/VARIABLE_VALUE"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 4-iteration run: ckpt-2 and ckpt-4."""
    workdir = str(tmp_path_factory.mktemp("trained") / "run")
    train(small_config(), workdir)
    folder = checkpoints.directory(workdir)
    assert [n for n, _ in checkpoints.on_disk(folder)] == [4, 2]
    return workdir


def copy_of(trained, tmp_path):
    workdir = str(tmp_path / "run")
    shutil.copytree(trained, workdir)
    return workdir


def flip_byte(path):
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))


def truncate(path):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])


DATA = "ckpt-{}.data-00000-of-00001"
DAMAGE = {  # name: (damage(folder), checkpoint expected to be restored)
    "state_deleted": (lambda d: os.remove(os.path.join(d, "checkpoint")), 4),
    "state_garbage": (lambda d: open(os.path.join(d, "checkpoint"), "w").write("{{{x"), 4),
    "state_truncated": (lambda d: open(os.path.join(d, "checkpoint"), "w").write(
        'model_checkpoint_path: "ck'), 4),
    "data_truncated": (lambda d: truncate(os.path.join(d, DATA.format(4))), 2),
    "data_flipped": (lambda d: flip_byte(os.path.join(d, DATA.format(4))), 2),
    "index_truncated": (lambda d: truncate(os.path.join(d, "ckpt-4.index")), 2),
    "index_empty": (lambda d: open(os.path.join(d, "ckpt-4.index"), "w").close(), 2),
    "data_deleted": (lambda d: os.remove(os.path.join(d, DATA.format(4))), 2),
    "index_deleted": (lambda d: os.remove(os.path.join(d, "ckpt-4.index")), 2),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_restore_takes_the_newest_checkpoint_that_reads_back(trained, tmp_path, caplog,
                                                             damage):
    workdir = copy_of(trained, tmp_path)
    folder = checkpoints.directory(workdir)
    damage_fn, expected = DAMAGE[damage]
    want = tf.train.load_variable(os.path.join(trained, "checkpoints", f"ckpt-{expected}"),
                                  THETA)
    damage_fn(folder)

    trainer = builder.build_trainer(small_config())
    manager = checkpoints.manager(trainer.checkpoint_items(), workdir)
    with caplog.at_level(logging.WARNING):
        restored = manager.restore_or_initialize()
    assert restored.endswith(f"ckpt-{expected}")
    assert int(trainer.iteration.numpy()) == expected
    np.testing.assert_array_equal(trainer.theta.numpy(), want)  # bit for bit
    warned = " ".join(r.getMessage() for r in caplog.records)
    if expected == 2:
        assert "Skipping damaged checkpoint" in warned and "ckpt-4" in warned
    else:
        assert "rebuilt from the checkpoint files on disk" in warned
    # The state file now names what was restored, as TensorFlow's own tools read it.
    assert tf.train.latest_checkpoint(folder).endswith(f"ckpt-{expected}")


@pytest.mark.slow
def test_resume_past_a_damaged_checkpoint_equals_the_uninterrupted_run(trained, tmp_path):
    workdir = copy_of(trained, tmp_path)
    folder = checkpoints.directory(workdir)
    flip_byte(os.path.join(folder, DATA.format(4)))
    trainer, _ = train(small_config(), workdir)  # resumes from ckpt-2, redoes 3 and 4
    np.testing.assert_array_equal(
        trainer.theta.numpy(), tf.train.load_variable(os.path.join(trained, "checkpoints",
                                                                   "ckpt-4"), THETA))
    assert checkpoints.problem(os.path.join(folder, "ckpt-4")) is None  # rewritten whole


def test_every_checkpoint_damaged_is_an_error_not_a_restart(trained, tmp_path):
    workdir = copy_of(trained, tmp_path)
    folder = checkpoints.directory(workdir)
    for n in (2, 4):
        truncate(os.path.join(folder, DATA.format(n)))
    trainer = builder.build_trainer(small_config())
    manager = checkpoints.manager(trainer.checkpoint_items(), workdir)
    with pytest.raises(ValueError, match="No usable checkpoint .*ckpt-4: .*ckpt-2: "):
        manager.restore_or_initialize()


@pytest.mark.slow
def test_rotation_keeps_max_to_keep_checkpoints_and_lists_them(tmp_path):
    workdir = str(tmp_path / "run")
    train(small_config(checkpoint__every=1, checkpoint__max_to_keep=2), workdir)
    folder = checkpoints.directory(workdir)
    assert [n for n, _ in checkpoints.on_disk(folder)] == [4, 3]
    state = tf.train.get_checkpoint_state(folder)
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == \
        ["ckpt-3", "ckpt-4"]


@pytest.mark.slow
def test_evaluate_falls_back_and_finds_checkpoints_without_a_state_file(trained, tmp_path):
    workdir = copy_of(trained, tmp_path)
    folder = checkpoints.directory(workdir)
    os.remove(os.path.join(folder, "checkpoint"))
    truncate(os.path.join(folder, DATA.format(4)))
    env = {**os.environ, "WANDB_MODE": "offline", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": ROOT}
    result = subprocess.run(
        [sys.executable, "-m", "vsml_tf.apps.evaluate", f"--config={TESTING}",
         f"--workdir={workdir}", "--config.evaluation.num_episodes=2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Skipping damaged checkpoint" in result.stderr and "ckpt-4" in result.stderr
    assert "Meta-testing" in result.stderr and "ckpt-2" in result.stderr
