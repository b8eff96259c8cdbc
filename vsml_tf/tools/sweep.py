"""Sweeps: a file whose `get_sweep()` returns a list of {config key: value} points
(plus an optional 'name' for the point's workdir).

    python -m vsml_tf.tools.sweep configs/sweeps/NAME.py            # one line per point
    python -m vsml_tf.tools.sweep configs/sweeps/NAME.py --index=3  # the flags of point 3

Each point becomes `--config.KEY=VALUE` flags for vsml-train / vsml-evaluate, so a sweep
runs on any launcher: a shell loop, a Slurm array (launchers/slurm/sweep.sbatch), ...
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys

from vsml_tf.runs.config import ConfigError, check_override


def load(path: str) -> list[dict]:
    spec = importlib.util.spec_from_file_location("vsml_sweep", path)
    if spec is None:
        raise FileNotFoundError(f"No sweep file {path!r}.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    points = list(module.get_sweep())
    for point in points:
        for key in point:
            if key != "name":
                check_override(key)
    return points


def _format(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def flags_for(point: dict) -> list[str]:
    return [f"--config.{key}={_format(value)}" for key, value in point.items()
            if key != "name"]


def name_for(point: dict) -> str:
    """A short, filesystem-safe name for a point (its 'name', else from its values)."""
    parts = [point["name"]] if "name" in point else [
        f"{key.rsplit('.', 1)[-1]}={_format(value)}" for key, value in point.items()]
    return re.sub(r"[^A-Za-z0-9=._+-]+", "_", "-".join(parts)) or "default"


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--index=")]
    index = [int(a.split("=", 1)[1]) for a in argv if a.startswith("--index=")]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        points = load(args[0])
    except (ConfigError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if index:
        if not 0 <= index[0] < len(points):
            print(f"error: --index={index[0]} outside 0..{len(points) - 1}", file=sys.stderr)
            return 2
        print(shlex.join(flags_for(points[index[0]])))  # quoted: eval-able in a shell
        return 0
    for i, point in enumerate(points):
        print(f"{i}\t{name_for(point)}\t{shlex.join(flags_for(point))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
