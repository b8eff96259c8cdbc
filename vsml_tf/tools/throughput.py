"""How fast episodes are produced, against how fast the learner consumes them.

    python -m vsml_tf.tools.throughput --datasets=mnist,digits --data_dir=DIR

Both numbers are examples per second inside an XLA-compiled function, as in the
meta-trainer: the pipeline alone (`sampler_throughput`: sample one batch of episodes,
preprocess it), and a whole ES meta-training step (`learner_throughput`: sampling plus
the learner on 2 x population episodes). The pipeline must be far faster than the step.
"""

from __future__ import annotations

import argparse
import os
import time

import tensorflow as tf

from vsml_tf.core import rng
from vsml_tf.runs import builder
from vsml_tf.runs.config import base_config


def _time(fn, repeats: int) -> float:
    """Seconds per call after one warm-up (compile) call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def sampler_throughput(sampler, members: int = 8, repeats: int = 20) -> dict:
    """Examples/s of `sampler.sample` for `members` episodes per compiled call."""
    seeds = rng.member_seeds(0, 0, rng.Purpose.DATA, tf.range(members))
    sample = tf.function(sampler.sample, jit_compile=True)
    # Reduce on the device, so the time excludes copying the episodes to the host.
    fn = tf.function(lambda s: tf.reduce_sum(sample(s)[0]), jit_compile=True)
    seconds = _time(lambda: fn(seeds).numpy(), repeats)
    examples = members * sampler.steps * sampler.batch_size
    return dict(examples_per_second=examples / seconds, seconds_per_call=seconds,
                examples_per_call=examples)


def learner_throughput(config, repeats: int = 3) -> dict:
    """Examples/s consumed by one ES (or gradient) meta-training step of `config`."""

    trainer = builder.build_trainer(config)
    seconds = _time(trainer.step, repeats)
    shards = trainer.samplers  # each shard's episodes have their own length
    examples = (trainer.estimator.episodes_per_iteration // len(shards)
                * sum(s.steps for s in shards) * config.data.batch_size)
    return dict(examples_per_second=examples / seconds, seconds_per_call=seconds,
                examples_per_call=examples)


def _config(dataset: str, data_dir: str, steps: int, population: int):

    config = base_config()
    config.data.dataset = dataset
    config.data.data_dir = data_dir
    config.training.episode_length = steps
    config.es.population_size = population
    return config


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="mnist,digits")
    parser.add_argument("--data_dir", default=os.environ.get("VSML_DATA_DIR", ""),
                        help="official files (default $VSML_DATA_DIR; '' = TFDS)")
    parser.add_argument("--steps", type=int, default=50, help="episode length T")
    parser.add_argument("--members", type=int, default=16,
                        help="episodes per sampler call (= 2 x population in ES)")
    parser.add_argument("--population", type=int, default=8, help="ES antithetic pairs")
    parser.add_argument("--no_learner", action="store_true", help="skip the ES step")
    args = parser.parse_args(argv)


    rows = []
    for dataset in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        config = _config(dataset, args.data_dir, args.steps, args.population)
        learner = builder.new_learner(config)
        sampler = builder.sampler(config, learner, dataset, "train", args.steps)
        row = dict(dataset=dataset, shape="x".join(map(str, sampler.preprocessor.output_shape)),
                   pipeline=sampler_throughput(sampler, args.members)["examples_per_second"])
        if not args.no_learner:
            row["learner"] = learner_throughput(config)["examples_per_second"]
        rows.append(row)
        learner_text = (f"  ES step ({args.population} pairs, T={args.steps}) "
                        f"{row['learner']:>11,.0f} examples/s  ratio "
                        f"{row['pipeline'] / row['learner']:,.0f}x" if "learner" in row else "")
        print(f"{dataset:<14} {row['shape']:<9} pipeline {row['pipeline']:>12,.0f} "
              f"examples/s{learner_text}", flush=True)
    return rows


if __name__ == "__main__":
    main()
