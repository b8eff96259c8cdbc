"""Does a learner keep learning on a long stream? Window means of meta-test curves.

    vsml-evaluate --pretrained=NAME --config.evaluation.datasets=mnist \\
        --config.evaluation.episode_length=10000 --config.evaluation.num_episodes=8 \\
        --eval_dir=OUT
    python -m vsml_tf.tools.stability OUT/curves.csv --window=1000 --tolerance=0.01

For each (learner, dataset) of a `curves.csv` (`vsml_tf.runs.curves`), the mean accuracy
over consecutive `--window`-step windows, and the check of issue 30: every window at
least the previous one's minus `--tolerance` (a learner that collapses or unlearns past
its meta-training horizon fails it). Prints a table; exits 1 if any curve fails;
`--plot=PATH` draws the window means.
"""

from __future__ import annotations

import sys

import numpy as np
from absl import app, flags

from vsml_tf.runs import curves

WINDOW = flags.DEFINE_integer("window", 1000, "steps per window")
TOLERANCE = flags.DEFINE_float("tolerance", 0.01, "largest allowed drop between windows")
PLOT = flags.DEFINE_string("plot", "", "write a PNG of the window means here")


def window_means(accuracy: np.ndarray, window: int) -> np.ndarray:
    """accuracy [episodes, T] -> mean over episodes and steps of each full window."""
    count = accuracy.shape[1] // window
    if count == 0:
        raise ValueError(f"The curves have {accuracy.shape[1]} steps, fewer than one "
                         f"window of {window}; pass a smaller --window.")
    return accuracy[:, :count * window].reshape(accuracy.shape[0], count, window).mean((0, 2))


def largest_drop(means: np.ndarray) -> float:
    """The largest fall from one window to the next (0 when it never falls)."""
    return float(max(0.0, np.max(means[:-1] - means[1:]))) if len(means) > 1 else 0.0


def report(results: list[dict], window: int, tolerance: float) -> tuple[str, bool]:
    """(a Markdown table of window means with each curve's largest drop, all passed)."""
    count = min(r["accuracy"].shape[1] for r in results) // window
    header = ["learner", "dataset", "episodes"] + [
        f"{i * window}-{(i + 1) * window - 1}" for i in range(count)] + ["largest drop",
                                                                       "check"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    passed = True
    for r in results:
        means = window_means(r["accuracy"], window)[:count]
        drop = largest_drop(means)
        ok = drop <= tolerance
        passed &= ok
        cells = [r["learner"], r["dataset"], str(r["accuracy"].shape[0])]
        cells += [f"{m:.3f}" for m in means] + [f"{drop:.3f}",
                                                 "pass" if ok else f"FAIL (> {tolerance})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), passed


def plot(path: str, results: list[dict], window: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    styles = curves.curve_styles([f"{r['learner']} / {r['dataset']}" for r in results])
    for r in results:
        label = f"{r['learner']} / {r['dataset']}"
        means = window_means(r["accuracy"], window)
        ends = (np.arange(len(means)) + 1) * window
        ax.plot(ends, means, marker="o", label=label, **styles[label])
    ax.set_xlabel(f"online step (end of each {window}-step window)")
    ax.set_ylabel("accuracy over the window")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    curves.save_png(fig, path)
    plt.close(fig)


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("Pass one curves.csv (vsml-evaluate's --eval_dir output).")
    results = curves.read_csv(argv[1])
    table, passed = report(results, WINDOW.value, TOLERANCE.value)
    print(table)
    if PLOT.value:
        plot(PLOT.value, results, WINDOW.value)
    sys.exit(0 if passed else 1)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
