"""The learners VSML is compared with in the paper (Kirsch & Schmidhuber 2021, Sec. 4).

Each has the episode interface of `VSMLNetwork` ("predict, then receive the previous
step's error and label"), so ES, gradient meta-training, evaluation and plots work
unchanged. Inputs are flattened or, with `use_conv`, go through a conv front-end; outputs
are bounded 100 tanh(y/100).

    metarnn     MetaRNN                 LSTM reading its own feedback (Hochreiter 2001)
    fwmemory    FastWeightMemory        LSTM + fast-weight memory (Schlag et al. 2021)
    hebbian     HebbianFastWeights      Hebbian / Oja fast weights
    fwp         FastWeightProgrammer    delta-rule fast weight programmer
    sgd         OnlineGradientLearner   online SGD / Adam, no meta-parameters
"""

from vsml_tf.baselines.fwmemory import FastWeightMemory
from vsml_tf.baselines.fwp import FastWeightProgrammer
from vsml_tf.baselines.hebbian import HebbianFastWeights
from vsml_tf.baselines.metarnn import MetaRNN
from vsml_tf.baselines.online_sgd import OnlineGradientLearner

__all__ = ["FastWeightMemory", "FastWeightProgrammer", "HebbianFastWeights", "MetaRNN",
           "OnlineGradientLearner"]
