"""Learning curves of meta-test episodes: CSV rows, a plot and a summary table.

`curves.csv` has one row per (learner, dataset, episode, step) with columns
learner, dataset, episode, step, loss, accuracy -- the raw material of the paper's
learning-curve figures. `plot` / `plot_curves` draw every learning-curve figure of the
package in one style (see the comment above `SMOOTH_FRACTION`).
"""

from __future__ import annotations

import csv
import io
import os
import zlib
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


# --- Plots: one style for every learning-curve figure of the package ------------------
#
# Design (tested in tests/runs/test_curves.py):
# - x axis: log scale of step + 1 (the example's number in the episode), so that steps
#   1-10, 10-100 and 100-2000 each get a fair share of one axis: the first examples, where
#   a learned learner should beat gradient descent, are as visible as the plateau (which
#   is flat, so compressing it loses nothing); an inset would put the early steps on a
#   second axis the reader must match by eye.
# - smoothing: a trailing mean over the last `SMOOTH_FRACTION` of the examples seen
#   (window max(1, floor(fraction * (t + 1))) steps ending at step t). On a log axis that
#   is the same width everywhere (a lag of about a tenth of the step, 0.05 decades); steps
#   0-8 are not smoothed (window 1), no step is lost. 20%, not 10%: 32 episodes of 0/1
#   answers are noisy where windows are short, and 10% left steps 10-100 jagged.
# - band: mean +- 1 standard error over the episodes (of the smoothed per-episode curves),
#   light, without edges; its meaning and the episode count are a legend entry.
# - styles: colour per learner (Okabe-Ito, colour-blind safe; known families always the
#   same colour), line style per variant (solid: fixed labels or none said; dashed:
#   permuted labels); no two curves of a figure share colour and line style.
# - chance: 1/num_classes, grey, long dashes, labelled.

SMOOTH_FRACTION = 0.2
BAND_ALPHA = 0.15
# Okabe & Ito (2008) without yellow (unreadable on white), then three of Paul Tol's.
PALETTE = ("#D55E00", "#0072B2", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#000000",
           "#882255", "#999933", "#332288")
FAMILY_COLORS = {"vsml": "#D55E00", "adam": "#0072B2", "fwmemory": "#009E73",
                 "fwp": "#E69F00", "metarnn": "#56B4E9", "hebbian": "#CC79A7",
                 "sgd": "#000000"}
LINESTYLES = ("-", (0, (4, 2)), (0, (1, 1.5)), (0, (5, 1.5, 1, 1.5)), (0, (8, 2, 1, 2, 1, 2)))
PERMUTED = 1  # index in LINESTYLES: dashed
CHANCE_STYLE = dict(color="0.45", linestyle=(0, (9, 4)), linewidth=1.0)
# Classes per dataset, for the chance line of results without a num_classes entry.
_CLASSES = {"mnist": 10, "fashion_mnist": 10, "kmnist": 10, "emnist": 62, "cifar10": 10,
            "svhn_cropped": 10, "digits": 10, "random": 10, "sum": 2}


def smoothing_windows(steps: int, fraction: float = SMOOTH_FRACTION) -> np.ndarray:
    """Window length per step t: max(1, floor(fraction * (t + 1))) steps, the last
    `fraction` of the examples seen (1: no smoothing; 0.2: steps 0-8 keep their value)."""
    t = np.arange(steps)
    return np.maximum(1, np.floor(fraction * (t + 1) + 1e-9)).astype(int)


def smooth(values: np.ndarray, fraction: float = SMOOTH_FRACTION) -> np.ndarray:
    """Trailing mean along the last axis over `smoothing_windows`: out[..., t] is the mean
    of values[..., t - w_t + 1 : t + 1]. Step 0 keeps its value; same shape as `values`."""
    values = np.asarray(values, dtype=np.float64)
    steps = values.shape[-1]
    if fraction <= 0 or steps == 0:
        return values.copy()
    w = smoothing_windows(steps, fraction)
    cum = np.concatenate([np.zeros(values.shape[:-1] + (1,)), np.cumsum(values, -1)], -1)
    t = np.arange(steps)
    return (cum[..., t + 1] - cum[..., t + 1 - w]) / w


def plotted_steps(steps: int, points: int = 500) -> np.ndarray:
    """Indices of the steps drawn on a log axis: every one of the first 100, then about
    `points` spaced evenly in log(step + 1) (1.5% apart, where the smoothing window spans
    the last 20%: the curve loses nothing); the last step always."""
    log_spaced = np.rint(np.geomspace(1, steps, points)).astype(int) - 1
    return np.unique(np.concatenate([np.arange(min(steps, 100)), log_spaced, [steps - 1]]))


def mean_and_sem(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over episodes (axis 0) and its standard error (0 with one episode)."""
    n = values.shape[0]
    sem = values.std(0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(values.shape[1:])
    return values.mean(0), sem


def split_label(label: str) -> tuple[str, str]:
    """(learner, variant): 'vsml (permuted)' -> ('vsml', 'permuted'),
    'adam_hidden lr=0.0003' -> ('adam_hidden', 'lr=0.0003'), 'sgd' -> ('sgd', '')."""
    name, _, rest = label.strip().partition(" ")
    return name, rest.strip().strip("()").strip()


def _preferred_color(name: str) -> int:
    family = name.split("_")[0].lower()
    color = FAMILY_COLORS.get(name.lower(), FAMILY_COLORS.get(family))
    if color is not None:
        return PALETTE.index(color)
    return zlib.crc32(name.encode()) % len(PALETTE)


def _preferred_linestyle(variant: str) -> int:
    return PERMUTED if "permuted" in variant else 0


def curve_styles(labels) -> dict[str, dict]:
    """{label: dict(color=, linestyle=)}, deterministic: the colour depends on the learner
    (the label's first word): the family's colour of FAMILY_COLORS (the word up to its
    first '_': 'vsml_long' wants vsml's), else one of PALETTE picked by a hash of the
    name; the line style on the variant (the rest): solid for none or 'fixed', dashed for
    'permuted', dotted otherwise. Learners of one figure that want the same colour get
    the next free one of PALETTE (families first, then in sorted order), so a learner
    has the same style in every figure unless another one of that figure wants its
    colour; with more learners than colours, and for variants that would collide, the
    line style moves to the next free one, so that no two labels share both."""
    labels = list(dict.fromkeys(labels))
    names = list(dict.fromkeys(split_label(label)[0] for label in labels))
    known = [n for n in names if n.lower() in FAMILY_COLORS]
    order = known + sorted(n for n in names if n not in known)
    family = {PALETTE.index(c) for c in FAMILY_COLORS.values()}
    color_of, taken = {}, set()
    for name in order:
        i = _preferred_color(name)
        if i in taken:  # next free colour, those of no family first
            free = [j for j in range(len(PALETTE)) if j not in taken]
            i = min(free, key=lambda j: (j in family, (j - i) % len(PALETTE)),
                    default=i)
        taken.add(i)
        color_of[name] = i
    styles, used = {}, set()
    for label in sorted(labels):
        name, variant = split_label(label)
        c, s = color_of[name], _preferred_linestyle(variant)
        for k in range(len(LINESTYLES) * len(PALETTE)):
            if (c, s) not in used:
                break
            s = (s + 1) % len(LINESTYLES)
            if k % len(LINESTYLES) == len(LINESTYLES) - 1:
                c = (c + 1) % len(PALETTE)
        used.add((c, s))
        styles[label] = dict(color=PALETTE[c], linestyle=LINESTYLES[s])
    return styles


def num_classes(result: dict) -> int | None:
    """Classes of a result's episodes: its num_classes entry, else known by dataset name."""
    return result.get("num_classes") or _CLASSES.get(result.get("dataset", ""))


def _episodes(results) -> str:
    counts = sorted({r["accuracy"].shape[0] for r in results})
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def band_label(results) -> str:
    return f"band: mean ± 1 standard error over {_episodes(results)} episodes"


def chance_line(ax, classes: int, label: str | None = None):
    """The chance level 1/classes, grey and labelled."""
    return ax.axhline(1.0 / classes, label=label or f"chance (1/{classes})", zorder=1,
                      **CHANCE_STYLE)


def plot_curves(ax, results: list[dict], styles: dict | None = None,
                fraction: float = SMOOTH_FRACTION, log_x: bool = True,
                legend: bool = True, label_of=None):
    """Accuracy vs step of each result (one curve per result, labelled `label_of(r)`,
    default r['learner']) on `ax` in the package's style (see the comment above).
    Returns the legend's (handles, labels): learners, chance, band."""
    from matplotlib.patches import Patch

    label_of = label_of or (lambda r: r["learner"])
    styles = styles or curve_styles(label_of(r) for r in results)
    steps = 1
    for r in results:
        acc = smooth(r["accuracy"], fraction)
        mean, sem = mean_and_sem(acc)
        x = np.arange(1, acc.shape[1] + 1)
        steps = max(steps, acc.shape[1])
        if log_x:  # smoothed over >= 20% of the steps: 500 points a log axis shows alike
            keep = plotted_steps(acc.shape[1])
            x, mean, sem = x[keep], mean[keep], sem[keep]
        style = styles[label_of(r)]
        ax.fill_between(x, mean - sem, mean + sem, color=style["color"], alpha=BAND_ALPHA,
                        linewidth=0, zorder=2)
        ax.plot(x, mean, label=label_of(r), linewidth=1.5, zorder=3, **style)
    classes = {num_classes(r) for r in results} - {None}
    if len(classes) == 1:
        chance_line(ax, classes.pop())
    if log_x:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        ax.set_xlim(1, max(steps, 2))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("example of the episode (online step + 1), log scale")
    else:
        ax.set_xlim(0, steps)
        ax.set_xlabel("online step")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy" + (f"\n(trailing mean over the last {fraction:.0%} of steps)"
                                if fraction > 0 else ""))
    ax.grid(alpha=0.25, which="major")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(color="0.3", alpha=BAND_ALPHA * 2, linewidth=0))
    labels.append(band_label(results))
    if legend:
        ax.legend(handles, labels, fontsize="small", loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False)
    return handles, labels


def plot(path: str, results: list[dict], title: str | None = None,
         fraction: float = SMOOTH_FRACTION, dpi: int = 110) -> None:
    """The learning curves of `results` into the PNG `path`: one panel per dataset, one
    curve per learner (the style of `plot_curves`), legend on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["dataset"] for r in results))
    styles = curve_styles(r["learner"] for r in results)
    cols = min(len(datasets), 2)
    rows = -(-len(datasets) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols + 2.6, 3.4 * rows + 0.5),
                             squeeze=False, sharey=True)
    entries, chances = {}, {f"chance (1/{num_classes(r)})" for r in results}
    for ax, dataset in zip(axes.flat, datasets):
        mine = [r for r in results if r["dataset"] == dataset]
        handles, labels = plot_curves(ax, mine, styles, fraction, legend=False)
        for h, label in zip(handles, labels):
            if label.startswith("chance") and len(chances) > 1:
                label = "chance (1/number of classes)"
            entries.setdefault(label, h)
        steps = max(r["accuracy"].shape[1] for r in mine)
        ax.set_title(f"{dataset}: {_episodes(mine)} episodes of {steps} steps",
                     fontsize="medium")
        if ax not in axes[:, 0]:
            ax.set_ylabel("")
    for ax in list(axes.flat)[len(datasets):]:
        ax.set_visible(False)
    band = next(h for k, h in entries.items() if k.startswith("band:"))
    labels = sorted((k for k in entries if not k.startswith("band:")),
                    key=lambda k: k.startswith("chance"))  # learners, chance, band
    handles = [entries[k] for k in labels] + [band]
    fig.legend(handles, labels + [band_label(results)], fontsize="small", loc="upper left",
               bbox_to_anchor=(1.0, 0.95 if title else 1.0), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_png(fig, path, dpi)
    plt.close(fig)


def save_png(fig, path: str, dpi: int = 110) -> None:
    """`fig` as a PNG of 256 colours (a third of the bytes of matplotlib's RGBA: a few
    line colours and their light bands need no more)."""
    from PIL import Image

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(256).save(path, optimize=True)


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
