"""The long-stream stability check: window means against NumPy, drops, the CLI's exit."""

import subprocess
import sys

import numpy as np
import pytest
from checkout import ROOT

from vsml_tf.runs import curves
from vsml_tf.tools import stability


def curve(learner, means_per_window, window, episodes=3, seed=0):
    """Per-step 0/1 accuracies whose window means are exactly `means_per_window`."""
    g = np.random.default_rng(seed)
    rows = []
    for m in means_per_window:
        ones = int(round(m * window))
        block = np.zeros((episodes, window))
        for e in range(episodes):
            block[e, g.permutation(window)[:ones]] = 1.0
        rows.append(block)
    acc = np.concatenate(rows, axis=1)
    return dict(learner=learner, dataset="mnist", loss=1.0 - acc, accuracy=acc)


def test_window_means_match_a_loop():
    acc = np.random.default_rng(1).random((4, 2500))
    want = [acc[:, i * 1000:(i + 1) * 1000].mean() for i in range(2)]  # the last 500 drop
    np.testing.assert_allclose(stability.window_means(acc, 1000), want)
    with pytest.raises(ValueError, match="smaller --window"):
        stability.window_means(acc, 3000)


def test_a_collapse_fails_and_a_plateau_passes():
    steady = curve("steady", [0.5, 0.7, 0.8, 0.795, 0.8], 200)
    collapse = curve("collapse", [0.5, 0.8, 0.85, 0.3, 0.2], 200)
    table, passed = stability.report([steady], 200, 0.01)
    assert passed and "| 0.005 | pass |" in table
    table, passed = stability.report([steady, collapse], 200, 0.01)
    assert not passed and "| 0.550 | FAIL (> 0.01) |" in table


def test_cli_reads_curves_csv_exits_with_the_verdict_and_plots(tmp_path):
    path = tmp_path / "curves.csv"
    curves.write_csv(str(path), [curve("steady", [0.5, 0.6, 0.7], 50)])
    cmd = [sys.executable, "-m", "vsml_tf.tools.stability", str(path), "--window=50",
           f"--plot={tmp_path / 'w.png'}"]
    ok = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "| steady | mnist | 3 | 0.500 | 0.600 | 0.700 | 0.000 | pass |" in ok.stdout
    assert (tmp_path / "w.png").stat().st_size > 0
    curves.write_csv(str(path), [curve("drop", [0.7, 0.5], 50)])
    bad = subprocess.run(cmd[:-1], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 1 and "FAIL" in bad.stdout
