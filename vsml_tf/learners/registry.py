"""Learner registry: config.learner -> an `EpisodeLearner` class (see `learner.py`).

A new learner is one module (a subclass of `EpisodeLearner` with its `DEFAULTS`) plus one
line below; its defaults become the config section `baselines.NAME` (VSML's: `model`).
"""

from __future__ import annotations

from vsml_tf.core.registry import Registry
from vsml_tf.learners.baselines.fwmemory import FastWeightMemory
from vsml_tf.learners.baselines.fwp import FastWeightProgrammer
from vsml_tf.learners.baselines.hebbian import HebbianFastWeights
from vsml_tf.learners.baselines.metarnn import MetaRNN
from vsml_tf.learners.baselines.online_sgd import OnlineGradientLearner
from vsml_tf.learners.network import VSMLNetwork

LEARNERS = Registry("learner", {
    "vsml": VSMLNetwork,
    "metarnn": MetaRNN,
    "fwmemory": FastWeightMemory,
    "hebbian": HebbianFastWeights,
    "fwp": FastWeightProgrammer,
    "sgd": OnlineGradientLearner,
})

VSML = "vsml"  # the one learner configured by config.model; the others by baselines.NAME
