"""Meta RNN baseline (Hochreiter et al. 2001; paper Sec. 4, Fig. 6): an LSTM (128 units)
that reads x_t and the previous step's error and label, meta-trained on 8x8 digits.

    vsml-train --config=configs/metarnn.py --workdir=vsml_runs/metarnn
    vsml-train --config=configs/metarnn.py:es --workdir=vsml_runs/metarnn_es   # ES instead

Backpropagation through 16 digit episodes of 100 steps per iteration (Adam 1e-3, clip 25),
1,000 iterations, then meta-test on held-out digits with 400-step episodes. Expected on a
2-core CPU: about 4 minutes (ES: 5.5); meta-test accuracy 0.99 over online steps 0-49 and
0.99 over steps 300-399 (ES: 0.80 / 0.79). It gets there by storing the digit -> label map
in its weights, not by learning within the episode: with labels permuted per episode it is
at chance (docs/baselines.md) -- the paper's meta-overfitting.

Paper scale: `--config.training.algorithm=es --config.es.population_size=1024
--config.training.episode_length=500 --config.training.num_iterations=10001` on MNIST,
with every dataset padded to 28x28x1 and 62 classes (`--config.data.pad_inputs=28x28x1
--config.data.pad_classes=62`), and
`--config.baselines.metarnn.use_conv=True` for the conv variant (64 channels).
"""

from vsml_tf.runs.config import base_config
from vsml_tf.runs.presets import digits_run


def get_config(arg=None):
    return digits_run(base_config(), learner="metarnn", algorithm=arg or "gradient")
