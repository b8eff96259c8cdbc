"""Meta RNN (Hochreiter et al. 2001): an LSTM that learns by reading its own feedback.

At step t the LSTM reads concat(x_t, e_{t-1}, y_{t-1}) -- the input and the previous
step's error and label -- for `num_micro_ticks` updates on that same input, and predicts
y_hat_t = Linear(h). All its weights are meta-parameters; learning inside an episode is
the LSTM's state changing. In the paper it meta-overfits: it fits the meta-training
distribution well and generalizes poorly to unseen datasets.
"""

from __future__ import annotations

from keras import ops

from vsml_tf.learners.baselines import blocks
from vsml_tf.learners.baselines.base import BaselineLearner, zeros


class MetaRNN(BaselineLearner):
    """LSTM(hidden_size) on concat(x, e_prev, y_prev), Linear(h) -> logits."""

    DEFAULTS = dict(hidden_size=128, num_micro_ticks=2, use_conv=False, conv_channels=64)

    def __init__(self, hidden_size: int = 128, num_micro_ticks: int = 2,
                 use_conv: bool = False, conv_channels: int = 64, **kwargs):
        super().__init__(use_conv=use_conv, conv_channels=conv_channels, **kwargs)
        self.hidden_size = hidden_size
        self.num_micro_ticks = num_micro_ticks

    def create_weights(self, feature_size: int, num_classes: int) -> None:
        inputs = feature_size + 2 * num_classes
        self.add_linear("lstm", inputs + self.hidden_size, 4 * self.hidden_size)
        self.add_linear("output", self.hidden_size, num_classes)

    def initial_carry(self, state, xs, ys):
        num_classes = ys.shape[-1]
        return (zeros(xs, self.hidden_size), zeros(xs, self.hidden_size),
                zeros(xs, num_classes), zeros(xs, num_classes))

    def step(self, params, carry, x, y):
        h, c, error, label = carry
        inputs = ops.concatenate([self.features(params, x), error, label], axis=-1)
        for _ in range(self.num_micro_ticks):
            h, c = blocks.lstm(params["lstm"], inputs, (h, c))
        logits = blocks.bounded(blocks.linear(params["output"], h))
        return (h, c, blocks.feedback_error(logits, y), y), logits
