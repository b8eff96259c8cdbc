"""Paper Fig. 6: meta-train on MNIST, half of the workers on randomly projected MNIST.

Every second worker sees MNIST through its own fixed Glorot-uniform 784x784 projection
(`data.rand_proj = worker_split([False, True])`), so the learned algorithm cannot
memorize MNIST's pixel statistics; meta-test is on unprojected MNIST and on
Fashion-MNIST, never seen in meta-training (Fashion-MNIST with the paper's MNIST
normalization stats; `--config.data.stats=true` uses its own).

    vsml-train --config=configs/rand_proj.py --workdir=runs/rand_proj \
        --config.data.data_dir=DIR        # DIR/mnist/, DIR/fashion_mnist/ official files
                                          # (without data_dir: TFDS downloads them)

Paper scale (as configs/paper_es.py: 1024 pairs, 500-step episodes, 10,001 iterations):
the paper ran it on 128 GPUs for ~4 h; one CPU core does ~400 MNIST examples/s in an ES
step, so this is not a CPU run. Expected (paper Fig. 6): meta-test accuracy keeps rising
over the 2000-step episodes on MNIST and on the unseen Fashion-MNIST; not reproduced
here. On any hardware the population is cut into an even number of shards (the paper's
workers), and every second shard draws projected episodes.
"""

from vsml_tf.config import base_config
from vsml_tf.workers import worker_split


def get_config(arg=None):
    config = base_config()  # the paper's ES scale, as configs/paper_es.py
    config.data.dataset = "mnist"
    with config.ignore_type():
        config.data.rand_proj = worker_split([False, True])
    config.evaluation.datasets = "mnist,fashion_mnist"
    return config
