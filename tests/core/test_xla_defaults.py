"""XLA defaults respect the user's flags and the opt-out."""

from vsml_tf.core import xla_defaults


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
