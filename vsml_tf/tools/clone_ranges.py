"""What online SGD of the cloned network produces in an episode: the ranges to clone.

    python -m vsml_tf.tools.clone_ranges --data_dir=DIR [--hidden=32] \\
        [--settings=60:1,80:0.5] [--episodes=4] [--steps=2000]

Runs the SGD target of vsml_tf/meta/cloning.py (784 -> hidden -> 10, phi(u) = sigmoid(8 u),
step alpha per connection, weights kappa * truncated normal / sqrt(fan-in)) on MNIST test
episodes, in NumPy, for each kappa:alpha of --settings, and prints its accuracy and the
percentiles (90, 99, 99.9, max) of the hidden layer's error |delta| and of each layer's
weights in state units |c| = |w| / kappa. The cloning draws errors over +-1
(clone.delta_range more) and weights |c| <= 0.5: where an episode leaves those ranges,
the clone meets inputs it was never taught (configs/clone_backprop.py:deep).
"""

from __future__ import annotations

import argparse

import numpy as np

from vsml_tf.datasets.images import IMAGE_SETS
from vsml_tf.meta.cloning import GAIN

PERCENTILES = (90, 99, 99.9, 100)


def phi(u):
    return 1.0 / (1.0 + np.exp(-GAIN * u))


def episode(xs, ys, weights, alpha: float, alpha_bias: float, record_every: int = 100):
    """Online SGD of the cloned network on one episode (xs [T, A], ys one-hot [T, C]).

    weights: [(w [A, B], beta [A, B]), ...] per layer, updated in place. Returns (logits
    [T, C], recorded: dict of per-layer errors and weights every `record_every` steps)."""
    logits_all = []
    recorded = {"delta": [[] for _ in weights], "w": [[] for _ in weights]}
    for t, (x, y) in enumerate(zip(xs, ys)):
        u, inputs = x, []
        for w, beta in weights:
            inputs.append(u)
            u = (phi(u)[:, None] * w + beta).mean(0)
        logits = 100.0 * np.tanh(u / 100.0)
        p = np.exp(logits - logits.max())
        delta = p / p.sum() - y
        logits_all.append(logits)
        for layer in reversed(range(len(weights))):
            w, beta = weights[layer]
            s = phi(inputs[layer])
            back = ((GAIN * s * (1.0 - s))[:, None] * w * delta[None]).mean(1)
            if t % record_every == record_every - 1:
                recorded["delta"][layer].append(np.abs(delta))
                recorded["w"][layer].append(np.abs(w).ravel())
            w -= alpha * s[:, None] * delta[None]
            beta -= alpha_bias * delta[None]
            delta = back
    return np.array(logits_all), recorded


def truncated_normal(rng, shape):
    z = rng.standard_normal(shape)
    while (bad := np.abs(z) > 2).any():
        z[bad] = rng.standard_normal(bad.sum())
    return z


def measure(images, labels, kappa: float, alpha: float, hidden: int, episodes: int,
            steps: int, alpha_bias: float = 0.01, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    sizes = [images.shape[1]] + ([hidden] if hidden else []) + [10]
    correct, deltas, ws = [], [[] for _ in sizes[1:]], [[] for _ in sizes[1:]]
    for _ in range(episodes):
        idx = rng.choice(len(images), steps)
        weights = [(kappa * truncated_normal(rng, (a, b)) / np.sqrt(a), np.zeros((a, b)))
                   for a, b in zip(sizes[:-1], sizes[1:])]
        logits, rec = episode(images[idx], np.eye(10)[labels[idx]], weights, alpha,
                              alpha_bias)
        correct.append(logits.argmax(-1) == labels[idx])
        for layer in range(len(weights)):
            deltas[layer] += rec["delta"][layer]
            ws[layer] += rec["w"][layer]
    correct = np.array(correct, np.float64)
    q = lambda v: np.percentile(np.concatenate(v), PERCENTILES)  # noqa: E731
    return {"accuracy_0_100": correct[:, :100].mean(),
            "accuracy_late": correct[:, steps // 2:].mean(),
            "delta": [q(d) for d in deltas], "c": [q(w) / kappa for w in ws]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vsml_tf.tools.clone_ranges",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", required=True, help="DIR with mnist/ official files")
    parser.add_argument("--settings", default="60:1,80:0.5", help="kappa:alpha,...")
    parser.add_argument("--hidden", type=int, default=32, help="0: one layer 784 -> 10")
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args(argv)

    mnist = IMAGE_SETS["mnist"]
    images, labels = mnist.read_files(f"{args.data_dir}/mnist", "test")
    images = (images.reshape(len(images), -1) / 255.0 - mnist.mean) / mnist.std
    fmt = lambda v: "/".join(f"{x:.2f}" for x in v)  # noqa: E731
    print(f"percentiles {PERCENTILES} of |delta| (hidden layer) and |c| per layer; "
          f"accuracy over steps 0-99 and {args.steps // 2}-{args.steps}")
    for setting in args.settings.split(","):
        kappa, alpha = map(float, setting.split(":"))
        r = measure(images, labels, kappa, alpha, args.hidden, args.episodes, args.steps)
        hidden_delta = f"  hidden |delta| {fmt(r['delta'][0])}" if args.hidden else ""
        print(f"kappa {kappa:g} alpha {alpha:g}: accuracy {r['accuracy_0_100']:.3f} / "
              f"{r['accuracy_late']:.3f}{hidden_delta}  " +
              "  ".join(f"layer {i} |c| {fmt(c)}" for i, c in enumerate(r["c"])))


if __name__ == "__main__":
    main()
