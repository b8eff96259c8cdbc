"""Shared by the distributed tests: run `vsml-train` in subprocesses and read the chief's
final meta-parameters back from its checkpoint."""

import os
import subprocess
import sys

import tensorflow as tf
from checkout import ROOT

from vsml_tf.runs import checkpoints

COMMON = ["--config=configs/testing.py", "--config.training.num_iterations=3",
          "--config.evaluation.every=0", "--config.logging.wandb.enabled=False"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def meta_params(workdir):
    path = tf.train.latest_checkpoint(checkpoints.directory(workdir))
    assert path is not None, f"no checkpoint in {workdir}"
    return tf.train.load_variable(path, "meta_params/.ATTRIBUTES/VARIABLE_VALUE"), path


def launch(cmd, workdir, env=None) -> str:
    """Run cmd --workdir=workdir to completion; its stdout and stderr."""
    result = subprocess.run(cmd + [f"--workdir={workdir}"], cwd=ROOT, env=env or ENV,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    return result.stdout + result.stderr


def run(cmd, workdir, env=None):
    launch(cmd, workdir, env)
    return meta_params(workdir)


def stopped_at(out: str) -> int:
    """The iteration from train.py's 'Stopped at iteration N;' warning."""
    assert "Stopped at iteration " in out, out[-3000:]
    return int(out.split("Stopped at iteration ")[1].split(";")[0])


def one_replica_runner(base_dir):
    """algorithm -> (theta, checkpoint path) of `vsml-train` COMMON on one replica, run once
    per session: the reference every distributed run is compared with."""
    cache = {}

    def get(algorithm: str = "es"):
        if algorithm not in cache:
            cmd = [sys.executable, "-m", "vsml_tf.apps.train", *COMMON,
                   f"--config.training.algorithm={algorithm}"]
            cache[algorithm] = run(cmd, base_dir / algorithm)
        return cache[algorithm]

    return get
