"""vsml-bench's A/B statistics: interleaved rounds, the median ratio, inconclusive results."""

import numpy as np
import pytest


@pytest.mark.slow
def test_bench_interleaves_rounds_and_reports_the_median_ratio():
    """`vsml-bench --episode_only --rounds=2` end to end, in its own subprocesses: one JSON
    line per run, fast and reference alternating, the table's speedup the median of the
    per-round ratios with their range."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "vsml_tf.tools.bench", "--episode_only",
                          "--workloads=es_conv", "--repeats=1", "--rounds=2"],
                         capture_output=True, text=True, timeout=900, check=True).stdout
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["impl"] for r in results] == ["fast", "reference", "fast", "reference"]
    for r in results:
        assert r["seconds_per_iteration"] > 0 and r["connection_ticks_per_s"] > 0
        assert r["episode_only"] and r["backend"] == "tensorflow"
    ratios = [results[i + 1]["seconds_per_iteration"] / results[i]["seconds_per_iteration"]
              for i in (0, 2)]
    fast_row = out.splitlines()[-2]
    assert f"{np.median(ratios):.2f}x" in fast_row
    assert f"2 ({min(ratios):.2f}-{max(ratios):.2f})" in fast_row


def test_speedup_is_inconclusive_when_rounds_disagree():
    from vsml_tf.tools.bench import speedups

    run = lambda *seconds: [{"seconds_per_iteration": s} for s in seconds]
    steady = speedups(run(1.0, 1.0, 1.1), run(3.0, 3.1, 3.3))
    assert steady["speedup"] == 3.0 and steady["conclusive"]
    noisy = speedups(run(1.0, 2.0, 1.0), run(2.0, 3.0, 4.0))  # ratios 2, 1.5, 4
    assert noisy["speedup"] == 2.0 and not noisy["conclusive"]
