"""Learning to implement backprop (paper Sec. 3): clone online SGD into the sub-RNNs.

    vsml-train --config=configs/clone_backprop.py --workdir=vsml_runs/clone_backprop
    vsml-train --config=configs/clone_backprop.py:deep --workdir=vsml_runs/clone_deep

Supervised cloning (vsml_tf/meta/cloning.py, no episode unrolled): Adam teaches the forward
and the backward sub-RNN, on single connections with random inputs, to send backprop's
per-weight messages and to update w <- w - alpha phi(u) delta in their state. Then the
cloned meta-parameters run on MNIST as a VSML network (784 -> 10; deep: 784 -> 32 -> 10)
with no gradient, next to the online SGD they clone (same initial weights, episodes and
step sizes), 16 test episodes of 2,000 steps. Writes a normal checkpoint, eval/curves.csv
and curves.png (learners vsml_clone and sgd_clone_target) and eval/summary.txt with the
agreement (predicted class equal to SGD's) and |accuracy difference|.

Measured (shallow, seed 0, shared 2-core CPU under load): cloning 11 min 11 s, meta-test
16 min 16 s. Accuracy over steps 1000-1999: clone 0.854, its SGD 0.849; the clone
predicts SGD's class on 98.4% of all steps; steps 0-99: 0.378 vs 0.382.

Deep (784 -> 32 -> 10; kappa 80, alpha 0.5, clone.delta_range 4): the hidden layer's
errors reach +-6 and its weights grow past the shallow ranges, so the cloning draws
errors over +-4 as well (the shallow kappa 600 / alpha 10 leave the cloned SGD itself at
chance: the 32 -> 10 layer starts at logit std 11.5). Measured (seed 0, 2-core CPU, one
other job): cloning 97 s, meta-test 234 s. Steps 1000-1999: clone 0.845, its SGD 0.844;
the clone predicts SGD's class on 91.6% of all steps (93.8% over 1000-1999). docs/experiments/clone-backprop.md,
"Learning to implement backprop", has the tables and the plots.
"""

from vsml_tf.runs.config import base_config
from vsml_tf.runs.presets import CLONE_NETWORK


def get_config(arg=None):
    if arg not in (None, "", "deep", "digits"):
        raise ValueError(f"configs/clone_backprop.py:{arg}: use no argument (shallow), "
                         f":deep or :digits.")
    config = base_config()
    config.learner = "vsml"
    config.model.layers = "dense32,dense" if arg == "deep" else "dense"
    if arg == "deep":
        # Smaller weights and steps: kappa 600 / alpha 10 start the 32-input output layer
        # at logit std 11.5, where online SGD of this network does not learn (0.10);
        # alpha 0.5 keeps the hidden weights within the cloned range |c| <= 0.5, and the
        # hidden errors (up to +-6) are cloned over +-4.
        config.clone.kappa = 80.0
        config.clone.alpha = 0.5
        config.clone.delta_range = 4.0
    config.update_from_flattened_dict(CLONE_NETWORK)
    config.training.algorithm = "clone"
    config.data.dataset = "mnist"
    config.evaluation.datasets = "mnist"
    config.evaluation.episode_length = 2000
    config.evaluation.num_episodes = 16
    config.evaluation.chunk = 16
    if arg == "digits":  # the same shallow clone, meta-tested as the quickstart
        config.data.dataset = config.evaluation.datasets = "digits"
        config.evaluation.episode_length = 400
        config.evaluation.num_episodes = 64
        config.evaluation.chunk = 32
    return config
