"""Seconds per meta-training iteration of one config for several `training.num_shards`.

    python -m vsml_tf.tools.shard_speed --config=configs/quickstart.py --shards=1,2,8

The shards decide theta's bits (not the replicas do), and their size decides the speed:
on a CPU small shards keep an episode's working set in cache, on a GPU large ones fill
the device. This measures it on your machine: all trainers live in one process and
their timed rounds are interleaved (A, B, C, A, B, C, ...), so that the load of a shared
machine hits them alike; it prints each one's median and the median of its per-round
ratios to the first, with their spread.
"""

from __future__ import annotations

import statistics
import time

from absl import app, flags

from vsml_tf.apps.cli import CONFIG as _CONFIG  # the one --config flag of every command
from vsml_tf.runs import builder

_SHARDS = flags.DEFINE_list("shards", ["1", "8"], "training.num_shards values to compare.")
_ROUNDS = flags.DEFINE_integer("timed_rounds", 5, "Interleaved timed rounds.")
_ITERATIONS = flags.DEFINE_integer("iterations", 5, "Iterations per round.")


def main(argv):
    del argv
    trainers = {}
    for shards in map(int, _SHARDS.value):
        config = _CONFIG.value.copy_and_resolve_references()
        config.training.num_shards = shards
        trainer = builder.build_trainer(config)
        started = time.perf_counter()
        trainer.step()  # compiles
        print(f"num_shards={shards}: first iteration (compile) "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        trainers[shards] = trainer
    times = {shards: [] for shards in trainers}
    for _ in range(_ROUNDS.value):
        for shards, trainer in trainers.items():
            started = time.perf_counter()
            for _ in range(_ITERATIONS.value):
                trainer.step()
            times[shards].append((time.perf_counter() - started) / _ITERATIONS.value)
    first = next(iter(trainers))
    for shards, values in times.items():
        ratios = [a / b for a, b in zip(values, times[first])]
        print(f"num_shards={shards:3d}: {statistics.median(values):.3f} s/iteration; vs "
              f"{first}: {statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-"
              f"{max(ratios):.2f})", flush=True)


if __name__ == "__main__":
    app.run(main)
