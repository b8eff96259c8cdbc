"""Meta-train VSML by backpropagation through whole episodes (paper Sec. 4, "backprop").

    vsml-train --config=configs/gradient.py:clone_first --workdir=vsml_runs/gradient_clone_first
    vsml-train --config=configs/gradient.py:from_clone --workdir=vsml_runs/gradient
    vsml-train --config=configs/gradient.py --workdir=vsml_runs/gradient_from_init

`:clone_first` (the fast result, one command, nothing shipped needed): clone online SGD
into the sub-RNNs first (vsml_tf/meta/cloning.py, 1,000 Adam steps, ~45 s), then 500 gradient
steps of 8 digit episodes at Adam 3e-3 in the clone's network. Measured (seed 0, idle
2-core AMD EPYC with AVX-512): 4 min 2 s in all, held-out digits (64 episodes of 400
steps) 0.622 over steps 0-49 and 0.895 over 300-399 -- above the ES quickstart's
recorded 0.599 / 0.848; shipped as `gradient_clone_first_digits`. Time to the
quickstart's bar (0.55 / 0.80), A/B in one run, seeds 0-2: median 188 s against the ES
quickstart's 245 s (docs/experiments/quickstart.md, "Time to a working learner").

No argument and `:from_clone`: meta-batch of 16 digit episodes of 100 steps, Adam 1e-3.
All three clip the meta-gradient's global norm at 25 and meta-test as the quickstart
(64 held-out episodes of 400 steps). Each step's activations are recomputed in the
backward pass (`training.remat`): with VSML's hand-written LSTM backward that is faster
than storing them, and uses less memory.

`:from_clone`: start from the shipped learner `clone_backprop`, sub-RNNs
cloned to run online SGD forward only (configs/clone_backprop.py:digits, 5.3 min), with
its network settings (backward pass, separate backward sub-RNN, logits in channel 0).
From there the meta-gradient is informative at once: the meta-loss falls from 4.2 (the
clone's overconfident SGD) to 1.2 in 500 iterations.
Measured (seed 0, 64 held-out digit episodes of 400 steps, shared 2-core CPU), accuracy
over steps 0-49 / 300-399: the clone 0.168 / 0.724; after 500 iterations 0.536 / 0.809;
after 1,000 0.581 / 0.817 (shipped as `gradient_digits`); 49 min for the 1,000
iterations while 1-2 other jobs shared the CPU (~3 s per iteration; the quickstart's ES
took 27 min under similar load). docs/experiments/gradient.md has the table.

No argument: from VSML's random initialization, 500 iterations. Not a working recipe on
this budget: the meta-gradient there is tiny (grad norm 0.01-0.1) and the meta-loss stays
at ln 10 = 2.303 -- measured with model.layer_norm=True (the authors' setting for gradient
meta-training; 125 iterations at lr 1e-3) and without (60 iterations at lr 1e-2).
"""

from vsml_tf.runs.config import base_config
from vsml_tf.runs.presets import CLONE_NETWORK, GRADIENT_FROM_CLONE, digits_run


def get_config(arg=None):
    if arg not in (None, "", "from_clone", "clone_first"):
        raise ValueError(f"configs/gradient.py:{arg}: use no argument, ':clone_first' or "
                         f"':from_clone'.")
    config = digits_run(base_config(), learner="vsml", algorithm="gradient")
    config.training.num_iterations = 500
    config.training.remat = True
    if arg == "from_clone":
        config.training.init_from = "clone_backprop"
        config.training.num_iterations = 1000
        config.update_from_flattened_dict(CLONE_NETWORK)
        config.evaluation.every = 100
    if arg == "clone_first":
        config.update_from_flattened_dict(GRADIENT_FROM_CLONE)  # 500 iterations, as above
        config.evaluation.every = 100
    return config
