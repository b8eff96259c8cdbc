"""Refactors keep the numbers: theta after 3 meta-training iterations of the ES quickstart
(configs/quickstart.py:es) and of configs/gradient.py equals, bit for bit, the recorded values
(tests/data/theta_after_3_iterations.*; the .json says when and why they were recorded:
a change that alters the bits on purpose re-records them and says so).

Bits depend on the CPU's vector units and the XLA build, so the comparison is exact on
the machine kind it was recorded on and skipped, saying so, elsewhere.
"""

import importlib.util
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from checkout import ROOT

from vsml_tf.runs import builder

DATA = os.path.join(ROOT, "tests", "data", "theta_after_3_iterations")


def fingerprint() -> dict:
    cpu, flags = "", []
    if os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and not cpu:
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split()
    return dict(tensorflow=tf.__version__, cpu=cpu, avx512f="avx512f" in flags)


def load_config(name, arg=None):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, "configs", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg)


@pytest.mark.parametrize("name", ["quickstart", "gradient"])
def test_three_iterations_reproduce_the_recorded_bits(name):
    recorded = json.load(open(DATA + ".json"))
    here = fingerprint()
    differs = {k: (recorded[k], v) for k, v in here.items() if recorded.get(k) != v}
    if differs:
        pytest.skip(f"bits were recorded on another machine kind ({differs}); "
                    f"they are exact only on the same CPU and XLA build")
    arg = "es" if name == "quickstart" else None  # the bits recorded before the recipe
    trainer = builder.build_trainer(load_config(name, arg))
    for _ in range(3):
        trainer.step()
    np.testing.assert_array_equal(trainer.theta.numpy(), np.load(DATA + ".npz")[name])
