"""SIGTERM / SIGINT at any phase: cloning and meta-training save what a rerun resumes from
and exit 0, a meta-test exits 0 at once, a second signal stops the process at once."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from checkout import ROOT

from configs import testing
from vsml_tf.apps.interrupts import Interrupted, StopRequest
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.runs import builder, presets

TESTING = os.path.join(ROOT, "configs", "testing.py")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "WANDB_MODE": "offline"}


def clone_config(iterations):
    config = testing.get_config("es")
    config.update_from_flattened_dict(presets.CLONE_NETWORK)
    config.clone.iterations, config.clone.pool_size = iterations, 64
    return config


def cloned_theta(config, workdir=None, should_stop=lambda: False):
    network, _ = builder.build_learner(config)
    _, done, stopped = builder.clone(config, network, log=lambda line: None,
                                     workdir=workdir, should_stop=should_stop)
    return np.asarray(ParamLayout(network).from_network()), done, stopped


@pytest.mark.slow
def test_interrupted_cloning_resumes_bit_for_bit(tmp_path):
    config = clone_config(6)
    whole, done, stopped = cloned_theta(config)
    assert (done, stopped) == (6, False)
    calls = []

    def stop_after_two():
        calls.append(1)
        return len(calls) > 2

    workdir = str(tmp_path / "run")
    _, done, stopped = cloned_theta(config, workdir, stop_after_two)
    assert (done, stopped) == (2, True)
    resumed, done, stopped = cloned_theta(config, workdir)  # a fresh network, restored
    assert (done, stopped) == (6, False)
    np.testing.assert_array_equal(resumed, whole)


def test_first_signal_sets_the_flag_and_a_raising_phase_leaves_at_once():
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        assert stop.requested
    with pytest.raises(Interrupted):
        with StopRequest("the meta-test", raise_at_once=True):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def _train(workdir, *overrides):
    return subprocess.Popen(
        [sys.executable, "-m", "vsml_tf.apps.train", f"--config={TESTING}",
         f"--workdir={workdir}", "--config.evaluation.every=0",
         "--config.logging.wandb.enabled=False", "--config.logging.progress_bar=False",
         *overrides],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(proc, text, seconds=300):
    deadline, seen = time.time() + seconds, []
    for line in proc.stdout:
        seen.append(line)
        if text in line or time.time() > deadline:
            return "".join(seen)
    return "".join(seen)


CLONING = ["--config.training.init_from=clone", "--config.model.backward_pass=True",
           "--config.model.separate_backward_rnn=True", "--config.model.output_idx=0",
           "--config.clone.pool_size=64"]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_cloning_saves_exits_zero_and_the_rerun_resumes(tmp_path, sig):
    workdir = str(tmp_path / "run")
    proc = _train(workdir, *CLONING, "--config.clone.iterations=100000",
                  "--config.training.num_iterations=2")
    seen = _wait_for(proc, "clone     0")
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, (seen + output)[-3000:]
    assert "Re-run the same command to resume" in output
    saved = tf.train.latest_checkpoint(os.path.join(workdir, builder.CLONE_CHECKPOINTS))
    stopped_at = int(saved.rsplit("-", 1)[1])
    assert 1 <= stopped_at < 100000
    assert not os.path.isdir(os.path.join(workdir, "checkpoints"))  # meta-training not begun

    rerun = _train(workdir, *CLONING, f"--config.clone.iterations={stopped_at + 2}",
                   "--config.training.num_iterations=2")
    output, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, output[-3000:]
    assert f"clone: resumed at iteration {stopped_at}" in output
    assert tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")).endswith("-2")


@pytest.mark.slow
def test_signal_during_the_meta_test_exits_zero_with_training_saved(tmp_path):
    workdir = str(tmp_path / "run")
    proc = _train(workdir, "--config.training.num_iterations=1",
                  "--config.evaluation.num_episodes=100000", "--config.evaluation.chunk=1")
    seen = _wait_for(proc, "Meta-testing")
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, (seen + output)[-3000:]
    assert "Meta-test interrupted" in output
    assert tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")).endswith("-1")


@pytest.mark.slow
def test_signal_during_vsml_evaluate_exits_zero(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "vsml_tf.apps.evaluate", "--pretrained=quickstart_digits",
         f"--config={TESTING}", f"--workdir={tmp_path / 'out'}",
         "--config.evaluation.num_episodes=100000", "--config.evaluation.chunk=1"],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = _wait_for(proc, "Meta-testing")
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, (seen + output)[-3000:]
    assert "Meta-test interrupted" in output


@pytest.mark.slow
def test_a_second_signal_stops_at_once(tmp_path):
    # Iterations of several seconds: the second signal lands while the first waits.
    proc = _train(str(tmp_path / "run"), "--config.training.num_iterations=100000",
                  "--config.checkpoint.every=100000", "--config.training.episode_length=20000")
    seen = _wait_for(proc, "step 0:")
    proc.send_signal(signal.SIGINT)
    seen += _wait_for(proc, "Received SIGINT")
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT, (seen + output)[-3000:]


LONG_CALL = """
import tensorflow as tf
from vsml_tf.apps.interrupts import StopRequest

@tf.function
def spin(n):  # one graph call that runs for hours without returning to Python
    return tf.while_loop(lambda i: i < n, lambda i: i + 1, [tf.constant(0, tf.int64)])

spin(tf.constant(1, tf.int64))
with StopRequest():
    print("in the call", flush=True)
    spin(tf.constant(10 ** 12, tf.int64))
print("returned", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_stops_at_once_inside_one_long_call(sig):
    """No Python handler runs while the main thread is in one compiled call (an ES
    iteration of minutes); the second signal still ends the process at once."""
    proc = subprocess.Popen([sys.executable, "-c", LONG_CALL], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = _wait_for(proc, "in the call")
        time.sleep(1)
        proc.send_signal(sig)
        time.sleep(1)
        assert proc.poll() is None, seen  # the first signal only asks
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -sig, (seen + output)[-3000:]
    assert "Received %s again: stopping at once." % sig.name in output
