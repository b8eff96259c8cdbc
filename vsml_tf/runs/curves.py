"""Learning curves of meta-test episodes: CSV rows, a plot and a summary table.

`curves.csv` has one row per (learner, dataset, episode, step) with columns
learner, dataset, episode, step, loss, accuracy -- the raw material of the paper's
learning-curve figures.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict

import numpy as np

COLUMNS = ("learner", "dataset", "episode", "step", "loss", "accuracy")


def write_csv(path: str, results: list[dict]) -> None:
    """results: dicts with learner, dataset, loss [episodes, T], accuracy [episodes, T]."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for r in results:
            episodes, steps = r["accuracy"].shape
            for e in range(episodes):
                for t in range(steps):
                    writer.writerow((r["learner"], r["dataset"], e, t,
                                     f"{r['loss'][e, t]:.6g}", f"{r['accuracy'][e, t]:.6g}"))
    os.replace(tmp, path)


def read_csv(path: str) -> list[dict]:
    """Inverse of `write_csv`."""
    rows = defaultdict(dict)
    with open(path) as f:
        for row in csv.DictReader(f):
            key = (row["learner"], row["dataset"])
            rows[key][(int(row["episode"]), int(row["step"]))] = (float(row["loss"]),
                                                                 float(row["accuracy"]))
    results = []
    for (learner, dataset), cells in rows.items():
        episodes = 1 + max(e for e, _ in cells)
        steps = 1 + max(t for _, t in cells)
        loss = np.zeros((episodes, steps))
        acc = np.zeros((episodes, steps))
        for (e, t), (l, a) in cells.items():
            loss[e, t], acc[e, t] = l, a
        results.append(dict(learner=learner, dataset=dataset, loss=loss, accuracy=acc))
    return results


def plot(path: str, results: list[dict], smooth: int = 10) -> None:
    """Accuracy vs online step: mean over episodes with a +-1 std band per curve, one curve
    per (learner, dataset)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    many = len(results) > 6  # comparisons: distinct colors, faint bands, legend outside
    fig, ax = plt.subplots(figsize=(9.5 if many else 7, 4.5))
    colors = plt.get_cmap("tab10" if len(results) <= 10 else "tab20").colors
    learners = {r["learner"] for r in results}
    datasets = {r["dataset"] for r in results}
    for i, r in enumerate(results):
        acc = r["accuracy"]
        if smooth > 1 and acc.shape[1] > smooth:  # moving average over steps
            kernel = np.ones(smooth) / smooth
            acc = np.stack([np.convolve(a, kernel, mode="valid") for a in acc])
        steps = np.arange(acc.shape[1]) + (smooth - 1 if acc.shape[1] != r["accuracy"].shape[1]
                                           else 0)
        mean, std = acc.mean(0), acc.std(0)
        label = (r["dataset"] if len(learners) == 1 else r["learner"] if len(datasets) == 1
                 else f"{r['learner']} / {r['dataset']}")
        color = colors[i % len(colors)]
        ax.plot(steps, mean, label=label, color=color)
        ax.fill_between(steps, mean - std, mean + std, color=color,
                        alpha=0.2 if len(results) <= 3 else 0.07)
    ax.set_xlabel("online step (examples seen)")
    ax.set_ylabel(f"accuracy (moving average over {smooth} steps)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    if many:
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        ax.legend(fontsize="small" if len(results) > 3 else None)
    ax.set_title("Meta-test learning curves" if len(learners) == 1 else
                 f"Meta-test learning curves of {len(learners)} learners on the same episodes")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def windows(steps: int) -> list[tuple[int, int]]:
    """Step windows reported in the summary: the first 50, 300-399, and the last 100."""
    out = [(0, min(50, steps))]
    if steps >= 400:
        out.append((300, 400))
    if steps > 100 and (steps - 100, steps) not in out:
        out.append((steps - 100, steps))
    return out


def summary_table(results: list[dict]) -> str:
    """One line per (learner, dataset): mean accuracy over the windows of `windows`."""
    width = max([12] + [len(r["learner"]) for r in results])
    lines = []
    header = f"{'learner':<{width}} {'dataset':<16} {'episodes':>8}  accuracy by online steps"
    lines.append(header)
    lines.append("-" * len(header))
    for r in results:
        acc = r["accuracy"]
        cells = "  ".join(f"[{a}:{b}] {acc[:, a:b].mean():.3f}" for a, b in windows(acc.shape[1]))
        lines.append(f"{r['learner']:<{width}} {r['dataset']:<16} {acc.shape[0]:>8}  {cells}")
    return "\n".join(lines)


def write_outputs(results: list[dict], out: str) -> str:
    """curves.csv, curves.png and summary.txt (the summary table, returned) into `out`."""
    write_csv(os.path.join(out, "curves.csv"), results)
    plot(os.path.join(out, "curves.png"), results)
    table = summary_table(results)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write(table + "\n")
    return table
