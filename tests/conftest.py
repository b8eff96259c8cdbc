import os
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
HERE = os.path.dirname(os.path.abspath(__file__))
# Import this checkout's package (also in a git worktree beside an editable install).
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def one_replica(tmp_path_factory):
    """The 1-replica reference runs of the distributed tests (see distributed_utils)."""
    from distributed_utils import one_replica_runner

    return one_replica_runner(tmp_path_factory.mktemp("one_replica"))
