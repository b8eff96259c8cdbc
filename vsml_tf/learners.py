"""Learner registry: config.learner -> an `EpisodeLearner` class (see `learner.py`).

A new learner is one module (a subclass of `EpisodeLearner` with its `DEFAULTS`) plus one
line below; its defaults become the config section `baselines.NAME` (VSML's: `model`).
"""

from __future__ import annotations

import ml_collections

from vsml_tf.baselines.fwmemory import FastWeightMemory
from vsml_tf.baselines.fwp import FastWeightProgrammer
from vsml_tf.baselines.hebbian import HebbianFastWeights
from vsml_tf.baselines.metarnn import MetaRNN
from vsml_tf.baselines.online_sgd import OnlineGradientLearner
from vsml_tf.network import VSMLNetwork
from vsml_tf.registry import Registry

LEARNERS = Registry("learner", {
    "vsml": VSMLNetwork,
    "metarnn": MetaRNN,
    "fwmemory": FastWeightMemory,
    "hebbian": HebbianFastWeights,
    "fwp": FastWeightProgrammer,
    "sgd": OnlineGradientLearner,
})

VSML = "vsml"  # the one learner configured by config.model; the others by baselines.NAME


def config_section(config: ml_collections.ConfigDict, name: str):
    return config.model if name == VSML else config.baselines[name]


def build(config: ml_collections.ConfigDict):
    """A fresh, not yet data-built learner of `config.learner`."""
    cls = LEARNERS.lookup(config.learner)
    return cls.from_config_section(config_section(config, config.learner).to_dict(),
                                   name=config.learner)
