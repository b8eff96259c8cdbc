"""The package's layering: the import contract of `.importlinter` holds, and no module
hides an import of the package inside a function (where a cycle could come back unseen).
"""

import ast
import logging
import os

import pytest
from checkout import ROOT

PACKAGE = os.path.join(ROOT, "vsml_tf")

# Function-local imports of vsml_tf that stay, and why.
LOCAL_IMPORTS_ALLOWED = {
    # `from vsml_tf import VSMLClassifier` imports scikit-learn and TensorFlow only then.
    "vsml_tf/__init__.py",
    # `vsml-bench --episode_only` runs the learner on any Keras backend without TensorFlow
    # (the GPU machines have JAX only), and its parent process only spawns children.
    "vsml_tf/tools/bench.py",
}


def test_import_contracts_hold():
    pytest.importorskip("importlinter", reason="pip install import-linter")
    from importlinter.cli import lint_imports

    # import-linter configures logging with disable_existing_loggers: re-enable them after
    # it, or later tests (caplog on absl's logger in tests/runs/test_checkpoints.py) see
    # no records.
    enabled = [logger for logger in logging.root.manager.loggerDict.values()
               if isinstance(logger, logging.Logger) and not logger.disabled]
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert lint_imports(config_filename=".importlinter") == 0, (
            "an import breaks the layers of .importlinter: run `lint-imports` for which")
    finally:
        os.chdir(cwd)
        for logger in enabled:
            logger.disabled = False


def _local_package_imports(path: str) -> list[int]:
    tree = ast.parse(open(path).read(), path)
    lines = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vsml_tf"):
                lines.append(node.lineno)
            elif isinstance(node, ast.Import) and any(
                    a.name.startswith("vsml_tf") for a in node.names):
                lines.append(node.lineno)
    return lines


def test_no_function_local_imports_of_the_package():
    found = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
            if rel in LOCAL_IMPORTS_ALLOWED:
                continue
            found += [f"{rel}:{line}" for line in _local_package_imports(path)]
    assert not found, f"function-local imports of vsml_tf (import at module top): {found}"


def test_the_check_sees_a_local_import(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("import os\n\ndef f():\n    from vsml_tf.core import rng\n    return rng\n")
    assert _local_package_imports(str(path)) == [4]
