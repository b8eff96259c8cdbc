"""Distributed meta-training for real: MirroredStrategy on logical CPUs and
MultiWorkerMirroredStrategy with processes on localhost give the 1-replica result."""

import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from checkout import with_values
from distributed_utils import COMMON, ENV, ROOT, meta_params, run, stopped_at

from vsml_tf.core.distribute import Replicas
from vsml_tf.runs import builder


@pytest.mark.slow
@pytest.mark.distributed
@pytest.mark.parametrize("config", ["configs/quickstart.py:es", "configs/gradient.py",
                                    "configs/gradient.py --config.gradient.truncation=20",
                                    "configs/quickstart.py:es --config.es.fitness_shaping="
                                    "shard_centered_rank --config.training.episode_length="
                                    "worker_split([50,100],repeat=4)",
                                    "configs/quickstart.py --config.clone.iterations=20"])
def test_mirrored_and_multi_worker_equal_one_replica_bit_for_bit(tmp_path, config):
    """The shipped configs (ES, also with ranks per shard over shards of two episode
    lengths; backprop, also truncated; the quickstart's clone made in every process, then
    backprop), not a toy one: on the ln(10) plateau ES turns last-bit differences of the
    losses into Adam-sized steps, so only identical computations give identical
    meta-parameters."""
    config, *extra = config.split()
    args = [f"--config={config}", *extra, "--config.training.num_iterations=3",
            "--config.checkpoint.every=1", "--config.evaluation.every=0",
            "--config.logging.wandb.enabled=False"]
    train = [sys.executable, "-m", "vsml_tf.apps.train"]
    single, single_path = run(train + args, tmp_path / "single")
    mirrored, mirrored_path = run(train + args + ["--config.distribution.strategy=mirrored",
                                                  "--config.distribution.cpu_devices=2"],
                                  tmp_path / "mirrored")
    workers, workers_path = run(["bash", "launchers/local_multiworker.sh", "2"] + args,
                                tmp_path / "workers")
    # Same variable names in every checkpoint (the contract other tools rely on).
    names = lambda p: sorted(n for n, _ in tf.train.list_variables(p) if "meta_params" in n)
    assert names(single_path) == names(mirrored_path) == names(workers_path)
    initial = tf.train.load_variable(single_path.replace("ckpt-3", "ckpt-2"),
                                     "meta_params/.ATTRIBUTES/VARIABLE_VALUE")
    assert np.abs(single - initial).max() > 1e-5  # the last iteration did move theta
    np.testing.assert_array_equal(mirrored, single)
    np.testing.assert_array_equal(workers, single)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
@pytest.mark.distributed
def test_sigterm_on_one_worker_stops_all_workers_together(tmp_path):
    workdir = tmp_path / "run"
    ports = free_ports(2)
    cluster = ", ".join(f'"localhost:{p}"' for p in ports)
    procs = []
    for index in range(2):
        tf_config = (f'{{"cluster": {{"worker": [{cluster}]}}, '
                     f'"task": {{"type": "worker", "index": {index}}}}}')
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "vsml_tf.apps.train", *COMMON, f"--workdir={workdir}",
             "--config.training.num_iterations=100000", "--config.checkpoint.every=100000",
             "--config.distribution.strategy=multi_worker"],
            cwd=ROOT, env={**ENV, "TF_CONFIG": tf_config}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    chief, worker = procs
    deadline = time.time() + 300
    chief_lines = []
    for line in chief.stdout:  # the chief logs every iteration
        chief_lines.append(line)
        if "step 3:" in line or time.time() > deadline:
            break
    worker.send_signal(signal.SIGTERM)  # only the non-chief worker is signalled
    chief_out = "".join(chief_lines) + chief.communicate(timeout=300)[0]
    worker_out = worker.communicate(timeout=300)[0]
    assert chief.returncode == 0, chief_out[-3000:]
    assert worker.returncode == 0, worker_out[-3000:]
    _, path = meta_params(workdir)
    assert stopped_at(chief_out) == stopped_at(worker_out) == int(path.rsplit("-", 1)[1]) >= 4


def test_single_process_replicas_are_the_default():
    replicas = Replicas()
    assert replicas.count == 1 and replicas.is_chief and replicas.is_default
    out = replicas.run(lambda c, x: (c.all_gather(x), c.all_sum(x), c.index, c.count),
                       args=(tf.constant([1.0, 2.0]),))
    np.testing.assert_array_equal(out[0], [1.0, 2.0])
    assert (out[2], out[3]) == (0, 1)


def consecutive_free_ports(n):
    for _ in range(50):
        base = free_ports(1)[0]
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                s.bind(("localhost", p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no consecutive free ports")


@pytest.mark.slow
@pytest.mark.distributed
def test_slurm_environment_drives_multi_worker_training(tmp_path, one_replica):
    """Two tasks of a Slurm job step on one node, as srun sets their environment: the
    real SlurmClusterResolver builds the cluster and training matches one replica."""
    base = consecutive_free_ports(2)
    slurm = {"SLURM_JOB_ID": "42", "SLURM_STEP_NUM_TASKS": "2",
             "SLURM_STEP_NODELIST": "localhost", "SLURM_STEP_TASKS_PER_NODE": "2"}
    cmd = [sys.executable, "-m", "vsml_tf.apps.train", *COMMON, f"--workdir={tmp_path / 'slurm'}",
           "--config.distribution.strategy=multi_worker",
           f"--config.distribution.port_base={base}"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env={**ENV, **slurm, "SLURM_PROCID": str(i)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
    slurm_theta, _ = meta_params(tmp_path / "slurm")
    single, _ = one_replica("es")
    np.testing.assert_array_equal(slurm_theta, single)


@pytest.mark.slow
@pytest.mark.distributed
def test_worker_split_follows_the_global_shard_index(tmp_path, one_replica):
    """Half the shards meta-train with a random projection: one device (all shards) and
    two replicas (half the shards each) compute the same update, which differs from no
    split."""
    split = ["--config.data.rand_proj=worker_split([False, True])"]
    train = [sys.executable, "-m", "vsml_tf.apps.train"] + COMMON
    one_device, _ = run(train + split, tmp_path / "one")
    mirrored, _ = run(train + split + ["--config.distribution.strategy=mirrored",
                                       "--config.distribution.cpu_devices=2"],
                      tmp_path / "mirrored")
    no_split, _ = one_replica("es")
    np.testing.assert_array_equal(mirrored, one_device)
    assert np.abs(no_split - one_device).max() > 1e-4


@pytest.mark.slow
@pytest.mark.distributed
def test_chief_without_its_workers_exits_after_the_startup_timeout(tmp_path):
    """A worker that dies before joining (here: never started) no longer hangs the chief:
    it exits non-zero with a one-line message after distribution.startup_timeout_s."""
    ports = free_ports(2)
    cluster = ", ".join(f'"localhost:{p}"' for p in ports)
    tf_config = f'{{"cluster": {{"worker": [{cluster}]}}, "task": {{"type": "worker", "index": 0}}}}'
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "vsml_tf.apps.train", *COMMON, f"--workdir={tmp_path / 'run'}",
         "--config.distribution.strategy=multi_worker",
         "--config.distribution.startup_timeout_s=5"],
        cwd=ROOT, env={**ENV, "TF_CONFIG": tf_config, "PYTHONPATH": ROOT},
        capture_output=True, text=True, timeout=300)
    assert result.returncode != 0, result.stderr[-3000:]
    errors = [l for l in result.stderr.splitlines() if l.startswith("error: ")]
    assert errors and errors[-1].startswith("error: multi-worker startup"), \
        result.stderr[-3000:]
    assert "within 5 s" in errors[-1]
    assert time.time() - started < 240


@pytest.mark.slow
@pytest.mark.distributed
def test_launcher_forwards_sigterm_waits_and_returns_the_workers_status(tmp_path):
    """SIGTERM to the launcher: both workers stop after the same iteration, the chief
    checkpoints, and the launcher exits 0 only after they have (it returned 143 at once)."""
    workdir = tmp_path / "run"
    launcher = subprocess.Popen(
        ["bash", "launchers/local_multiworker.sh", "2", *COMMON, f"--workdir={workdir}",
         "--config.training.num_iterations=100000", "--config.checkpoint.every=100000"],
        cwd=ROOT, env={**ENV, "PYTHONPATH": ROOT}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    lines = []
    for line in launcher.stdout:
        lines.append(line)
        if "step 3:" in line or time.time() > deadline:
            break
    launcher.send_signal(signal.SIGTERM)
    out = "".join(lines) + launcher.communicate(timeout=300)[0]
    assert launcher.returncode == 0, out[-3000:]
    assert out.count("Stopped at iteration ") == 2  # both workers, after the signal
    _, path = meta_params(workdir)
    assert int(path.rsplit("-", 1)[1]) >= 4




def test_strategy_tpu_without_a_tpu_is_a_clear_error():
    from vsml_tf.core import distribute

    if distribute._tpu_available():
        pytest.skip("this machine has a TPU")
    with pytest.raises(ValueError, match="strategy='tpu' but this machine has no TPU"):
        builder.replicas(with_values(distribution__strategy="tpu"))
