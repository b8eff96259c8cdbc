"""The shipped configs (configs/*.py, with their arguments) are valid."""

import os

import pytest
from checkout import ROOT, load_module

from vsml_tf.runs import config as config_lib


@pytest.mark.parametrize("name", ["metarnn", "fwmemory", "hebbian", "fwp", "sgd"])
def test_configs_are_valid(name):
    config = load_module(os.path.join(ROOT, "configs", f"{name}.py")).get_config()
    config_lib.validate(config)
    assert config.learner == name
    assert load_module(os.path.join(ROOT, "configs", f"{name}.py")).__doc__.count("vsml-") >= 1


@pytest.mark.parametrize("name", sorted(
    [f for f in os.listdir(os.path.join(ROOT, "configs")) if f.endswith(".py")
     and f != "__init__.py"] + ["clone_backprop.py:deep", "clone_backprop.py:digits",
                                 "gradient.py:from_clone", "gradient.py:clone_first",
                                 "rand_proj.py:laptop",
                                 "rand_proj.py:laptop_long",
                                 "invariances.py:laptop", "long_horizon.py:diverse",
                                 "long_horizon.py:tabular"]))
def test_shipped_configs_are_valid(name):
    import importlib.util

    file, _, arg = name.partition(":")
    spec = importlib.util.spec_from_file_location(file[:-3], os.path.join(ROOT, "configs",
                                                                          file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config_lib.validate(module.get_config(arg or None))
