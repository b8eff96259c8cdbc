"""A seconds-long configuration for tests and smoke checks of the whole pipeline.

    vsml-train --config=configs/testing.py --workdir=/tmp/vsml_test

Trains nothing useful: 4 ES iterations of 4 pairs on 8-step digit episodes.
`--config=configs/testing.py:gradient` uses gradient meta-training instead.
"""

from vsml_tf.runs.config import base_config


def get_config(arg=None):
    config = base_config()
    config.training.algorithm = arg or "es"
    config.training.num_iterations = 4
    config.training.episode_length = 8
    config.es.population_size = 4
    config.gradient.meta_batch_size = 2
    config.evaluation.episode_length = 12
    config.evaluation.num_episodes = 3
    config.evaluation.every = 2
    config.evaluation.num_episodes_during_training = 2
    config.evaluation.chunk = 2
    config.logging.summary_every = 1
    config.logging.progress_bar = False
    config.checkpoint.every = 2
    return config
