"""configs/testing.py with each baseline learner at a small size (seconds-long runs)."""

import os

from checkout import ROOT, load_module

META_LEARNED = ["metarnn", "fwmemory", "hebbian", "fwp"]
SMALL = {"metarnn": {"hidden_size": 8}, "fwmemory": {"hidden_size": 8, "memory_size": 4},
         "hebbian": {}, "fwp": {"fast_size": 8}, "sgd": {"hidden_size": 8}}


def tiny_config(learner, algorithm="es", **sections):
    """configs/testing.py (seconds-long) with `learner` at a small size."""
    config = load_module(os.path.join(ROOT, "configs", "testing.py")).get_config(algorithm)
    config.learner = learner
    config.logging.wandb.enabled = False
    config.logging.tensorboard = False
    for key, value in SMALL[learner].items():
        config.baselines[learner][key] = value
    for key, value in sections.items():
        section, name = key.split("__")
        config[section][name] = value
    return config
