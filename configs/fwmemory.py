"""Fast Weight Memory baseline (Schlag et al. 2021; paper Sec. 4, Fig. 6): an LSTM (32
units) with a [16, 256] fast-weight memory written by the delta rule, meta-trained on 8x8
digits.

    vsml-train --config=configs/fwmemory.py --workdir=vsml_runs/fwmemory
    vsml-train --config=configs/fwmemory.py:es --workdir=vsml_runs/fwmemory_es   # ES instead

Backpropagation through 16 digit episodes of 100 steps per iteration (Adam 1e-3, clip 25),
1,000 iterations, then meta-test on held-out digits with 400-step episodes. Expected on a
2-core CPU: about 2.5 minutes (ES: 2); meta-test accuracy 0.98 over online steps 0-49 and
0.98 over steps 300-399 (ES: 0.38 / 0.48), by storing the digit -> label map in its slow
weights: at chance with labels permuted per episode (docs/baselines.md).

Paper scale: `--config.training.algorithm=es --config.es.population_size=1024
--config.training.episode_length=500 --config.training.num_iterations=10001` on MNIST,
with every dataset padded to 28x28x1 and 62 classes (`--config.data.pad_inputs=28x28x1
--config.data.pad_classes=62`), and
`--config.baselines.fwmemory.use_conv=True` for the conv variant.
"""

from vsml_tf.runs.config import base_config
from vsml_tf.runs.presets import digits_run


def get_config(arg=None):
    return digits_run(base_config(), learner="fwmemory", algorithm=arg or "gradient")
