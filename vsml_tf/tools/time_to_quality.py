"""Wall time until meta-training yields a working learner, per seed and recipe.

    python -m vsml_tf.tools.time_to_quality                    # quickstart vs one_shard
    python -m vsml_tf.tools.time_to_quality --config=configs/quickstart.py:es \
        --recipes=quickstart,clone_gradient                   # ES vs today's quickstart

A recipe is the config (`--config`, default the quickstart) with overrides: a name from
RECIPES or `NAME:key=value;key=value`. Each run meta-trains from scratch, meta-tests
every `--every` iterations on `--quick_episodes` held-out episodes and, when those pass
the bar, confirms on `--episodes` (the bar: accuracy over steps 0-49 and 300-399 of the
evaluation episodes, the quickstart's 0.55 / 0.80). The time to quality is the wall time
of training and of every evaluation up to the confirmed pass. Runs go seed by seed with
the recipes alternating, so that a shared machine's load hits all recipes alike; the
summary gives per recipe the median over seeds and its ratio to the first recipe's. A
recipe that starts from a clone made in the run (`training.init_from=clone`, e.g.
`es_from_clone`) has its cloning time counted.
"""

from __future__ import annotations

import ast
import statistics
import time

from absl import app, flags

from vsml_tf.apps.cli import CONFIG as _CONFIG  # the one --config flag of every command
from vsml_tf.core.errors import UserError
from vsml_tf.meta.meta_test import meta_test
from vsml_tf.runs import builder
from vsml_tf.runs.config import split_list
from vsml_tf.runs.presets import CLONE_NETWORK, CLONE_THEN_GRADIENT, GRADIENT_FROM_CLONE

# Built-in recipes: overrides of --config. docs/experiments/quickstart.md measured them over the ES
# quickstart, --config=configs/quickstart.py:es (the package's quickstart before
# clone_gradient became it).
RECIPES = {
    "quickstart": {},                                # --config as it is
    "one_shard": {"training.num_shards": 1},         # the decomposition before 8 shards
    # configs/gradient.py:from_clone on the quickstart's episodes: gradient meta-training
    # from the shipped clone of online SGD (its 5 min of cloning are not counted).
    "from_clone": {"training.algorithm": "gradient", "training.remat": True,
                   "training.init_from": "clone_backprop", **CLONE_NETWORK},
    # configs/gradient.py:clone_first: clone online SGD in the run (counted), then
    # gradient meta-training from the clone.
    "grad_clone": GRADIENT_FROM_CLONE,
    # configs/quickstart.py's recipe (over the ES quickstart, configs/quickstart.py:es):
    # grad_clone with 500 cloning steps, Adam 1e-2 cosine-decayed over 300 iterations.
    "clone_gradient": CLONE_THEN_GRADIENT,
    # ES with centered-rank fitness from a clone of online SGD made in the run (its
    # cloning time is counted).
    "es_from_clone": {"training.algorithm": "es", "training.init_from": "clone",
                      "es.fitness_shaping": "centered_rank", "es.sigma": 0.02,
                      **CLONE_NETWORK},
}

_RECIPES = flags.DEFINE_list("recipes", ["quickstart", "one_shard"], "Recipes to compare "
                             "(RECIPES names or NAME:key=value;key=value).")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds.")
_EVERY = flags.DEFINE_integer("every", 50, "Iterations between quick evaluations.")
_QUICK = flags.DEFINE_integer("quick_episodes", 16, "Episodes of the quick evaluation.")
_EPISODES = flags.DEFINE_integer("episodes", 64, "Episodes of the confirming evaluation.")
_EARLY = flags.DEFINE_float("early_bar", 0.55, "Accuracy bar over steps 0-49.")
_LATE = flags.DEFINE_float("late_bar", 0.80, "Accuracy bar over steps 300-399.")
_MAX = flags.DEFINE_integer("max_iterations", 3000, "Give up after this many iterations.")


def parse_recipe(spec: str) -> tuple[str, dict]:
    """'NAME' (from RECIPES) or 'NAME:key=value;key=value' -> (name, overrides)."""
    if ":" not in spec:
        if spec not in RECIPES:
            raise UserError(f"Unknown recipe {spec!r}: use one of {', '.join(RECIPES)} or "
                            f"NAME:key=value;key=value.")
        return spec, RECIPES[spec]
    name, body = spec.split(":", 1)
    overrides = {}
    for item in filter(None, body.split(";")):
        if "=" not in item:
            raise UserError(f"Recipe {name!r}: {item!r} is not key=value.")
        key, value = item.split("=", 1)
        try:
            overrides[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            overrides[key.strip()] = value.strip()
    return name, overrides


def windows_pass(acc, early_bar: float, late_bar: float) -> tuple[bool, float, float]:
    """(passes, accuracy over steps 0-49, over 300-399) of per-step accuracies [E, T]."""
    early, late = float(acc[:, 0:50].mean()), float(acc[:, 300:400].mean())
    return early >= early_bar and late >= late_bar, early, late


def time_to_quality(config, every: int, quick: int, episodes: int, early_bar: float,
                    late_bar: float, max_iterations: int, log=print) -> dict:
    """Meta-train `config` until its learner passes the bar (see module docstring)."""
    trainer = builder.build_trainer(config)
    started = time.perf_counter()  # a clone made here (init_from='clone') is counted
    if config.training.init_from:  # as vsml-train: another learner's or a clone's start
        log(f"  starting from {builder.start_from(trainer, config, log=lambda _: None)}")
    sampler = builder.sampler(config, trainer.learner,
                                 split_list(config.evaluation.datasets)[0], "test",
                                 config.evaluation.episode_length)
    early, late = float("nan"), float("nan")

    def evaluate(num):
        _, acc = meta_test(trainer.runner, trainer.theta, sampler, num, seed=config.seed,
                           chunk=config.evaluation.chunk)
        return windows_pass(acc, early_bar, late_bar)

    for iteration in range(1, max_iterations + 1):
        trainer.step()
        if iteration % every:
            continue
        passed, early, late = evaluate(quick)
        log(f"  iteration {iteration}: {early:.3f} / {late:.3f} on {quick} episodes "
            f"({time.perf_counter() - started:.0f} s)")
        if passed:
            passed, early, late = evaluate(episodes)
            log(f"  confirm on {episodes} episodes: {early:.3f} / {late:.3f}")
            if passed:
                return dict(reached=True, iterations=iteration, early=early, late=late,
                            seconds=time.perf_counter() - started)
    return dict(reached=False, iterations=max_iterations, early=early, late=late,
                seconds=time.perf_counter() - started)


def main(argv):
    del argv
    recipes = [parse_recipe(spec) for spec in _RECIPES.value]
    results = {name: [] for name, _ in recipes}
    for seed in map(int, _SEEDS.value):
        for name, overrides in recipes:
            config = _CONFIG.value.copy_and_resolve_references()
            config.update_from_flattened_dict(dict(overrides, seed=seed))
            print(f"{name}, seed {seed}:", flush=True)
            result = time_to_quality(config, _EVERY.value, _QUICK.value, _EPISODES.value,
                                     _EARLY.value, _LATE.value, _MAX.value,
                                     log=lambda line: print(line, flush=True))
            results[name].append(dict(result, seed=seed))
    print(f"\n{'recipe':<16} {'seed':>4} {'reached':>8} {'iterations':>10} {'seconds':>8} "
          f"{'0-49':>6} {'300-399':>8}")
    first = None
    for name, runs in results.items():
        for r in runs:
            print(f"{name:<16} {r['seed']:>4} {str(r['reached']):>8} {r['iterations']:>10} "
                  f"{r['seconds']:>8.0f} {r['early']:>6.3f} {r['late']:>8.3f}")
        median = statistics.median(r["seconds"] for r in runs)
        first = first or median
        every_seed = all(r["reached"] for r in runs)
        print(f"{name:<16} median {median:.0f} s ({median / first:.2f}x of the first recipe"
              f"{'' if every_seed else '; some seeds did not reach the bar'})")


if __name__ == "__main__":
    app.run(main)
