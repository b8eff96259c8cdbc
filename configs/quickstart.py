"""Quickstart: VSML learns to learn on 8x8 digits, offline, on a laptop CPU.

ES meta-trains one dense VSML layer (64 inputs -> 10 classes; all 640 "weights" are LSTMs
sharing ~2.4k meta-parameters) on scikit-learn's digits, then meta-tests it on held-out
digits with episodes four times longer than in training.

    vsml-train                       # same as the next line
    vsml-train --config=configs/quickstart.py --workdir=vsml_runs/quickstart

Expected on a 2-core CPU: about 8 minutes. Meta-loss sits at ln(10) = 2.303 for a few
hundred iterations (ES plateau), then drops. Meta-test accuracy on held-out digits:
~0.6 over online steps 0-49 and ~0.85 over steps 300-399 (see README for measured values).
"""

from vsml_tf.config import base_config, digits_run


def get_config(arg=None):
    config = digits_run(base_config(), learner="vsml", algorithm="es")
    config.evaluation.every = 100
    config.checkpoint.every = 100
    return config
