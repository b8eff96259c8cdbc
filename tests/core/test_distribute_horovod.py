"""Horovod for real: `horovodrun -np 2 --gloo` on localhost gives the 1-replica
meta-parameters, and SIGTERM to one rank stops both after the same iteration.

Needs Horovod built for this TensorFlow (launchers/install_horovod.sh); CI sets
VSML_REQUIRE_HOROVOD=1 so that a missing Horovod fails there instead of skipping."""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from distributed_utils import COMMON, ENV, ROOT, launch, meta_params, stopped_at


def _missing() -> str | None:
    try:
        import horovod.tensorflow  # noqa: F401
    except Exception as e:  # ImportError, or a library built for another TensorFlow
        return (f"horovod.tensorflow cannot be imported ({type(e).__name__}: {e}); "
                f"build it with launchers/install_horovod.sh")
    if shutil.which("horovodrun") is None:
        return "horovodrun is not on PATH (install Horovod: launchers/install_horovod.sh)"
    return None


MISSING = _missing()
if MISSING and os.environ.get("VSML_REQUIRE_HOROVOD") == "1":
    raise RuntimeError(f"VSML_REQUIRE_HOROVOD=1 but {MISSING}")
pytestmark = [pytest.mark.horovod, pytest.mark.distributed, pytest.mark.slow,
              pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

HVD_ENV = {**ENV, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, ENV.get("PYTHONPATH")]))}
HOROVODRUN = ["horovodrun", "-np", "2", "-H", "localhost:2", "--gloo",
              sys.executable, "-m", "vsml_tf.apps.train"]


def rank_output(out: str, rank: int) -> str:
    """The lines horovodrun prefixed with [rank]."""
    return "".join(line for line in out.splitlines(True) if line.startswith(f"[{rank}]"))


@pytest.mark.parametrize("algorithm", ["es", "gradient"])
def test_horovodrun_matches_one_replica(tmp_path, algorithm, one_replica):
    args = COMMON + [f"--config.training.algorithm={algorithm}"]
    single, single_path = one_replica(algorithm)
    out = launch(HOROVODRUN + args + ["--config.distribution.strategy=horovod"],
                 tmp_path / "horovod", env=HVD_ENV)
    # One run of 2 ranks, not 2 runs of 1: only rank 0 (the chief) logs its steps.
    assert "step 2:" in rank_output(out, 0) and "step " not in rank_output(out, 1), out
    hvd, hvd_path = meta_params(tmp_path / "horovod")
    names = lambda p: sorted(n for n, _ in tf.train.list_variables(p) if "meta_params" in n)
    assert names(hvd_path) == names(single_path)
    assert hvd_path.endswith("ckpt-3")
    initial = tf.train.load_variable(single_path.replace("ckpt-3", "ckpt-2"),
                                     "meta_params/.ATTRIBUTES/VARIABLE_VALUE")
    assert np.abs(single - initial).max() > 1e-4  # the last iteration did move theta
    print(f"{algorithm}: max |theta_horovod - theta_1| = {np.abs(hvd - single).max():.3g}")
    np.testing.assert_array_equal(hvd, single)


def _rank_process(launcher: int, rank: int, timeout: float = 120):
    """The `python -m vsml_tf.apps.train` process of Horovod rank `rank` under `launcher`."""
    import psutil  # a Horovod dependency

    deadline = time.time() + timeout
    while time.time() < deadline:
        for p in psutil.Process(launcher).children(recursive=True):
            try:
                if p.cmdline()[1:3] == ["-m", "vsml_tf.apps.train"] and \
                        p.environ().get("HOROVOD_RANK") == str(rank):
                    return p
            except psutil.Error:
                continue
        time.sleep(0.5)
    raise AssertionError(f"no rank {rank} process under horovodrun (pid {launcher})")


def test_sigterm_on_one_rank_stops_both_after_the_same_iteration(tmp_path):
    """Through launchers/horovodrun.sh; only rank 1 (not the chief) is signalled."""
    workdir = tmp_path / "run"
    proc = subprocess.Popen(
        ["bash", "launchers/horovodrun.sh", "2", "-H", "localhost:2", *COMMON,
         f"--workdir={workdir}", "--config.training.num_iterations=100000",
         "--config.checkpoint.every=100000"],
        cwd=ROOT, env={**HVD_ENV, "PYTHON": sys.executable}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines, deadline = [], time.time() + 300
    for line in proc.stdout:  # horovodrun prefixes each rank's lines with [rank]
        lines.append(line)
        if ("step 3:" in line and line.startswith("[0]")) or time.time() > deadline:
            break
    _rank_process(proc.pid, 1).send_signal(signal.SIGTERM)
    out = "".join(lines) + proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, out[-4000:]
    _, path = meta_params(workdir)
    assert stopped_at(rank_output(out, 0)) == stopped_at(rank_output(out, 1)) == \
        int(path.rsplit("-", 1)[1]) >= 4
