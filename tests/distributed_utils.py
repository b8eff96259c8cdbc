"""Shared by the distributed tests: run `vsml-train` in subprocesses and read the chief's
final meta-parameters back from its checkpoint."""

import os
import subprocess

import tensorflow as tf

from vsml_tf import checkpoints

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMON = ["--config=configs/testing.py", "--config.training.num_iterations=3",
          "--config.evaluation.every=0", "--config.logging.wandb.enabled=False"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
# Tolerance of a replicated run vs 1 replica after 3 iterations (see README, "Distributed").
ATOL = 1e-5


def meta_params(workdir):
    path = tf.train.latest_checkpoint(checkpoints.directory(workdir))
    assert path is not None, f"no checkpoint in {workdir}"
    return tf.train.load_variable(path, "meta_params/.ATTRIBUTES/VARIABLE_VALUE"), path


def run(cmd, workdir, env=None):
    result = subprocess.run(cmd + [f"--workdir={workdir}"], cwd=ROOT, env=env or ENV,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    return meta_params(workdir)


def stopped_at(out: str) -> int:
    """The iteration from train.py's 'Stopped at iteration N;' warning."""
    assert "Stopped at iteration " in out, out[-3000:]
    return int(out.split("Stopped at iteration ")[1].split(";")[0])
