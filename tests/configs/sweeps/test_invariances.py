"""The invariance meta-test sweep (configs/sweeps/invariances.py): its variants do what
their names say -- checked on the episodes they build and by running the sweep's commands
on a tiny run."""

import os
import subprocess
import sys

import pytest
from checkout import ROOT
from checkout import load_module as load

from vsml_tf.runs import builder, per_worker
from vsml_tf.runs.config import validate

CONFIG = load(os.path.join(ROOT, "configs", "invariances.py"))
SWEEP = load(os.path.join(ROOT, "configs", "sweeps", "invariances.py"))


def digits_config():
    config = CONFIG.get_config("laptop")
    config.data.dataset = "digits"
    config.evaluation.datasets = "digits"
    config.evaluation.episode_length = 12
    return config


def with_overrides(config, overrides):
    with config.ignore_type():
        for key, value in overrides.items():
            section, name = key.split(".")
            if per_worker.is_worker_split(value):
                value = per_worker.parse(value)
            config[section][name] = value
    validate(config)
    return config


@pytest.mark.parametrize("name", list(SWEEP.VARIANTS))
def test_sweep_variants_build_the_episodes_they_name(name):
    config = with_overrides(digits_config(), SWEEP.VARIANTS[name])
    learner, _ = builder.build_learner(config)
    sampler = builder.sampler(config, learner, "digits", "test", 12)
    shape = {"resize_48x48": 48 * 48, "resize_21x21": 21 * 21}.get(name, 64)
    assert sampler.example_shape == (shape,)
    assert sampler.num_classes == (5 if name == "classes_58142" else 10)
    pre = sampler.preprocessor
    assert (pre.projection is not None) == (name == "rand_proj")
    assert (pre.permutation is not None) == (name == "shuffle_pixels")


@pytest.mark.slow
def test_sweep_commands_meta_test_a_run_into_one_table(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "WANDB_MODE": "offline"}
    tiny = ["--config.data.dataset=digits", "--config.training.num_iterations=1",
            "--config.es.population_size=8", "--config.training.episode_length=4",
            "--config.evaluation.every=0", "--config.evaluation.episode_length=12",
            "--config.evaluation.num_episodes=2", "--config.evaluation.chunk=2",
            "--config.logging.wandb.enabled=False", "--config.logging.progress_bar=False"]
    train = subprocess.run([sys.executable, "-m", "vsml_tf.apps.train",
                            "--config=configs/invariances.py:laptop", f"--workdir={run}",
                            "--config.evaluation.datasets=digits", *tiny],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert train.returncode == 0, train.stderr[-3000:]
    for command in SWEEP.commands(str(run), dataset="digits"):
        args = command.split()[1:] + [a for a in tiny if "evaluation" in a]
        result = subprocess.run([sys.executable, "-m", "vsml_tf.apps.evaluate", *args], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, (command, result.stderr[-3000:])
    table = SWEEP.table(str(run)).splitlines()
    assert len(table) == 2 + len(SWEEP.VARIANTS)
    assert table[0].startswith("| variant | episodes | acc. steps 0–11 |")
    cells = [float(line.split("|")[3]) for line in table[2:]]
    assert all(0.0 <= c <= 1.0 for c in cells)
    assert len(set(cells)) > 1  # the variants changed the episodes
    other = tmp_path / "other"
    other.symlink_to(run)
    side_by_side = SWEEP.table(str(run), str(other)).splitlines()  # one column set per run
    assert side_by_side[0] == ("| variant | episodes | run acc. steps 0–11 | run acc. steps "
                               "9–11 | other acc. steps 0–11 | other acc. steps 9–11 |")
    for one, two in zip(table[2:], side_by_side[2:]):
        first = one.split("|")[3:-1]
        assert two.split("|")[3:-1] == first + first
