"""The checkout under test: its root, the shipped configs, its commands run in
subprocesses, and the test config (configs/testing.py) as a ConfigDict."""

import importlib.util
import os
import subprocess
import sys

from vsml_tf.runs.config import base_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTING = os.path.join(ROOT, "configs", "testing.py")


def load_module(path):
    """A config (or sweep) file as a module, by path."""
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cli(module, *args, **kwargs):
    """`python -m vsml_tf.apps.MODULE ARGS` in the checkout's root."""
    env = {**os.environ, "WANDB_MODE": "offline", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", f"vsml_tf.apps.{module}", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, **kwargs)


def make_config(**overrides):
    """configs/testing.py without wandb; overrides as section__name=value."""
    spec = importlib.util.spec_from_file_location("testing_config", TESTING)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    config.logging.wandb.enabled = False
    for key, value in overrides.items():
        section, name = key.split("__")
        config[section][name] = value
    return config


def small_config(**overrides):
    """The testing config (as make_config's), without evaluation during training."""
    return make_config(**{"evaluation__every": 0, **overrides})


def with_values(**values):
    """The base config with SECTION__KEY=value overrides."""
    config = base_config()
    for key, value in values.items():
        section, name = key.split("__")
        config[section][name] = value
    return config
