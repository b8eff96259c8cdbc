"""Quickstart: VSML learns to learn on 8x8 digits, offline, on a laptop CPU.

ES meta-trains one dense VSML layer (64 inputs -> 10 classes; all 640 "weights" are LSTMs
sharing ~2.4k meta-parameters) on scikit-learn's digits, then meta-tests it on held-out
digits with episodes four times longer than in training.

    vsml-train                       # same as the next line
    vsml-train --config=configs/quickstart.py --workdir=vsml_runs/quickstart

Measured (seed 0, default 8 shards, 2-core AMD EPYC without AVX-512): meta-test accuracy
on held-out digits (64 episodes) 0.599 over online steps 0-49 and 0.848 over steps
300-399; 27 min 12 s while the test suite shared the CPU (0.54 s per iteration idle, so
~15 min). The meta-loss sits at ln(10) = 2.303 for 400-1000 iterations (the ES plateau;
seed-dependent; here it ended between 750 and 1000), then drops. Earlier one-shard builds
gave 0.585 / 0.802 (seed 1: 0.581 / 0.817) in ~7 min on an idle AVX-512 CPU; at 1,000
iterations their seeds 0/1/2 gave 0.577/0.799, 0.573/0.818 (800 it.) and 0.569/0.828 --
hence 1,500.
"""

from vsml_tf.config import base_config, digits_run


def get_config(arg=None):
    config = digits_run(base_config(), learner="vsml", algorithm="es")
    # ES leaves the ln(10) plateau after 400-850 iterations depending on the seed; 1,500
    # leave every seed tried at least 650 iterations to sharpen the learned algorithm.
    config.training.num_iterations = 1500
    config.checkpoint.every = 250
    return config
