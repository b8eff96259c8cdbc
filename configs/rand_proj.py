"""Paper Fig. 6: meta-train on MNIST, half of the workers on randomly projected MNIST.

Every second worker sees MNIST through its own fixed Glorot-uniform projection
(`data.rand_proj = worker_split([False, True])`), so the learned algorithm cannot
memorize MNIST's pixel statistics; meta-test is on unprojected MNIST and on
Fashion-MNIST, never seen in meta-training (Fashion-MNIST with the paper's MNIST
normalization stats; `--config.data.stats=true` uses its own).

    vsml-train --config=configs/rand_proj.py --workdir=runs/rand_proj \\
        --config.data.data_dir=DIR        # DIR/mnist/, DIR/fashion_mnist/ official files
                                          # (without data_dir: TFDS downloads them)

Paper scale (as configs/paper_es.py: 1024 pairs, 500-step episodes, 10,001 iterations):
the paper ran it on 128 GPUs for ~4 h; one CPU core does ~400 MNIST examples/s in an ES
step, so this is not a CPU run. Expected (paper Fig. 6): meta-test accuracy keeps rising
over the 2000-step episodes on MNIST and on the unseen Fashion-MNIST; not reproduced
here. On any hardware the population is cut into an even number of shards (the paper's
workers), and every second shard draws projected episodes.

`configs/rand_proj.py:laptop` is the same task at laptop scale:

    vsml-train --config=configs/rand_proj.py:laptop --workdir=runs/rand_proj_laptop \\
        --config.data.data_dir=DIR

- meta-training resizes MNIST to 14x14 (the learned algorithm does not depend on the
  input size: every weight is the same LSTM) and runs 32 ES pairs on 100-step
  episodes for 1,000 iterations;
- it starts from the shipped digits learner (`training.init_from=quickstart_digits`): a
  curriculum digits -> MNIST that skips the ES plateau of a start from scratch;
- meta-test is at each dataset's native size (`evaluation.preprocessing='none'`), 32
  episodes of 2000 steps, on MNIST and every dataset available offline.

Measured (seed 0; 102 min on a 2-core CPU shared with other jobs; shipped as
`mnist_rand_proj_laptop`): MNIST accuracy 0.576 over steps 0-99 (best tuned SGD/Adam
0.478) and 0.734 over 1500-1999 (best tuned 0.875); digits 0.672 / 0.800.

`configs/rand_proj.py:laptop_long` continues that learner on 400-step episodes (300 ES
iterations; the 100-step learner stops improving after ~300 steps):

    vsml-train --config=configs/rand_proj.py:laptop_long --workdir=runs/rand_proj_long \\
        --config.data.data_dir=DIR

Measured (seed 0; 21.4 min on the 2-core CPU; shipped as `mnist_rand_proj_laptop_long`):
MNIST 0.567 over steps 0-99 (best tuned SGD/Adam 0.478) and 0.795 over 1500-1999 (91% of
the best tuned 0.875); digits 0.674 / 0.853.
"""

from vsml_tf.runs.config import base_config
from vsml_tf.runs.per_worker import worker_split
from vsml_tf.runs.presets import mnist_laptop_run


def get_config(arg=None):
    config = base_config()  # the paper's ES scale, as configs/paper_es.py
    config.data.dataset = "mnist"
    with config.ignore_type():
        config.data.rand_proj = worker_split([False, True])
    config.evaluation.datasets = "mnist,fashion_mnist"
    if arg == "laptop":
        _laptop(config)
    elif arg == "laptop_long":
        _laptop(config)
        _long_episodes(config)
    elif arg:
        raise ValueError(f"configs/rand_proj.py:{arg}: use no argument (paper scale), "
                         f"':laptop' or ':laptop_long'.")
    return config


def _laptop(config):
    config.data.resize = "14x14"
    mnist_laptop_run(config, num_iterations=1000)
    config.evaluation.datasets = "mnist,digits,sum,random"


def _long_episodes(config):
    """Continue the laptop learner on 400-step episodes: trained on 100 steps only, it
    learns fast and then stops improving."""
    config.training.init_from = "mnist_rand_proj_laptop"
    config.training.episode_length = 400
    config.training.num_iterations = 300
    config.evaluation.every = 50
