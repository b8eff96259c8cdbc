"""configs/sweeps/sgd.py: its grid points are valid overrides of configs/sgd.py."""

import os

from checkout import ROOT, load_module

from vsml_tf.runs import config as config_lib


def test_sgd_sweep_points_are_valid_configs():
    sweep = load_module(os.path.join(ROOT, "configs", "sweeps", "sgd.py"))
    points = sweep.get_sweep()
    assert len(points) == 4
    assert {(p["baselines.sgd.num_layers"], p["baselines.sgd.optimizer"],
             p["baselines.sgd.learning_rate"]) for p in points} == {
        (1, "sgd", 0.01), (2, "sgd", 0.01), (1, "adam", 1e-3), (2, "adam", 1e-3)}
    base = load_module(os.path.join(ROOT, "configs", "sgd.py")).get_config()
    for point in points:
        config = base.copy_and_resolve_references()
        for key, value in point.items():
            config_lib.check_override(key)
            section, learner, name = key.split(".")
            config[section][learner][name] = value
        config_lib.validate(config)
    assert len(sweep.commands()) == 5 and "evaluation.compare" in sweep.commands()[-1]
