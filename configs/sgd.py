"""Online Adam on a linear model: the paper's hand-designed baseline (Sec. 4, Fig. 6).

No meta-parameters: every episode starts from fresh random weights and Adam (lr 1e-3)
takes one step per example after predicting it. Nothing is meta-trained, so vsml-train
only meta-tests (as vsml-evaluate does) on 400-step held-out digit episodes:

    vsml-evaluate --config=configs/sgd.py --workdir=vsml_runs/sgd

Other variants: `--config.baselines.sgd.optimizer=sgd --config.baselines.sgd.learning_rate=0.01`,
`--config.baselines.sgd.num_layers=2` (one tanh hidden layer of 160 units); all four in
configs/sweeps/sgd.py. Paper scale: `--config.evaluation.episode_length=16000` on MNIST
and the other datasets, padded to 28x28x1 and 62 classes as the paper did for every
baseline (`--config.data.pad_inputs=28x28x1 --config.data.pad_classes=62`).

Expected on a 2-core CPU: under a minute. Held-out digits, 64 episodes: accuracy 0.13
over online steps 0-49 and 0.67 over steps 300-399 (learning rate 0.03: 0.44 / 0.87);
docs/baselines.md has the sweep.
"""

from vsml_tf.runs.config import base_config


def get_config(arg=None):
    config = base_config()
    config.learner = "sgd"
    config.baselines.sgd.num_layers = 1
    config.baselines.sgd.optimizer = "adam"
    config.baselines.sgd.learning_rate = 1e-3
    config.data.dataset = "digits"
    config.evaluation.datasets = "digits"
    config.evaluation.episode_length = 400
    config.evaluation.num_episodes = 64
    config.evaluation.chunk = 32
    return config
