"""Use a shipped learned learner on your own arrays: no training, no gradient.

    python examples/own_arrays.py [--learner=quickstart_digits] [--examples=300]

A learned learner is a learning algorithm: shown labelled examples one at a time, it
learns them in its activations. This script (1) runs one episode on a stream of your
examples and prints how its online accuracy grows (each example is predicted before its
label is shown), (2) meta-tests it on random orders of the same arrays, and (3) uses it
as a scikit-learn classifier, fitted on one part and scored on another. The arrays here
are scikit-learn's 8x8 digits; any [n, features] floats and labels work the same way.
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits

import vsml_tf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", default="quickstart_digits",
                        help="a shipped learner (python -m vsml_tf.apps.pretrained) or a "
                             "vsml-train workdir")
    parser.add_argument("--examples", type=int, default=300, help="examples learned")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order].astype(np.float32), y[order]
    n = args.examples

    learner = vsml_tf.load_learner(args.learner)
    print(learner, "-", learner.metadata.get("command", learner.metadata.get("workdir")))

    # 1. One episode: the examples in this order, one step each.
    episode = learner.run_episode(X[:n], y[:n])
    steps = episode.steps
    print(f"one episode of {steps} steps, online accuracy: first 50 "
          f"{episode.window(0, 50):.3f}, last 100 {episode.window(-100):.3f}")

    # 2. Meta-test: 8 random orders of the same examples (episodes of a fixed seed).
    result = learner.meta_test((X[:n], y[:n]), episodes=8, seed=0)
    print("meta-test on your arrays:", result.summary())

    # 3. A scikit-learn estimator: fit learns the examples online, predict leaves its
    # state unchanged.
    clf = learner.classifier().fit(X[:n], y[:n])
    print(f"classifier: held-out accuracy {clf.score(X[n:n + 500], y[n:n + 500]):.3f} "
          f"after {n} examples (chance {1 / len(np.unique(y)):.2f})")


if __name__ == "__main__":
    main()
