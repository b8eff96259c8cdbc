"""Hebbian fast weights baseline (paper Sec. 4, Fig. 6): one linear layer
y = x'(W + C * F) + b whose fast weights F follow Oja's rule, meta-trained on 8x8 digits.

    vsml-train --config=configs/hebbian.py --workdir=vsml_runs/hebbian
    vsml-train --config=configs/hebbian.py:es --workdir=vsml_runs/hebbian_es   # ES instead

`--config.baselines.hebbian.rule=hebb` for the plain Hebbian rule with decay. Backpropagation
through 16 digit episodes of 100 steps per iteration (Adam 1e-3, clip 25), 1,000
iterations, then meta-test on held-out digits with 400-step episodes. Expected on a
2-core CPU: about 1 minute (ES: 1); meta-test accuracy 0.97 over online steps 0-49 and
0.97 over steps 300-399 (ES: 0.97 / 0.97), from W alone -- a digit classifier in the slow
weights: at chance with labels permuted per episode (docs/baselines.md).

Paper scale: `--config.training.algorithm=es --config.es.population_size=1024
--config.training.episode_length=500 --config.training.num_iterations=10001` on MNIST,
with every dataset padded to 28x28x1 and 62 classes (`--config.data.pad_inputs=28x28x1
--config.data.pad_classes=62`), and
`--config.baselines.hebbian.use_conv=True` for the conv variant.
"""

from vsml_tf.runs.config import base_config
from vsml_tf.runs.presets import digits_run


def get_config(arg=None):
    return digits_run(base_config(), learner="hebbian", algorithm=arg or "gradient")
