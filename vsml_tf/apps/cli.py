"""Flags shared by `vsml-train` and `vsml-evaluate`, and one-line errors for bad input.

    vsml-train --config=configs/NAME.py[:ARG] --workdir=DIR [--config.a.b=VALUE ...]

Without --config the packaged quickstart runs; without --workdir the output goes to
./vsml_runs/<config name>.
"""

from __future__ import annotations

import contextlib
import os
import sys

from absl import app, flags
from ml_collections import config_flags

from vsml_tf.core.errors import UserError
from vsml_tf.runs import per_worker
from vsml_tf.runs.config import ConfigError, check_override, validate


def _packaged_config(name: str) -> str:
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for path in (os.path.join(package, "configs", name),                  # pip install
                 os.path.join(os.path.dirname(package), "configs", name)):  # source tree
        if os.path.exists(path):
            return path
    return os.path.join("configs", name)


CONFIG = config_flags.DEFINE_config_file(
    "config", _packaged_config("quickstart.py"),
    "Config file (configs/*.py), optionally with ':ARG'. Override values with "
    "--config.a.b=VALUE.", lock_config=True)
WORKDIR = flags.DEFINE_string(
    "workdir", None, "Directory for checkpoints, logs and evaluation outputs "
    "(default: ./vsml_runs/<config name>).")
PRETRAINED = flags.DEFINE_string(
    "pretrained", None, "vsml-evaluate: meta-test this shipped learner (python -m "
    "vsml_tf.apps.pretrained lists them) on the episodes of --config, with no workdir or "
    "training (outputs in --workdir, default ./vsml_runs/pretrained_NAME).")

EVAL_DIR = flags.DEFINE_string(
    "eval_dir", None, "vsml-evaluate: write the outputs here (default WORKDIR/eval), e.g. "
    "one directory per meta-test variant of one run.")
ALLOW_CONFIG_CHANGE = flags.DEFINE_bool(
    "allow_config_change", False, "vsml-train: continue the checkpoints of --workdir "
    "although the config differs from its config.json in a key that changes what they "
    "mean (learner, model, baselines, data, training.algorithm, seed).")


def fail(message: str, code: int = 2) -> None:
    """Exit with a one-line error on stderr."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


@contextlib.contextmanager
def user_errors():
    """A `UserError` (bad config, data, shapes, checkpoints) exits with its message as one
    line; any other exception is a bug and keeps its traceback."""
    try:
        yield
    except UserError as e:
        fail(" ".join(str(e).split()))


# `--config.KEY=worker_split(...)` overrides, applied after the config file is loaded:
# ml_collections parses an override by the field's current type (bool, str, ...).
_WORKER_SPLIT_OVERRIDES: list[tuple[str, "per_worker.WorkerSplit"]] = []


def _parse_flags(argv):
    kept = []
    for arg in argv:
        if arg.startswith("--config."):
            key, _, value = arg[len("--config."):].partition("=")
            try:
                check_override(key)
            except ConfigError as e:
                fail(str(e))
            if per_worker.is_worker_split(value):
                try:
                    _WORKER_SPLIT_OVERRIDES.append((key, per_worker.parse(value)))
                except ValueError as e:
                    fail(f"--config.{key}: {e}")
                continue
        kept.append(arg)
    try:
        return flags.FLAGS(kept)
    except (flags.Error, KeyError, AttributeError, ValueError, TypeError) as e:
        fail(" ".join(str(e).split()))
    except SyntaxError as e:  # raised while config_flags imports the config file
        fail(f"cannot load --config: {e.filename}, line {e.lineno}: {e.msg}; fix the file.")
    except OSError as e:  # a config file that is missing or unreadable
        fail(f"cannot load --config: {' '.join(str(e).split())}")
    # Any other exception raised by a config file's code keeps its traceback: a bug there.


def config_and_workdir():
    """The validated config and the workdir of this invocation."""
    try:
        config = CONFIG.value
    except (OSError, SyntaxError, ImportError) as e:  # a config file missing or unreadable
        fail(f"cannot load --config: {type(e).__name__}: {' '.join(str(e).split())}")
    with user_errors():
        with config.ignore_type():
            for key, split in _WORKER_SPLIT_OVERRIDES:
                *parents, leaf = key.split(".")
                holder = config
                for parent in parents:
                    holder = holder[parent]
                holder[leaf] = split
        validate(config)
    workdir = WORKDIR.value
    if not workdir:
        name = os.path.splitext(os.path.basename(config_flags.get_config_filename(
            flags.FLAGS["config"])))[0]
        workdir = os.path.join("vsml_runs", name)
    return config, workdir


def run(main) -> None:
    app.run(main, flags_parser=_parse_flags)
