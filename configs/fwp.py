"""Fast weight programmer baseline (delta rule; paper Sec. 4, Fig. 6): a slow linear map
programs a [64, classes] fast weight matrix from x_t and the previous prediction, error
and label, meta-trained on 8x8 digits.

    vsml-train --config=configs/fwp.py --workdir=vsml_runs/fwp
    vsml-train --config=configs/fwp.py:es --workdir=vsml_runs/fwp_es   # ES instead

Keys and queries are L2-normalized (`baselines.fwp.normalize_keys`, see
vsml_tf/baselines/fwp.py: the verbatim rule overflows on standardized inputs).
Backpropagation through 16 digit episodes of 100 steps per iteration (Adam 1e-3, clip 25),
1,000 iterations, then meta-test on held-out digits with 400-step episodes. Expected on a
2-core CPU: about 1 minute (ES: 1); meta-test accuracy 0.91 over online steps 0-49 and
0.96 over steps 300-399 (ES: 0.76 / 0.80), by storing the digit -> label map in its slow
weights: at chance with labels permuted per episode (README, Baselines).

Paper scale: `--config.training.algorithm=es --config.es.population_size=1024
--config.training.episode_length=500 --config.training.num_iterations=10001` on MNIST,
with every dataset padded to 28x28x1 and 62 classes where the data layer offers it.
"""

from vsml_tf.config import base_config


def get_config(arg=None):
    config = base_config()
    config.learner = "fwp"
    config.data.dataset = "digits"
    config.training.algorithm = arg or "gradient"
    config.training.num_iterations = 1000
    config.training.episode_length = 100
    config.gradient.meta_batch_size = 16
    config.es.population_size = 32
    config.evaluation.datasets = "digits"
    config.evaluation.episode_length = 400
    config.evaluation.num_episodes = 64
    config.evaluation.every = 250
    config.evaluation.num_episodes_during_training = 16
    config.evaluation.chunk = 32
    config.logging.summary_every = 50
    config.checkpoint.every = 250
    return config
