"""Shared by every test. pytest.ini puts the repository root (this checkout's package, also
in a git worktree beside an editable install), tests/helpers and tests/oracles on
sys.path; test modules are imported with --import-mode=importlib, so test files in
different folders may share a name (tests/learners/test_layers.py, tests/package/...)."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(scope="session")
def one_replica(tmp_path_factory):
    """The 1-replica reference runs of the distributed tests (see distributed_utils)."""
    from distributed_utils import one_replica_runner

    return one_replica_runner(tmp_path_factory.mktemp("one_replica"))
