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
