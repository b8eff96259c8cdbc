"""Meta-train VSML by backpropagation through whole episodes (paper Sec. 4, "backprop").

    vsml-train --config=configs/gradient.py --workdir=vsml_runs/gradient

Meta-batch of 16 digit episodes of 100 steps, Adam 1e-3, global-norm clip 25.
Expected on a 2-core CPU: about 1 s per iteration; the meta-loss falls below ln(10)
within the first hundred iterations (no ES plateau: gradients see the whole episode).
"""

from vsml_tf.config import base_config


def get_config(arg=None):
    config = base_config()
    config.training.algorithm = "gradient"
    config.training.num_iterations = 500
    config.training.episode_length = 100
    config.gradient.meta_batch_size = 16
    config.evaluation.episode_length = 400
    config.evaluation.num_episodes = 32
    config.evaluation.every = 100
    config.logging.summary_every = 20
    config.checkpoint.every = 100
    return config
