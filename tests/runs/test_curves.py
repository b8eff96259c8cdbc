"""The one style of every learning-curve plot (vsml_tf/runs/curves.py): smoothing that
keeps step 0, a deterministic colour + line style per learner, the chance line and the
band's meaning in the legend, small PNGs; the plots of the sweeps and tools use it."""

import os
import random

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from vsml_tf.runs import curves


def naive_trailing_mean(values, tenths=1):
    """out[t]: mean of the last max(1, floor(tenths/10 * (t + 1))) values up to t."""
    out = np.zeros(len(values))
    for t in range(len(values)):
        w = max(1, (t + 1) * tenths // 10)
        out[t] = sum(values[t - w + 1:t + 1]) / w
    return out


def result(learner, dataset="mnist", episodes=3, steps=50, seed=0, p=0.5):
    rng = np.random.default_rng(seed)
    acc = (rng.random((episodes, steps)) < p).astype(float)
    return dict(learner=learner, dataset=dataset, accuracy=acc, loss=1 - acc)


@pytest.mark.parametrize("steps", [1, 7, 25, 301])
def test_smoothing_is_the_trailing_mean_over_the_last_fifth_and_keeps_step_0(steps):
    assert curves.SMOOTH_FRACTION == 0.2  # the figures' captions say so
    rng = np.random.default_rng(steps)
    values = rng.random((4, steps))
    smoothed = curves.smooth(values)
    assert smoothed.shape == values.shape  # no step dropped
    np.testing.assert_array_equal(smoothed[:, 0], values[:, 0])
    np.testing.assert_allclose(smoothed[:, :min(steps, 9)], values[:, :9])  # window 1
    for e in range(4):
        np.testing.assert_allclose(smoothed[e], naive_trailing_mean(list(values[e]), 2),
                                   rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(curves.smooth(values, 0.3)[1],
                               naive_trailing_mean(list(values[1]), tenths=3), atol=1e-12)
    np.testing.assert_array_equal(curves.smooth(values, 0), values)
    assert list(curves.smoothing_windows(2000)[[0, 8, 9, 99, 1999]]) == [1, 1, 2, 20, 400]


def test_band_is_the_standard_error_over_episodes():
    values = np.random.default_rng(1).random((5, 8))
    mean, sem = curves.mean_and_sem(values)
    np.testing.assert_allclose(mean, values.mean(0))
    reference = [np.sqrt(((values[:, t] - values[:, t].mean()) ** 2).sum() / 4 / 5)
                 for t in range(8)]
    np.testing.assert_allclose(sem, reference)
    np.testing.assert_array_equal(curves.mean_and_sem(values[:1])[1], 0)


FIG8 = [f"{n} ({labels})" for labels in ("fixed", "permuted")
        for n in ("vsml", "metarnn", "fwmemory", "hebbian", "fwp")] + ["adam_hidden lr=0.0003"]


def pair(style):
    return style["color"], repr(style["linestyle"])


@pytest.mark.parametrize("labels", [
    FIG8,
    FIG8 + ["vsml_long (fixed)", "vsml_long (permuted)"],  # 13
    [f"learner{i}" for i in range(12)],                    # no known family
    [f"sgd_{n} lr={r}" for n in ("linear", "hidden") for r in (0.1, 0.3)]
    + [f"adam_{n} lr=0.01" for n in ("linear", "hidden")] + ["vsml", "vsml_clone"]])
def test_styles_are_deterministic_and_no_two_curves_share_colour_and_line_style(labels):
    styles = curves.curve_styles(labels)
    assert set(styles) == set(labels)
    assert len({pair(s) for s in styles.values()}) == len(labels)
    shuffled = list(labels)
    random.Random(0).shuffle(shuffled)
    assert curves.curve_styles(shuffled) == styles  # the order does not matter
    assert all(s["color"] in curves.PALETTE for s in styles.values())


def test_a_learner_keeps_its_colour_and_permuted_labels_are_dashed():
    styles = curves.curve_styles(FIG8)
    for name in ("vsml", "metarnn", "fwmemory", "hebbian", "fwp"):
        fixed, permuted = styles[f"{name} (fixed)"], styles[f"{name} (permuted)"]
        assert fixed["color"] == permuted["color"] == curves.FAMILY_COLORS[name]
        assert fixed["linestyle"] == "-" and permuted["linestyle"] == (0, (4, 2))
    # The same learner, the same style in another figure.
    other = curves.curve_styles(["vsml (fixed)", "sgd", "vsml_long (fixed)"])
    assert other["vsml (fixed)"] == styles["vsml (fixed)"]
    assert other["sgd"]["color"] == curves.FAMILY_COLORS["sgd"]
    assert other["vsml_long (fixed)"]["color"] not in curves.FAMILY_COLORS.values()
    # 10 colours: distinct for 10 learners of one variant.
    ten = curves.curve_styles([f"l{i}" for i in range(10)])
    assert len({s["color"] for s in ten.values()}) == 10


def test_plot_curves_draws_chance_band_legend_on_a_log_step_axis():
    results = [result("vsml (fixed)", seed=0), result("vsml (permuted)", seed=1),
               dict(result("sgd", seed=2), num_classes=5)]
    fig, ax = plt.subplots()
    _, labels = curves.plot_curves(ax, results[:2])
    assert ax.get_xscale() == "log"
    assert labels == ["vsml (fixed)", "vsml (permuted)", "chance (1/10)",
                      "band: mean ± 1 standard error over 3 episodes"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == labels
    chance = [line for line in ax.lines if line.get_label() == "chance (1/10)"]
    assert len(chance) == 1 and set(chance[0].get_ydata()) == {0.1}
    assert chance[0].get_linestyle() == "--"  # dashed (matplotlib's name for any dashes)
    assert matplotlib.colors.to_hex(chance[0].get_color()) == "#737373"  # grey
    first = ax.lines[0]
    assert first.get_xdata()[0] == 1  # step 0 plotted at step + 1 = 1
    assert first.get_ydata()[0] == results[0]["accuracy"][:, 0].mean()
    assert len(ax.collections) == 2  # one band per curve
    plt.close(fig)
    fig, ax = plt.subplots()
    curves.plot_curves(ax, results[2:])  # num_classes of the result wins over the name
    assert [line.get_label() for line in ax.lines] == ["sgd", "chance (1/5)"]
    plt.close(fig)


def test_plot_writes_a_small_png_with_one_panel_per_dataset(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    results = [dict(learner=label, dataset="mnist", loss=np.zeros((32, 2000)),
                    accuracy=(rng.random((32, 2000)) < rng.random()).astype(float))
               for label in FIG8]
    path = str(tmp_path / "fig.png")
    curves.plot(path, results, title="eleven learners")
    assert 10_000 < os.path.getsize(path) < 200_000
    figures = []
    monkeypatch.setattr(curves, "save_png", lambda fig, path, dpi=110: figures.append(fig))
    curves.plot(path, [result("a", "digits"), result("a", "sum"), result("b", "sum")])
    (fig,) = figures
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["digits: 3 episodes of 50 steps",
                                               "sum: 3 episodes of 50 steps"]
    chance = [[line.get_ydata()[0] for line in ax.lines if "chance" in line.get_label()]
              for ax in axes]
    assert chance == [[0.1], [0.5]]
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["a", "b", "chance (1/number of classes)",
                     "band: mean ± 1 standard error over 3 episodes"]
    plt.close(fig)
    curves.plot(path, [result("a", "digits"), result("a", "mnist", episodes=5)])
    texts = [t.get_text() for t in figures[-1].legends[0].get_texts()]
    assert texts == ["a", "chance (1/10)", "band: mean ± 1 standard error over 3-5 episodes"]
    plt.close(figures[-1])


def test_write_outputs_plots_in_the_shared_style(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(curves, "plot", lambda path, results, **kw: calls.append(path))
    curves.write_outputs([result("vsml")], str(tmp_path))
    assert calls == [str(tmp_path / "curves.png")]
