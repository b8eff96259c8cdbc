"""The learners VSML is compared with in the paper (Kirsch & Schmidhuber 2021, Sec. 4).

Each is an `EpisodeLearner` ("predict, then receive the previous step's error and
label"), so ES, gradient meta-training, evaluation and plots work unchanged. Inputs are
flattened or, with `use_conv`, go through a conv front-end; outputs are bounded
100 tanh(y/100). Registered in `vsml_tf/learners/registry.py`:

    metarnn     metarnn.MetaRNN                  LSTM reading its own feedback (Hochreiter 2001)
    fwmemory    fwmemory.FastWeightMemory        LSTM + fast-weight memory (Schlag et al. 2021)
    hebbian     hebbian.HebbianFastWeights       Hebbian / Oja fast weights
    fwp         fwp.FastWeightProgrammer         delta-rule fast weight programmer
    sgd         online_sgd.OnlineGradientLearner online SGD / Adam, no meta-parameters
"""
