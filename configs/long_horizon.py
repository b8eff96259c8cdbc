"""Issue 30: learned learners that keep learning on long streams.

    vsml-train --config=configs/long_horizon.py --workdir=runs/long_horizon \\
        --config.data.data_dir=DIR     # DIR/mnist/ official files

Truncated backprop (`gradient.truncation`) through 2,000-step MNIST episodes from the
shipped clone of online SGD (`clone_backprop`: it tracks SGD at every horizon, so the
long-horizon behaviour is there from the start). Each iteration backpropagates through
one 100-step window of 8 episodes, drawn uniformly over the episode; the steps before it
run forward only. Half of the shards see MNIST through their own random projection
(task diversity: no pixel statistics to memorize); meta-training resizes to 14x14 (the
learner does not depend on the input size), meta-test is at native size on MNIST, digits,
sum and random, 32 episodes of 2,000 steps. `:diverse` adds task diversity, `:tabular`
synthetic tables on top of it (below).
Stages and measurements: experiments/long_horizon/README.md and
docs/experiments/long-horizon.md.
"""

from vsml_tf.runs.config import base_config
from vsml_tf.runs.per_worker import worker_split
from vsml_tf.runs.presets import CLONE_NETWORK, mnist_laptop_run


def get_config(arg=None):
    if arg not in (None, "", "diverse", "tabular"):
        raise ValueError(f"configs/long_horizon.py:{arg}: use no argument, ':diverse' or "
                         f"':tabular'.")
    config = base_config()
    config.learner = "vsml"
    config.update_from_flattened_dict(CLONE_NETWORK)
    config.data.dataset = "mnist"
    config.data.resize = "14x14"
    with config.ignore_type():
        config.data.rand_proj = worker_split([False, True])
    mnist_laptop_run(config, num_iterations=1000, init_from="clone_backprop")
    config.evaluation.datasets = "mnist,digits,sum,random"
    config.training.algorithm = "gradient"
    config.training.episode_length = 2000
    config.training.remat = True
    config.gradient.truncation = 100
    config.gradient.meta_batch_size = 8
    config.gradient.learning_rate = 1e-3
    config.evaluation.every = 100
    config.evaluation.num_episodes_during_training = 4
    config.checkpoint.every = 25
    config.logging.summary_every = 5
    if arg in ("diverse", "tabular"):
        _diverse(config)
    if arg == "tabular":
        _tabular(config)
    return config


def _diverse(config):
    """Task diversity: of every 4 shards, MNIST, projected MNIST, the synthetic `sum`
    task (2 classes, its train pool) and projected MNIST with labels permuted per
    episode. Nothing dataset-specific to memorize, and no meta-test data (digits and
    `random`, whose two splits are the same 20 images, stay unseen)."""
    with config.ignore_type():
        config.data.dataset = worker_split(["mnist", "mnist", "sum", "mnist"])
        config.data.permute_labels = worker_split([False, False, False, True])


def _tabular(config):
    """`:diverse` over 8 shards, half at 14x14 and half native, with its first shard
    (MNIST at 14x14) replaced by synthetic tables: `clusters` (32 features, 10 classes)
    through a fresh random projection and class names per episode, so that every such
    episode is a new tabular task. For the flat-feature streams users bring to
    `VSMLClassifier` (make_classification's first 100 examples were its weakest window)."""
    with config.ignore_type():
        config.data.dataset = worker_split(["clusters", "mnist", "sum", "mnist",
                                            "mnist", "mnist", "sum", "mnist"])
        config.data.permute_labels = worker_split([True, False, False, True,
                                                   False, False, False, True])
        config.data.episode_rand_proj = worker_split([True] + [False] * 7)
        config.data.resize = worker_split(["", "14x14", "14x14", "14x14", "", "", "", ""])
