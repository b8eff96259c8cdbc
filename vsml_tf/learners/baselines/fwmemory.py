"""Fast Weight Memory (Schlag et al. 2021): an LSTM with a fast-weight associative memory.

An LSTM (32 units) reads concat(x_t, e_{t-1}, y_{t-1}). From its output h a write head
stores a value under a key made of two outer-producted vectors, with the delta rule:

    beta = sigmoid(w_last), (k1, k2, v) = tanh of three m-sized parts of Linear_w(h)
    key = flatten(k1 k2^T)                               [m^2]
    F  += beta (v - F key) key^T;   F /= max(1, ||F||)   F: [m, m^2], Frobenius norm

and a read head queries it with (n, e) = tanh of two m-sized parts of Linear_r(h):

    h' = h + Linear(LayerNorm(F flatten(n e^T)));   y_hat = Linear(h')

The LSTM carries h (not h') to the next step. Memory and LSTM state are per example of
the episode's batch.
"""

from __future__ import annotations

from keras import ops

from vsml_tf.learners.baselines import blocks
from vsml_tf.learners.baselines.base import BaselineLearner, zeros


def outer_flat(a, b):
    """[..., m] x [..., m] -> flatten(a b^T) [..., m*m]."""
    outer = ops.expand_dims(a, -1) * ops.expand_dims(b, -2)
    return ops.reshape(outer, tuple(outer.shape[:-2]) + (-1,))


class FastWeightMemory(BaselineLearner):
    """LSTM(hidden_size) plus a [memory_size, memory_size^2] fast-weight memory."""

    DEFAULTS = dict(hidden_size=32, memory_size=16, use_conv=False, conv_channels=8)

    def __init__(self, hidden_size: int = 32, memory_size: int = 16, use_conv: bool = False,
                 conv_channels: int = 8, **kwargs):
        super().__init__(use_conv=use_conv, conv_channels=conv_channels, **kwargs)
        self.hidden_size = hidden_size
        self.memory_size = memory_size

    def create_weights(self, feature_size: int, num_classes: int) -> None:
        h, m = self.hidden_size, self.memory_size
        self.add_linear("lstm", feature_size + 2 * num_classes + h, 4 * h)
        self.add_linear("write", h, 3 * m + 1)
        self.add_linear("read", h, 2 * m)
        self.add_linear("read_projection", m, h)
        self.add_linear("output", h, num_classes)

    def initial_carry(self, state, xs, ys):
        h, m, num_classes = self.hidden_size, self.memory_size, ys.shape[-1]
        return (zeros(xs, h), zeros(xs, h), zeros(xs, m, m * m),
                zeros(xs, num_classes), zeros(xs, num_classes))

    def step(self, params, carry, x, y):
        h, c, memory, error, label = carry
        inputs = ops.concatenate([self.features(params, x), error, label], axis=-1)
        h, c = blocks.lstm(params["lstm"], inputs, (h, c))
        memory = self.write(params, memory, h)
        read_key = outer_flat(*ops.split(ops.tanh(blocks.linear(params["read"], h)), 2, -1))
        read = blocks.layer_norm(ops.einsum("pnij,pnj->pni", memory, read_key))
        out = h + blocks.linear(params["read_projection"], read)
        logits = blocks.bounded(blocks.linear(params["output"], out))
        return (h, c, memory, blocks.feedback_error(logits, y), y), logits

    def write(self, params, memory, h):
        """Delta-rule write of Linear_w(h) into memory [p, n, m, m^2], then normalize."""
        write = blocks.linear(params["write"], h)
        beta = ops.sigmoid(write[..., -1:])                                   # [p, n, 1]
        k1, k2, value = ops.split(ops.tanh(write[..., :-1]), 3, axis=-1)
        key = outer_flat(k1, k2)                                              # [p, n, m^2]
        old = ops.einsum("pnij,pnj->pni", memory, key)
        memory = memory + ops.expand_dims(beta * (value - old), -1) * ops.expand_dims(key, -2)
        norm = ops.sqrt(ops.sum(ops.square(memory), axis=(-2, -1), keepdims=True))
        return memory / ops.maximum(1.0, norm)
