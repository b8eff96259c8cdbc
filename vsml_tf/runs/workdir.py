"""One run per workdir: its recorded config, a lock, and checks before any work.

A workdir's `config.json` says what its checkpoints mean. A rerun whose config differs in
a key that changes that meaning (the learner and its settings, the data, the algorithm,
the seed) would mix two experiments under one name, so it stops with the differing keys
unless `--allow_config_change` asks for it on purpose. Keys that only say how long, how
often or where to log, evaluate, checkpoint or read data from may change freely.
`config.json` is (re)written only after these checks. While a run trains, the chief holds
an exclusive `flock` on WORKDIR/.lock, so a second `vsml-train` on the same workdir stops
at once, naming the process that holds it (local file systems; a gs:// workdir is not
locked).
"""

from __future__ import annotations

import fcntl
import json
import os

import ml_collections
import tensorflow as tf
from absl import logging

from vsml_tf.core.errors import MissingFileError, UserError
from vsml_tf.runs import checkpoints, per_worker
from vsml_tf.runs.config import ConfigError, base_config, validate

# Config sections / keys whose change makes existing checkpoints mean something else.
MEANING = ("seed", "learner", "model", "baselines", "data", "training.algorithm")
# ...except these: where the same data is read from.
NOT_MEANING = ("data.source", "data.data_dir", "data.tfds_data_dir", "data.tfds_download")
CONFIG_FILE = "config.json"
LOCK_FILE = ".lock"

_held: dict[str, int] = {}  # realpath of workdir -> fd holding its lock (this process)


class WorkdirError(UserError):
    """The workdir cannot take this run (reported as a one-line error)."""


def _local(workdir: str) -> bool:
    return "://" not in workdir


def as_json(config) -> dict:
    """The config as config.json stores it (worker_split and other objects as strings)."""
    return json.loads(json.dumps(config.to_dict(), default=str))


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _meaningful(key: str, meaning=MEANING) -> bool:
    in_meaning = any(key == k or key.startswith(k + ".") for k in meaning)
    return in_meaning and key not in NOT_MEANING


# What a checkpoint's meta-parameters are: a meta-test may change everything else (the
# data it is tested on, the seed of its episodes).
LEARNER = ("learner", "model", "baselines")


def differences(recorded: dict, config, meaning=MEANING) -> list[tuple[str, object, object]]:
    """(key, recorded value, new value) for each meaning-changing key that differs. Keys
    the recording lacks (a run of an older version) count as the base default."""
    old = {**_flat(as_json(base_config())), **_flat(recorded)}
    new = _flat(as_json(config))
    return [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
            if _meaningful(k, meaning) and old.get(k) != new.get(k)]


def check(config, workdir: str, allow_config_change: bool = False,
          meaning=MEANING) -> None:
    """Before any work: the workdir can be written, and its checkpoints (if any) were made
    by a config that means the same. Read-only: every process of a run may call it."""
    if not _local(workdir):
        return
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise WorkdirError(f"--workdir={workdir} is a file, not a directory: pass a "
                           f"directory (it is created if missing).")
    folder = checkpoints.directory(workdir)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise WorkdirError(f"{folder} is a file, not a directory: move it away.")
    for path in (workdir, folder):
        _check_writable(path)
    recorded_path = os.path.join(workdir, CONFIG_FILE)
    if not (os.path.exists(recorded_path) and checkpoints.on_disk(folder)):
        return  # no checkpoint whose meaning could change
    try:
        with open(recorded_path) as f:
            recorded = json.load(f)
    except (OSError, ValueError) as e:
        raise WorkdirError(f"{recorded_path} cannot be read ({e}): restore it, or use "
                           f"another --workdir.") from None
    diff = differences(recorded, config, meaning)
    if not diff:
        return
    listed = ", ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in diff)
    if allow_config_change:
        logging.warning("%s: continuing its checkpoints with a changed config (%s), as "
                        "--allow_config_change asks.", workdir, listed)
        return
    raise WorkdirError(f"{workdir} holds checkpoints of another config ({listed}); they "
                       f"would mean something else. Use another --workdir, or pass "
                       f"--allow_config_change to continue them with these values on "
                       f"purpose.")


def _check_writable(path: str) -> None:
    """Create and remove a file in `path` (or in its nearest existing parent): os.access
    says yes to root even on a read-only file system."""
    probe = path
    while not os.path.exists(probe):
        parent = os.path.dirname(os.path.abspath(probe))
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise WorkdirError(f"{probe} is a file: --workdir cannot be created under it.")
    test = os.path.join(probe, f".vsml_write_test.{os.getpid()}")
    try:
        with open(test, "w"):
            pass
        os.remove(test)
    except OSError as e:
        raise WorkdirError(f"{probe} is not writable ({e.strerror}): fix its permissions "
                           f"or use another --workdir.") from None


def claim(config, workdir: str) -> None:
    """Chief only, after `check`: create the workdir, lock it for this process and record
    the config. Holding the lock again in the same process is a no-op."""
    tf.io.gfile.makedirs(workdir)
    if _local(workdir):
        _lock(workdir)
    write_config(config, workdir)


def write_config(config, workdir: str) -> None:
    """WORKDIR/config.json, the resolved config (written atomically)."""
    path = os.path.join(workdir, CONFIG_FILE)
    with tf.io.gfile.GFile(path + ".tmp", "w") as f:
        json.dump(config.to_dict(), f, indent=2, sort_keys=True, default=str)
    tf.io.gfile.rename(path + ".tmp", path, overwrite=True)


def _lock(workdir: str) -> None:
    key = os.path.realpath(workdir)
    if key in _held:
        return
    path = os.path.join(workdir, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise WorkdirError(f"{workdir} is in use by another vsml-train (PID {holder}, lock "
                           f"{path}): wait for it to finish, stop it, or use another "
                           f"--workdir.") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held[key] = fd  # released when this process exits (or by `release`)


def release(workdir: str) -> None:
    fd = _held.pop(os.path.realpath(workdir), None)
    if fd is not None:
        os.close(fd)


def read_config(workdir: str) -> ml_collections.ConfigDict:
    """The resolved config a vsml-train run wrote to WORKDIR/config.json."""
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.exists(path):
        raise MissingFileError(f"No {CONFIG_FILE} in {workdir}: not the workdir of a "
                                f"vsml-train run (nor a shipped learner's directory).")
    with open(path) as f:
        return config_from_json(json.load(f), path)


def config_from_json(values: dict, where: str) -> ml_collections.ConfigDict:
    """The config that `as_json` (config.json's content) describes; `where` names its
    origin in errors."""
    config = base_config()

    def merge(target, values, prefix):
        for key, value in values.items():
            if key not in target:
                raise ConfigError(f"{where}: unknown config key '{prefix}{key}' (a run of "
                                  f"another version of vsml_tf?).")
            if isinstance(target[key], ml_collections.ConfigDict):
                merge(target[key], value, f"{prefix}{key}.")
            elif per_worker.is_worker_split(value):  # written as 'worker_split([...])'
                with target.ignore_type():
                    target[key] = per_worker.parse(value)
            else:
                target[key] = value

    merge(config, values, "")
    validate(config)
    return config
