"""Invariances: meta-train on MNIST under random projections, resizing and class subsets.

The authors' invariance experiment: the learned algorithm should not depend on the input
size, the input's basis or the number of classes. Eight workers (ES shards) see MNIST
each through its own combination (`worker_split`, period 8):

    worker            0      1      2      3      4      5      6      7
    rand_proj         -      yes    -      yes    -      yes    -      yes
    resize            28     14     32     28     14     32     14     28
    classes (count)   10     10     3      4      10     6      7      10

(class subsets are fixed per worker, relabeled 0..k-1). Meta-test is at native size;
`configs/sweeps/invariances.py` meta-tests one run under 5 classes (5,8,1,4,2), all
classes, resize 48x48 and 21x21, a random projection and a pixel shuffle, in one table.

    vsml-train --config=configs/invariances.py --workdir=runs/invariances \\
        --config.data.data_dir=DIR         # paper scale (configs/paper_es.py): GPUs
    vsml-train --config=configs/invariances.py:laptop --workdir=runs/invariances_laptop \\
        --config.data.data_dir=DIR
    python configs/sweeps/invariances.py runs/invariances_laptop --data_dir=DIR | sh

`:laptop` halves the meta-training sizes (28, 14, 32 become 14, 7, 16; meta-test stays at
native 28x28 and the sweep's sizes) and runs 32 ES pairs on 100-step episodes, as
configs/rand_proj.py:laptop, for 500 iterations starting from that config's shipped
learner (`mnist_rand_proj_laptop`: a digits -> MNIST -> invariances curriculum).
Measured (seed 0, 17 min on the shared 2-core CPU; 32 MNIST episodes of 2,000 steps):
accuracy over steps 0-99 / 1500-1999 of 0.566 / 0.743 on plain MNIST, 0.575-0.579 /
0.742-0.752 resized to 21x21 and 48x48, 0.574 / 0.814 through an unseen projection,
against 0.570-0.580 / 0.680-0.709 for its starting point (docs/experiments/invariances.md).
"""

from vsml_tf.runs.config import base_config
from vsml_tf.runs.per_worker import worker_split
from vsml_tf.runs.presets import mnist_laptop_run

RAND_PROJ = [False, True] * 4
RESIZE = ["", "14x14", "32x32", "", "14x14", "32x32", "14x14", ""]
LAPTOP_RESIZE = ["14x14", "7x7", "16x16", "14x14", "7x7", "16x16", "7x7", "14x14"]
CLASSES = ["", "", "7,2,5", "1,8,3,6", "", "9,4,0,2,6,5", "3,6,1,8,0,7,4", ""]


def get_config(arg=None):
    if arg not in (None, "", "laptop"):
        raise ValueError(f"configs/invariances.py:{arg}: use no argument (paper scale) or "
                         f"':laptop'.")
    config = base_config()  # the paper's ES scale, as configs/paper_es.py
    config.data.dataset = "mnist"
    with config.ignore_type():
        config.data.rand_proj = worker_split(RAND_PROJ)
        config.data.resize = worker_split(LAPTOP_RESIZE if arg == "laptop" else RESIZE)
        config.data.filter_classes = worker_split(CLASSES)
    config.evaluation.datasets = "mnist"
    config.evaluation.preprocessing = "none"  # native size, all classes, no projection
    if arg == "laptop":
        mnist_laptop_run(config, num_iterations=500, init_from="mnist_rand_proj_laptop")
    return config
