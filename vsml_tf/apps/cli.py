"""Flags shared by `vsml-train` and `vsml-evaluate`, and one-line errors for bad input.

    vsml-train --config=configs/NAME.py[:ARG] --workdir=DIR [--config.a.b=VALUE ...]

`--config` is a path or the name of a shipped config (`--config=quickstart:es` from any
directory). Without --config the packaged quickstart runs (vsml-evaluate: the run's own
config.json); without --workdir the output goes to ./vsml_runs/<config name>.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback

from absl import app, flags
from ml_collections import config_flags

from vsml_tf.core.errors import UserError
from vsml_tf.runs import per_worker
from vsml_tf.runs import workdir as workdir_lib
from vsml_tf.runs.config import SECTIONS, ConfigError, check_override, validate


def configs_dir() -> str:
    """The shipped config files: vsml_tf/configs when installed, configs/ in the source."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for path in (os.path.join(package, "configs"),                   # pip install
                 os.path.join(os.path.dirname(package), "configs")):  # source tree
        if os.path.isdir(path):
            return path
    return "configs"


def shipped_configs() -> list[str]:
    return sorted(n[:-3] for n in os.listdir(configs_dir())
                  if n.endswith(".py") and not n.startswith("_"))


def _packaged_config(name: str) -> str:
    return os.path.join(configs_dir(), name)


def resolve_config(value: str) -> str:
    """--config's value with its file found: a path as given, else a shipped config by
    name (`quickstart`, `quickstart.py:es`, `configs/testing.py` from anywhere)."""
    path, colon, arg = value.partition(":")
    if os.path.isfile(path):
        return value
    base = os.path.basename(path)
    for name in (path, base, base + ".py"):
        candidate = os.path.join(configs_dir(), name)
        if os.path.isfile(candidate):
            return candidate + colon + arg
    fail(f"cannot load --config={value}: no file {path!r}; give a path or a shipped config "
         f"({', '.join(shipped_configs())}), e.g. --config=quickstart.")


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
PRINT_CONFIG = flags.DEFINE_bool(
    "print_config", False, "Print the resolved config (file, overrides, validation) as "
    "JSON and exit.")
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
# What the command line said: whether --config was given, and the keys it overrides.
_GIVEN = {"config": None, "path": None, "overrides": []}
_HELP = ("--help", "-h", "-?", "--helpshort")


def help_text(program: str) -> str:
    """--help: the package's flags, the config sections, where every key is described."""
    lines = [f"usage: {program} [--config=NAME|PATH[:ARG]] [--workdir=DIR] "
             f"[--config.SECTION.KEY=VALUE ...]", "", "flags:"]
    for flag in (CONFIG, WORKDIR, PRETRAINED, EVAL_DIR, PRINT_CONFIG, ALLOW_CONFIG_CHANGE):
        lines.append(f"  --{flag.name}: {flags.FLAGS[flag.name].help}")
    lines += ["", "config sections (override any key: --config.SECTION.KEY=VALUE):"]
    lines += [f"  {name:<13} {meaning}" for name, meaning in SECTIONS.items()]
    lines += ["", f"shipped configs (--config=NAME): {', '.join(shipped_configs())}",
              "every key with its default and meaning: docs/reference/config.md, or "
              "python -m vsml_tf.tools.config_reference",
              "the resolved config of a command: add --print_config; absl's flags: "
              "--helpfull"]
    return "\n".join(lines)


def _parse_flags(argv):
    if any(arg in _HELP for arg in argv[1:]):
        print(help_text(os.path.basename(argv[0])))
        sys.exit(0)
    kept = []
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg.startswith("--config="):
            _GIVEN["config"] = arg[len("--config="):]
            argv[i] = "--config=" + resolve_config(_GIVEN["config"])
            _GIVEN["path"] = argv[i][len("--config="):].partition(":")[0]
        elif arg == "--config" and i + 1 < len(argv):
            _GIVEN["config"] = argv[i + 1]
            argv[i + 1] = resolve_config(argv[i + 1])
            _GIVEN["path"] = argv[i + 1].partition(":")[0]
    for arg in argv:
        if arg.startswith("--config."):
            key, _, value = arg[len("--config."):].partition("=")
            try:
                check_override(key)
            except ConfigError as e:
                fail(str(e))
            _GIVEN["overrides"].append(key)
            if per_worker.is_worker_split(value):
                try:
                    _WORKER_SPLIT_OVERRIDES.append((key, per_worker.parse(value)))
                except ValueError as e:
                    fail(f"--config.{key}: {e}")
                continue
        kept.append(arg)
    try:
        rest = flags.FLAGS(kept)
        CONFIG.value  # loads the file now, so that its errors are reported here
    except SyntaxError as e:
        fail(f"cannot load --config: {e.filename}, line {e.lineno}: {e.msg}; fix the file.")
    except Exception as e:  # the file's get_config raised: a bad ARG, a typo, a bug there
        fail(f"cannot load --config={_GIVEN['config'] or 'quickstart'}: {_cause(e)}")
    return rest


def _cause(error: BaseException) -> str:
    """'Type: message (FILE, line N)' of the first error, as raised in the config file
    (ml_collections re-raises it with the whole traceback in its message)."""
    while (error.__cause__ or error.__context__) is not None:
        error = error.__cause__ or error.__context__
    path = os.path.abspath(_GIVEN["path"] or _packaged_config("quickstart.py"))
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if os.path.abspath(f.filename) == path]
    where = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {' '.join(str(error).split())}{where}"


def config_and_workdir(prefer_recorded: bool = False):
    """The validated config and the workdir of this invocation. `prefer_recorded`
    (vsml-evaluate): without --config, a workdir's config.json is the config, with the
    command line's --config.KEY overrides on top; with --config, its learner (learner,
    model, baselines) must be the one the workdir's checkpoints hold."""
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
    if prefer_recorded and not PRETRAINED.value:
        with user_errors():
            config = _recorded_or_checked(config, workdir)
    if PRINT_CONFIG.value:
        print(json.dumps(workdir_lib.as_json(config), indent=2, sort_keys=True))
        sys.exit(0)
    return config, workdir


def _recorded_or_checked(config, workdir: str):
    if not os.path.exists(os.path.join(workdir, workdir_lib.CONFIG_FILE)):
        return config
    if _GIVEN["config"] is not None:
        # Only what the meta-parameters are must agree: the data and seed of the
        # meta-test are the --config's to choose.
        workdir_lib.check(config, workdir, ALLOW_CONFIG_CHANGE.value, workdir_lib.LEARNER)
        return config
    recorded = workdir_lib.read_config(workdir)
    with recorded.ignore_type():
        for key in _GIVEN["overrides"]:
            *parents, leaf = key.split(".")
            source, target = config, recorded
            for parent in parents:
                source, target = source[parent], target[parent]
            target[leaf] = source[leaf]
    validate(recorded)
    return recorded


def run(main) -> None:
    app.run(main, flags_parser=_parse_flags)
