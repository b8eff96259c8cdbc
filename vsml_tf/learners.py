"""Learner registry: config.learner -> a Keras model with the episode interface.

A learner provides `meta_params(members)`, `initial_state(sample, input_shape,
num_classes, batch_size)` and `unroll(params, xs, ys, state, remat)`; everything else
(ES, gradient meta-training, evaluation, plots) works with any of them. A new learner is
one module plus one line here.
"""

from __future__ import annotations

import difflib
from typing import Callable

import ml_collections

from vsml_tf import baselines
from vsml_tf.network import VSMLNetwork


def _vsml(config: ml_collections.ConfigDict):
    return VSMLNetwork(**config.model.to_dict(), name="vsml")


BUILDERS: dict[str, Callable] = {
    "vsml": _vsml,
    "metarnn": lambda c: baselines.MetaRNN(**c.baselines.metarnn, name="metarnn"),
    "fwmemory": lambda c: baselines.FastWeightMemory(**c.baselines.fwmemory, name="fwmemory"),
    "hebbian": lambda c: baselines.HebbianFastWeights(**c.baselines.hebbian, name="hebbian"),
    "fwp": lambda c: baselines.FastWeightProgrammer(**c.baselines.fwp, name="fwp"),
    "sgd": lambda c: baselines.OnlineGradientLearner(**c.baselines.sgd, name="sgd"),
}


def build(config: ml_collections.ConfigDict):
    if config.learner not in BUILDERS:
        close = difflib.get_close_matches(config.learner, BUILDERS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown learner {config.learner!r}.{hint} "
                         f"Registered: {sorted(BUILDERS)}.")
    return BUILDERS[config.learner](config)
