"""What vsml-train reports while it runs: iterations_per_second over the last summary
interval without the compiling first iteration, and no progress bar in log files."""

import os
import re
import subprocess
import sys
import termios

import pytest
from checkout import ROOT

from vsml_tf.apps import train
from vsml_tf.runs.config import base_config

TESTING = os.path.join(ROOT, "configs", "testing.py")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_iteration_rate_skips_the_first_iteration_and_restarts_at_each_summary():
    """Issue 33 (6b): the first iteration (compilation, here 60 s) is not counted; each
    rate covers only the iterations since the previous one."""
    clock = FakeClock()
    rate = train.IterationRate(clock)
    assert rate.take() is None
    clock.now = 60.0
    rate.tick()                       # iteration 0 ends: compiled, the clock starts
    assert rate.take() is None        # summary at iteration 0: nothing to rate yet
    for _ in range(4):                # iterations 1-4, 0.5 s each
        clock.now += 0.5
        rate.tick()
    assert rate.take() == pytest.approx(4 / 2.0)
    for _ in range(10):               # iterations 5-14, 0.1 s each: 10/s, not a mean
        clock.now += 0.1
        rate.tick()
    assert rate.take() == pytest.approx(10 / 1.0)
    assert rate.take() is None        # no iteration since


@pytest.mark.slow
def test_log_file_has_no_progress_bar_and_rates_per_interval(tmp_path):
    """Issue 33 (6c): with stderr a file, progress_bar=True draws no bar (no carriage
    returns among the log lines); (6b) the summary of iteration 0 has no rate, later
    ones do."""
    log = tmp_path / "stderr.log"
    with open(log, "w") as stderr:
        result = subprocess.run(
            [sys.executable, "-m", "vsml_tf.apps.train", f"--config={TESTING}",
             f"--workdir={tmp_path / 'run'}", "--config.logging.wandb.enabled=False",
             "--config.logging.progress_bar=True", "--config.evaluation.every=0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=600,
            env={**os.environ, "WANDB_MODE": "offline", "TF_CPP_MIN_LOG_LEVEL": "3"})
    text = log.read_text()
    assert result.returncode == 0, text[-3000:]
    assert "\r" not in text and "meta-training" not in text
    steps = dict(re.findall(r"\] step (\d+): (.*)", text))
    assert sorted(steps) == ["0", "1", "2", "3"]
    assert "iterations_per_second" not in steps["0"]
    for i in "123":
        assert float(re.search(r"iterations_per_second=([\d.e+-]+)", steps[i])[1]) > 0


def _read_all(out) -> bytes:
    """Everything written to a pseudo-terminal whose other end is closed: one read returns
    only what one write put there (the bar's first and last draws are separate writes), and
    Linux ends the stream with EIO rather than an empty read."""
    chunks = []
    while True:
        try:
            chunk = out.read(4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_progress_bar_still_drawn_on_a_terminal():
    """The bar stays for people watching a terminal (here a pseudo-terminal, 80 columns)."""
    config = base_config()
    main, secondary = os.openpty()
    termios.tcsetwinsize(secondary, (24, 80))
    with os.fdopen(main, "rb", buffering=0) as out:
        with os.fdopen(secondary, "w") as terminal:
            with train._progress(config, 0, 3, stream=terminal) as bar:
                bar.update(3)
        assert b"meta-training: 100%" in _read_all(out)
    with open(os.devnull, "w") as not_a_terminal:
        assert train._progress(config, 0, 3, stream=not_a_terminal).disable
