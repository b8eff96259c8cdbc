"""Fast weight programmer baseline (delta rule; paper Sec. 4, Fig. 6): a slow linear map
programs a [64, classes] fast weight matrix from x_t and the previous prediction, error
and label, meta-trained on 8x8 digits.

    vsml-train --config=configs/fwp.py --workdir=vsml_runs/fwp
    vsml-train --config=configs/fwp.py:es --workdir=vsml_runs/fwp_es   # ES instead

Keys and queries are L2-normalized (`baselines.fwp.normalize_keys`, see
vsml_tf/learners/baselines/fwp.py: the verbatim rule overflows on standardized inputs).
Backpropagation through 16 digit episodes of 100 steps per iteration (Adam 1e-3, clip 25),
1,000 iterations, then meta-test on held-out digits with 400-step episodes. Expected on a
2-core CPU: about 1 minute (ES: 1); meta-test accuracy 0.91 over online steps 0-49 and
0.96 over steps 300-399 (ES: 0.76 / 0.80), by storing the digit -> label map in its slow
weights: at chance with labels permuted per episode (docs/baselines.md).

Paper scale: `--config.training.algorithm=es --config.es.population_size=1024
--config.training.episode_length=500 --config.training.num_iterations=10001` on MNIST,
with every dataset padded to 28x28x1 and 62 classes (`--config.data.pad_inputs=28x28x1
--config.data.pad_classes=62`).
"""

from vsml_tf.runs.config import base_config
from vsml_tf.runs.presets import digits_run


def get_config(arg=None):
    return digits_run(base_config(), learner="fwp", algorithm=arg or "gradient")
