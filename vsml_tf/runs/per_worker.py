"""Per-worker variation: a config value that differs between meta-training workers.

The paper gives workers different variants of the task: half of them meta-train with
random projections, worker i trains on dataset i mod 5, and so on. A config value may be

    worker_split(options, repeat=1)      # worker i takes options[(i // repeat) % len(options)]

and `for_worker(config, i)` returns the plain config of worker i. Worker indices are
global (ES shard, replica or host, all counted together), so the assignment is the same
on one device, under MirroredStrategy and across hosts.

Python config files assign it inside `config.ignore_type()` (ConfigDict fields are
typed); on the command line and in config.json it is the string
"worker_split([False, True])", which every function here accepts as well:

    with config.ignore_type():
        config.data.rand_proj = worker_split([False, True])
    vsml-train ... --config.data.dataset="worker_split(['mnist', 'kmnist'])"
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from typing import Any, Sequence

import ml_collections
from absl import flags
from ml_collections import config_flags

from vsml_tf.core.errors import UserError

_PREFIX = "worker_split("


@dataclasses.dataclass(frozen=True)
class WorkerSplit:
    """options[(worker // repeat) % len(options)] for worker `worker`."""

    options: tuple
    repeat: int = 1

    def __post_init__(self):
        object.__setattr__(self, "options", tuple(self.options))
        if not self.options:
            raise UserError("worker_split needs at least one option.")
        if not isinstance(self.repeat, int) or self.repeat < 1:
            raise UserError(f"worker_split repeat must be a positive int, not {self.repeat!r}.")
        for option in self.options:
            if isinstance(option, (WorkerSplit, dict, ml_collections.ConfigDict)):
                raise UserError("worker_split options must be plain values (no nesting).")

    def select(self, worker_index: int):
        return self.options[(int(worker_index) // self.repeat) % len(self.options)]

    @property
    def period(self) -> int:
        """Number of consecutive workers after which the assignment repeats."""
        return self.repeat * len(self.options)

    def __str__(self) -> str:
        """The form `parse` reads (strings double-quoted: easy to pass in a shell)."""
        options = ", ".join(json.dumps(o) if isinstance(o, str) else repr(o)
                            for o in self.options)
        repeat = f", repeat={self.repeat}" if self.repeat != 1 else ""
        return f"worker_split([{options}]{repeat})"

    __repr__ = __str__


def worker_split(options: Sequence, repeat: int = 1) -> WorkerSplit:
    """A config value that gives worker i `options[(i // repeat) % len(options)]`."""
    if isinstance(options, str):
        raise UserError(f"worker_split options must be a list, not the string {options!r}.")
    return WorkerSplit(tuple(options), repeat)


def parse(text: str) -> WorkerSplit:
    """'worker_split([a, b], repeat=2)' (literals only) -> WorkerSplit."""
    error = ValueError(f"Cannot parse {text!r}: write worker_split([option, ...]) or "
                       f"worker_split([option, ...], repeat=N) with literal options, e.g. "
                       f"worker_split(['mnist', 'kmnist']).")
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise error from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "worker_split"):
        raise error
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        return worker_split(*args, **kwargs)
    except (ValueError, TypeError, SyntaxError):
        raise error from None


def is_worker_split(value) -> bool:
    return isinstance(value, WorkerSplit) or (isinstance(value, str)
                                              and value.strip().startswith(_PREFIX))


def as_worker_split(value) -> WorkerSplit | None:
    """The WorkerSplit that `value` is (object or string form), else None."""
    if isinstance(value, WorkerSplit):
        return value
    if isinstance(value, str) and value.strip().startswith(_PREFIX):
        return parse(value)
    return None


def select(value, worker_index: int):
    """The value worker `worker_index` uses: `value` itself unless it is a worker_split."""
    split = as_worker_split(value)
    return value if split is None else split.select(worker_index)


def options(value) -> tuple:
    """Every value some worker takes: a worker_split's options, else (value,)."""
    split = as_worker_split(value)
    return (value,) if split is None else split.options


def splits(config: ml_collections.ConfigDict, prefix: str = "") -> dict[str, WorkerSplit]:
    """{'data.rand_proj': WorkerSplit, ...}: every per-worker value in `config`."""
    out = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, ml_collections.ConfigDict):
            out.update(splits(value, path + "."))
        elif (split := as_worker_split(value)) is not None:
            out[path] = split
    return out


def for_worker(config: ml_collections.ConfigDict,
               worker_index: int) -> ml_collections.ConfigDict:
    """A copy of `config` with every worker_split replaced by worker `worker_index`'s
    option. The copy is unlocked and holds no worker_split, so it can be used anywhere a
    plain config can."""
    resolved = ml_collections.ConfigDict(config.to_dict(), type_safe=False)
    for path, split in splits(resolved).items():
        *parents, leaf = path.split(".")
        holder = resolved
        for parent in parents:
            holder = holder[parent]
        holder[leaf] = split.select(worker_index)
    return resolved


def period(config: ml_collections.ConfigDict) -> int:
    """Workers i and i + period(config) get identical configs (1 without worker_split)."""
    return math.lcm(1, *(s.period for s in splits(config).values()))


class _OverrideParser(flags.ArgumentParser):
    """`--config.KEY=VALUE` for a field that holds a worker_split: VALUE is a new
    worker_split, or a plain value that every worker takes (stored as a one-option
    worker_split, so the field keeps its type)."""

    def parse(self, argument):
        if not isinstance(argument, str):
            return argument
        if argument.strip().startswith(_PREFIX):
            return parse(argument)
        try:
            value = ast.literal_eval(argument)
        except (ValueError, SyntaxError):
            value = argument
        return WorkerSplit((value,))

    def flag_type(self) -> str:
        return "worker_split"


config_flags.register_flag_parser_for_type(WorkerSplit, _OverrideParser())


def check_types(config: ml_collections.ConfigDict, reference: ml_collections.ConfigDict):
    """Raise ValueError when a worker_split option's type differs from the type of the
    field in `reference` (the base config): e.g. worker_split(['yes']) for a bool."""
    for path, split in splits(config).items():
        default: Any = reference
        for part in path.split("."):
            default = default[part]
        for option in split.options:
            ok = (type(option) is type(default)
                  or (isinstance(default, float) and type(option) is int)
                  or default is None)
            if not ok:
                raise UserError(f"{path}={split}: option {option!r} is a "
                                f"{type(option).__name__}, the field is a "
                                f"{type(default).__name__}.")
