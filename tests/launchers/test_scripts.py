"""The launcher scripts parse (bash -n), document their usage, and run the python they
say (with stand-ins for python, srun, horovodrun, sbatch and gcloud on PATH)."""

import glob
import os
import subprocess

import pytest
from checkout import ROOT

SCRIPTS = sorted(glob.glob(os.path.join(ROOT, "launchers", "*.sh")) +
                 glob.glob(os.path.join(ROOT, "launchers", "slurm", "*")))


@pytest.mark.parametrize("script", SCRIPTS, ids=os.path.basename)
def test_launcher_parses_and_documents_its_usage(script):
    assert subprocess.run(["bash", "-n", script]).returncode == 0
    header = open(script).read().split("\nset -euo pipefail")[0]
    assert "# Usage:" in header
    if script.endswith(".sh"):  # no arguments (--help where none are needed): usage, exit 2
        args = ["--help"] if script.endswith("install_horovod.sh") else []
        out = subprocess.run(["bash", script, *args], capture_output=True, text=True,
                             env={**os.environ, "PATH": os.environ["PATH"]})
        assert out.returncode == 2 and "Usage:" in out.stdout


# Stand-ins: each logs its arguments to $FAKE_LOG. The python answers --version with
# $FAKE_PYTHON_VERSION and exits $FAKE_STATUS; srun runs its command without its options;
# gcloud's describe fails (no such VM) and its ssh runs --command here.
FAKES = {
    "python": """#!/usr/bin/env bash
if [[ "$1" == --version ]]; then echo "Python ${FAKE_PYTHON_VERSION:-3.11.99}"; exit 0; fi
echo "python $*" >> "$FAKE_LOG"; exit "${FAKE_STATUS:-0}"
""",
    "srun": """#!/usr/bin/env bash
while [[ "$1" == --* ]]; do shift; done
exec "$@"
""",
    "horovodrun": """#!/usr/bin/env bash
echo "horovodrun $*" >> "$FAKE_LOG"
""",
    "sbatch": """#!/usr/bin/env bash
echo "sbatch $*" >> "$FAKE_LOG"; echo 1
""",
    "gcloud": """#!/usr/bin/env bash
echo "gcloud $*" >> "$FAKE_LOG"
if [[ "$4" == describe ]]; then exit 1; fi
for a in "$@"; do [[ "$a" == --command=* ]] && exec bash -c "${a#--command=}"; done
exit 0
""",
}


@pytest.fixture
def fakes(tmp_path):
    """(environment with the stand-ins first on PATH and no PYTHON set, log path)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in FAKES.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (bin_dir / "python3").symlink_to(bin_dir / "python")
    log = tmp_path / "calls.log"
    log.touch()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "TPU_PYTHON",
                                                               "TPU_VERSION")}
    env.update(PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_LOG=str(log))
    return env, log


def run_launcher(name, args, env):
    return subprocess.run(["bash", os.path.join(ROOT, "launchers", name), *args],
                          capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)


PYTHON_RUNS = {  # script -> (arguments, extra environment, what the python is asked to do)
    "local_multiworker.sh": (["2", "--config=c.py"], {"VSML_BASE_PORT": "40000"},
                             "-m vsml_tf.apps.train --config=c.py"),
    "horovodrun.sh": (["2", "--config=c.py"], {}, "-m vsml_tf.apps.train --config=c.py"),
    "install_horovod.sh": ([], {"FAKE_STATUS": "1"}, "-"),
    "slurm/train.sbatch": (["--config=c.py"], {}, "-m vsml_tf.apps.train --config=c.py"),
    "slurm/sweep.sbatch": (["s.py", "runs", "--config=c.py"], {"SLURM_ARRAY_TASK_ID": "0"},
                           "-m vsml_tf.apps.train --config=c.py"),
}


@pytest.mark.parametrize("name", sorted(PYTHON_RUNS))
def test_launcher_documents_and_prints_the_python_it_runs(name, fakes):
    """Issue 33 (6d): `python` from PATH unless PYTHON is set, said in the usage header
    and printed when the script runs; an interpreter not found is a one-line error."""
    env, log = fakes
    header = open(os.path.join(ROOT, "launchers", name)).read().split("\nset -euo")[0]
    assert "PYTHON=python" in header and "from PATH unless set" in " ".join(header.split())
    args, extra, asked = PYTHON_RUNS[name]
    result = run_launcher(name, args, {**env, **extra})
    python = os.path.join(env["PATH"].split(":")[0], "python")
    assert f"python {python} (Python 3.11.99)" in result.stderr, result.stderr
    assert asked in log.read_text()
    result = run_launcher(name, args, {**env, **extra, "PYTHON": "no-such-python"})
    assert result.returncode == 2
    assert "error: PYTHON=no-such-python: command not found" in result.stderr


def test_chain_says_which_python_its_jobs_run(fakes):
    env, log = fakes
    result = run_launcher("slurm/chain.sh", ["2", "--", "--config=c.py"],
                          {**env, "PYTHON": "/opt/py/bin/python"})
    assert result.returncode == 0, result.stderr
    assert "the jobs run PYTHON=/opt/py/bin/python" in result.stderr
    assert log.read_text().count("train.sbatch --config=c.py") == 2


def test_tpu_vm_has_no_default_image(fakes):
    """Issue 33 (6e): no image is assumed (the old default named TF 2.16): creating a VM
    without TPU_VERSION stops before gcloud creates anything."""
    env, log = fakes
    header = open(os.path.join(ROOT, "launchers", "tpu_vm.sh")).read().split("\nset -euo")[0]
    assert "TPU_VERSION" in header and "Python >= 3.11" in header
    result = run_launcher("tpu_vm.sh", ["vm", "zone-a", "v4-8", "--config=c.py"], env)
    assert result.returncode == 2
    assert "TPU_VERSION is not set" in result.stderr.strip().splitlines()[-1]
    assert " create " not in log.read_text()


def test_tpu_vm_creates_checks_python_installs_and_trains(fakes):
    env, log = fakes
    env = {**env, "TPU_VERSION": "some-image", "VSML_PIP_SPEC": "vsml-tf"}
    result = run_launcher("tpu_vm.sh", ["vm", "zone-a", "v4-8", "--config=c.py"], env)
    assert result.returncode == 0, result.stderr
    calls = log.read_text()
    assert ("create vm --zone=zone-a --accelerator-type=v4-8 --version=some-image"
            in calls)
    assert "python -c import sys; sys.exit(sys.version_info < (3, 11))" in calls
    assert "python -m pip install -q vsml-tf" in calls
    assert ("python -m vsml_tf.apps.train --config=c.py --config.distribution.strategy=tpu"
            in calls)
    assert "python on the workers: python3" in result.stderr


def test_tpu_vm_refuses_a_python_older_than_3_11(fakes):
    env, log = fakes
    env = {**env, "TPU_VERSION": "some-image", "VSML_PIP_SPEC": "vsml-tf",
           "FAKE_STATUS": "1", "FAKE_PYTHON_VERSION": "3.10.12"}
    result = run_launcher("tpu_vm.sh", ["vm", "zone-a", "v4-8", "--config=c.py"], env)
    assert result.returncode == 2
    assert ("error: Python 3.10.12 on the TPU VM; vsml-tf needs Python >= 3.11"
            in result.stderr)
    assert "\npython -m pip" not in log.read_text()  # asked of gcloud, never run
