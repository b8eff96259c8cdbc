"""Few-shot Omniglot: N-way K-shot episodes, meta-loss on the query (last) step.

Each episode shows K examples of each of N characters (relabeled 0..N-1 at random per
episode) in random order, then one unseen example of one of them; only the prediction on
that query counts (`training.loss_type='last'`). Meta-training draws characters of the
background alphabets (train split), meta-test those of the evaluation alphabets (test
split). Images are resized to 28x28. `:N,K` picks the ways and shots (default 5,1).

    vsml-train --config=configs/omniglot.py:5,1 --workdir=runs/omniglot \
        --config.data.data_dir=DIR    # DIR/omniglot/images_{background,evaluation}.zip
                                      # (without data_dir: TFDS downloads omniglot)

Scale: 128 pairs of 5-way 1-shot episodes (6 steps) per iteration, 2,000 iterations;
measured on a 2-core CPU: 2.4 s per iteration, so ~1.5 h. The accuracy to read is the
last step's (the summary's [0:6] averages all six steps; curves.csv has the query step
alone); chance is 1/N. Accuracy not yet measured: no Omniglot files were at hand offline.
"""

from vsml_tf.runs.config import base_config


def get_config(arg=None):
    ways, shots = (int(v) for v in (arg or "5,1").split(","))
    config = base_config()
    config.data.dataset = "omniglot"
    config.data.ways = ways
    config.data.shots = shots
    config.data.resize = "28x28"
    config.training.loss_type = "last"
    config.training.episode_length = ways * shots + 1
    config.training.num_iterations = 2000
    config.es.population_size = 128
    config.evaluation.datasets = "omniglot"
    config.evaluation.episode_length = ways * shots + 1
    config.evaluation.num_episodes = 1024
    config.evaluation.chunk = 256
    config.evaluation.every = 100
    config.evaluation.num_episodes_during_training = 256
    config.logging.summary_every = 20
    config.checkpoint.every = 100
    return config
