import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
HERE = os.path.dirname(os.path.abspath(__file__))
# Import this checkout's package (also in a git worktree beside an editable install).
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
