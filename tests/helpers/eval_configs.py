"""A base config meta-testing on 8x8 digits, small enough for seconds-long tests."""

from vsml_tf.runs.config import base_config


def digits_config(**evaluation):
    config = base_config()
    config.evaluation.datasets = "digits"
    config.evaluation.episode_length = 30
    config.evaluation.num_episodes = 5
    config.evaluation.chunk = 2
    for key, value in evaluation.items():
        config.evaluation[key] = value
    return config
