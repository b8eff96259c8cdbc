"""Presets: settings that several config files share, so that their results compare.

Apart from the schema (`config.py`): a preset only sets keys the schema defines.
"""

from __future__ import annotations

import ml_collections


def digits_run(config: ml_collections.ConfigDict, learner: str = "vsml",
               algorithm: str = "es") -> ml_collections.ConfigDict:
    """Laptop scale on 8x8 digits, shared by the quickstart and the baseline configs so
    that their results compare: 1,000 iterations of 100-step episodes (32 ES pairs or 16
    episodes per gradient step), meta-test on 64 held-out episodes of 400 steps."""
    config.learner = learner
    config.data.dataset = "digits"
    config.training.algorithm = algorithm
    config.training.num_iterations = 1000
    config.training.episode_length = 100
    config.es.population_size = 32
    config.gradient.meta_batch_size = 16
    config.evaluation.datasets = "digits"
    config.evaluation.episode_length = 400
    config.evaluation.num_episodes = 64
    config.evaluation.every = 250
    config.evaluation.num_episodes_during_training = 16
    config.evaluation.chunk = 32
    config.logging.summary_every = 50
    config.checkpoint.every = 250
    return config


# The network a clone of online SGD runs in (vsml_tf/meta/cloning.py): forward-then-backward
# sweep, a separate backward sub-RNN, logits in channel 0. Shared by the cloning config
# and by meta-training that starts from a clone.
CLONE_NETWORK = {"model.backward_pass": True, "model.separate_backward_rnn": True,
                 "model.output_idx": 0}

# Gradient meta-training from a clone of online SGD made first, in the same run
# (configs/gradient.py:clone_first; time_to_quality's `grad_clone`): from the clone the
# meta-gradient is informative at once, so a short cloning (1,000 Adam steps instead of
# 3,000) and 8 episodes per step at Adam 3e-3 suffice (docs/experiments/gradient.md).
GRADIENT_FROM_CLONE = {"training.algorithm": "gradient", "training.remat": True,
                       "training.init_from": "clone", "clone.iterations": 1000,
                       "gradient.meta_batch_size": 8, "gradient.learning_rate": 3e-3,
                       **CLONE_NETWORK}


# The quickstart (configs/quickstart.py): GRADIENT_FROM_CLONE with half the cloning, a
# 3x larger meta-gradient step that decays to 0 (the large step leaves the clone fast;
# the decay keeps the late-episode accuracy it swings at full step), 300 iterations.
# docs/experiments/quickstart.md, "Time to a working learner", has the probes and the A/B against ES.
CLONE_THEN_GRADIENT = {**GRADIENT_FROM_CLONE, "clone.iterations": 500,
                       "gradient.learning_rate": 1e-2,
                       "training.learning_rate_decay": "cosine",
                       "training.num_iterations": 300}


def mnist_laptop_run(config: ml_collections.ConfigDict, num_iterations: int,
                     init_from: str = "quickstart_digits") -> ml_collections.ConfigDict:
    """Laptop scale on MNIST, shared by configs/rand_proj.py:laptop and
    configs/invariances.py:laptop: ES with 32 pairs on 100-step episodes, starting from a
    shipped learner (a curriculum that skips the ES plateau); meta-test at native size on
    32 episodes of 2,000 steps."""
    config.training.init_from = init_from
    config.training.num_iterations = num_iterations
    config.training.episode_length = 100
    config.es.population_size = 32
    config.evaluation.preprocessing = "none"   # native sizes
    config.evaluation.episode_length = 2000
    config.evaluation.num_episodes = 32
    config.evaluation.every = 250
    config.evaluation.num_episodes_during_training = 8
    config.evaluation.chunk = 8
    config.logging.summary_every = 50
    config.checkpoint.every = 100
    return config
