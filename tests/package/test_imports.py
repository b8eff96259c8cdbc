"""Every module of the package imports in one process (one absl flag registry)."""

import os
import subprocess
import sys

import pytest
from checkout import ROOT

pytestmark = pytest.mark.slow  # every test here takes more than ~5 s


def test_every_module_imports_in_one_process():
    """Commands share one absl flag registry: two modules defining the same flag name break
    any process (a test session, a user's notebook) that imports both."""
    code = ("import importlib, pkgutil, vsml_tf\n"
            "for m in pkgutil.walk_packages(vsml_tf.__path__, 'vsml_tf.'):\n"
            "    importlib.import_module(m.name)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]


def test_importing_the_package_or_the_classifier_defines_no_flags(tmp_path):
    """A program with its own absl --config / --workdir flags can import vsml_tf,
    VSMLClassifier and load_learner, and load and use a learner (the commands define
    theirs in vsml_tf.apps.cli, imported only by them)."""
    script = tmp_path / "own_flags.py"
    script.write_text(
        "from absl import flags\n"
        "flags.DEFINE_string('config', 'mine', '')\n"
        "flags.DEFINE_string('workdir', 'mine', '')\n"
        "import vsml_tf\n"
        "from vsml_tf import VSMLClassifier\n"
        "from vsml_tf import Learner, load_learner\n"
        "from vsml_tf.runs import builder, loading\n"
        "names = loading.names()\n"
        "if names:\n"
        "    learner = load_learner(names[0])\n"
        "    learner.classifier()\n"
        "flags.FLAGS(['prog', '--config=x'])\n"
        "assert set(flags.FLAGS) >= {'config', 'workdir'} and 'pretrained' not in "
        "flags.FLAGS\n"
        "print('ok', flags.FLAGS.config, vsml_tf.__version__)\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT},
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[:2] == ["ok", "x"]
