"""Paper-scale ES meta-training of VSML (Kirsch & Schmidhuber 2021, Sec. 4, Fig. 5/6).

One dense VSML layer meta-trained by ES on MNIST with the paper's hyper-parameters:
1024 antithetic pairs (2048 episodes of 500 steps) per iteration, 10,001 iterations.

    vsml-train --config=configs/paper_es.py --workdir=runs/paper_es \
        --config.data.dataset=mnist

The paper ran this on 128 GPUs for about 4 hours; on a single CPU it is not practical
(each iteration is ~2,000x the quickstart's). Expected: MNIST meta-test accuracy ~0.9
after 2000 online steps, and generalization to unseen datasets (Fig. 6).
"""

from vsml_tf.runs.config import base_config


def get_config(arg=None):
    config = base_config()  # the base config holds the paper's defaults
    config.evaluation.datasets = "digits"
    return config
