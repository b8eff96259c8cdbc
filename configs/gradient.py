"""Meta-train VSML by backpropagation through whole episodes (paper Sec. 4, "backprop").

    vsml-train --config=configs/gradient.py --workdir=vsml_runs/gradient

Meta-batch of 16 digit episodes of 100 steps, Adam 1e-3, global-norm clip 25, 500
iterations; meta-test as the quickstart (64 held-out episodes of 400 steps). Each step's
activations are recomputed in the backward pass (`training.remat`): with VSML's
hand-written LSTM backward that is faster than storing them, and uses less memory.
Measured on an idle 2-core CPU: ~0.5 s per iteration (vsml-bench grad_digits), so ~4
minutes.
Expected result: not yet measured -- from VSML's initialization the meta-gradient is
small (a short run at lr 0.01 moved the meta-loss only from 2.3025 to 2.3016 in 60
steps), so this config is the starting point for gradient meta-training, not a result.
"""

from vsml_tf.config import base_config, digits_run


def get_config(arg=None):
    config = digits_run(base_config(), learner="vsml", algorithm="gradient")
    config.training.num_iterations = 500
    config.training.remat = True
    return config
