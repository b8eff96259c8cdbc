"""Meta-test a learned learner against online SGD with a tuned learning rate.

    python examples/vs_sgd.py [--learner=quickstart_digits] [--dataset=digits]
        [--episodes=8] [--steps=200] [--rates=0.01,0.03,0.1,0.3,1]

Both learn the same episodes (the same examples in the same order, from a fixed seed),
one example per step, each example predicted before its label is shown. Online SGD (a
linear classifier, one gradient step per example) gets every learning rate of --rates
and is reported at its best one per window: tuned on the test episodes, an upper bound
of what tuning could give it. The learned learner gets no tuning. This is the
comparison `python -m vsml_tf.tools.tune_sgd` makes at scale (its whole grid, written
to a workdir); this script keeps the defaults small enough for a laptop's CPU.
"""

import argparse

import ml_collections
import tensorflow as tf

import vsml_tf
from vsml_tf.runs import builder
from vsml_tf.tools import tune_sgd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", default="quickstart_digits",
                        help="a shipped learner or a vsml-train workdir")
    parser.add_argument("--dataset", default="digits",
                        help="digits, sum and random need no files (see docs/datasets.md)")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rates", default="0.01,0.03,0.1,0.3,1",
                        help="learning rates tried for online SGD")
    args = parser.parse_args()

    tf.get_logger().setLevel("ERROR")  # one compiled meta-test per learning rate: planned
    learner = vsml_tf.load_learner(args.learner)
    chunk = min(args.episodes, 8)
    result = learner.meta_test(args.dataset, episodes=args.episodes, steps=args.steps,
                               seed=args.seed, chunk=chunk)
    windows = tune_sgd.default_windows(args.steps)  # the first 100 steps, the last quarter
    rows = {learner.name: {w: result.window(*w) for w in windows}}

    # The same episodes for SGD: the learner's config with these meta-test settings.
    config = ml_collections.ConfigDict(learner.config.to_dict())
    config.seed = args.seed
    config.evaluation.update(datasets=args.dataset, num_episodes=args.episodes,
                             episode_length=args.steps, chunk=chunk)
    grid = {}
    for rate in (float(r) for r in args.rates.split(",")):
        sgd = tune_sgd.baseline_config(config, "sgd", "linear", rate)
        runner, theta = builder.load_meta_params(sgd, None)  # SGD has no meta-parameters
        (curves,) = builder.meta_test_datasets(sgd, runner, theta)
        grid[rate] = tune_sgd.window_means(curves["accuracy"], windows)
    rates = {w: max(grid, key=lambda rate: grid[rate][w]) for w in windows}
    rows["online SGD (tuned)"] = {w: grid[rates[w]][w] for w in windows}

    print(f"{args.dataset}: {args.episodes} episodes of {args.steps} steps, mean accuracy")
    print(f"{'':<20}" + "".join(f"{f'steps {a}-{b - 1}':>16}" for a, b in windows))
    for name, cells in rows.items():
        print(f"{name:<20}" + "".join(f"{v:>16.3f}" for v in cells.values()))
    print(f"{'  at learning rate':<20}" + "".join(f"{rates[w]:>16g}" for w in windows))

if __name__ == "__main__":
    main()
