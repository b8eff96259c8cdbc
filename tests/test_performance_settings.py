"""Settings that make VSML fast must not change what it computes or what users chose."""

import numpy as np
import tensorflow as tf

from vsml_tf import rng, xla_defaults


def test_xla_defaults_respect_user_flags_and_opt_out():
    env = {"XLA_FLAGS": "--xla_cpu_prefer_vector_width=256"}
    xla_defaults.apply(env)
    assert env["XLA_FLAGS"] == "--xla_cpu_prefer_vector_width=256"
    env = {"VSML_XLA_DEFAULTS": "0"}
    xla_defaults.apply(env)
    assert "XLA_FLAGS" not in env
    env = {"XLA_FLAGS": "--xla_dump_to=/tmp/x"}
    xla_defaults.apply(env)
    expected = ("--xla_dump_to=/tmp/x " + xla_defaults.WIDE_VECTORS
                if xla_defaults.cpu_has_avx512() else "--xla_dump_to=/tmp/x")
    assert env["XLA_FLAGS"] == expected


def test_unrolled_and_looped_member_draws_are_identical(monkeypatch):
    """Small populations draw per-member numbers as unrolled ops, large ones in a loop;
    both must give every member the same numbers (resume and sharding rely on it)."""
    seeds = rng.member_seeds(3, 7, rng.Purpose.STATE, tf.range(5))
    for jit in (False, True):
        draw = tf.function(lambda s: rng.per_member(tf.random.stateless_truncated_normal,
                                                    s, (4, 3)), jit_compile=jit)
        unrolled = draw(seeds).numpy()
        monkeypatch.setattr(rng, "UNROLL_MEMBERS", 0)
        looped = tf.function(lambda s: rng.per_member(
            tf.random.stateless_truncated_normal, s, (4, 3)), jit_compile=jit)(seeds).numpy()
        monkeypatch.setattr(rng, "UNROLL_MEMBERS", 128)
        np.testing.assert_array_equal(unrolled, looped)
        assert unrolled.shape == (5, 4, 3) and np.abs(unrolled).max() <= 2.0
        assert len({row.tobytes() for row in unrolled}) == 5


def test_bench_prints_one_json_line_per_run_and_a_table():
    """`vsml-bench --episode_only` end to end, in its own subprocesses (the quick mode)."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "vsml_tf.tools.bench", "--episode_only",
                          "--workloads=es_conv", "--repeats=1"],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [(r["workload"], r["impl"]) for r in results] == [("es_conv", "fast"),
                                                            ("es_conv", "reference")]
    for r in results:
        assert r["seconds_per_iteration"] > 0 and r["connection_ticks_per_s"] > 0
        assert r["episode_only"] and r["backend"] == "tensorflow"
    speedup = results[1]["seconds_per_iteration"] / results[0]["seconds_per_iteration"]
    assert f"{speedup:.2f}x" in out.splitlines()[-2]
