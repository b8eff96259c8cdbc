"""Online SGD / Adam: the hand-designed learning algorithm, run inside the episode.

A linear model (`num_layers=1`) or one tanh hidden layer (`num_layers=2`), optionally
behind the conv front-end, starts every episode from fresh random weights and takes one
optimizer step per example right after predicting it ("predict, then learn from the
label"), on the cross-entropy of its bounded logits. Initial weights follow the paper's code (Haiku
defaults): dense kernels truncated normal with std 1/sqrt(fan_in), conv kernels variance
scaling, biases zero -- drawn from the caller's per-member sampler, so every member and
episode gets its own.

It has no meta-parameters: `vsml-evaluate` runs it directly. The optimizers are written
out (a few lines each) because every member of a population keeps its own weights and
moments as tensors inside one compiled loop, where Keras optimizers, which own variables,
do not fit. Gradients come from the backend's autodiff.
"""

from __future__ import annotations

import math

import keras
from keras import ops, tree

from vsml_tf.core.errors import UserError
from vsml_tf.learners.baselines import blocks
from vsml_tf.learners.baselines.base import BaselineLearner

OPTIMIZERS = ("sgd", "adam")
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-8  # Kingma & Ba (optax defaults)


def value_and_aux_gradient(fn, params):
    """(gradient of fn(params)[0] w.r.t. params, fn(params)[1]) with the backend's autodiff."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(params)
            value, aux = fn(params)
        return tape.gradient(value, params), aux
    if backend == "jax":
        import jax

        return jax.grad(fn, has_aux=True)(params)
    raise NotImplementedError(f"Online SGD differentiates inside the episode, which is "
                              f"written for the tensorflow and jax Keras backends, not "
                              f"{backend!r}; set KERAS_BACKEND=tensorflow.")


class OnlineGradientLearner(BaselineLearner):
    """A small network trained online, one `optimizer` step per example."""

    DEFAULTS = dict(num_layers=1,         # 1: linear, 2: one tanh hidden layer
                    hidden_size=160,
                    optimizer="sgd",      # 'sgd' or 'adam'
                    learning_rate=0.01,   # paper: 0.01 for sgd, 1e-3 for adam
                    use_conv=False, conv_channels=8)

    def __init__(self, num_layers: int = 1, hidden_size: int = 160, optimizer: str = "sgd",
                 learning_rate: float = 0.01, use_conv: bool = False, conv_channels: int = 8,
                 **kwargs):
        super().__init__(use_conv=use_conv, conv_channels=conv_channels, **kwargs)
        if optimizer not in OPTIMIZERS:
            raise UserError(f"Unknown optimizer {optimizer!r} for online SGD: use 'sgd' or "
                            f"'adam' (baselines.sgd.optimizer).")
        if num_layers not in (1, 2):
            raise UserError(f"baselines.sgd.num_layers={num_layers}: use 1 (linear) or 2 "
                            f"(one tanh hidden layer of hidden_size units).")
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.optimizer_name = optimizer
        self.learning_rate = learning_rate

    # -- no meta-parameters: all weights are drawn per episode ---------------------------

    def feature_size(self, example_shape: tuple) -> int:
        if self.front_end is None:
            return int(math.prod(example_shape))
        return self.front_end.output_size(example_shape)  # kernels are in-episode weights

    def create_weights(self, feature_size: int, num_classes: int) -> None:
        self.dense_sizes = ([feature_size] + [self.hidden_size] * (self.num_layers - 1)
                            + [num_classes])

    def initial_state(self, sample_truncated_normal, input_shape, num_classes, batch_size):
        """Fresh weights {layer: {kernel, bias}}, each member its own draw."""
        weights = {}
        if self.front_end is not None:
            for i, shape in enumerate(self.front_end.kernel_shapes(input_shape)):
                std = 1.0 / math.sqrt(math.prod(shape[:-1])) / blocks.TRUNCATED_NORMAL_STD
                kernel = sample_truncated_normal(shape) * std
                weights[f"conv_{i}"] = {"kernel": kernel,
                                        "bias": ops.zeros_like(kernel[:, 0, 0, 0, :])}
        for i, (fan_in, units) in enumerate(zip(self.dense_sizes[:-1], self.dense_sizes[1:])):
            kernel = sample_truncated_normal((fan_in, units)) / math.sqrt(fan_in)
            weights[f"dense_{i}"] = {"kernel": kernel, "bias": ops.zeros_like(kernel[:, 0, :])}
        return weights

    # -- the episode ----------------------------------------------------------------------

    def forward(self, weights: dict, x):
        """Bounded logits [p, n, C] of the current weights."""
        if self.front_end is None:
            h = ops.reshape(x, tuple(x.shape[:2]) + (-1,))
        else:
            h = self.front_end([weights[f"conv_{i}"]
                                for i in range(self.front_end.NUM_LAYERS)], x)
        for i in range(self.num_layers):
            h = blocks.linear(weights[f"dense_{i}"], h)
            if i < self.num_layers - 1:
                h = ops.tanh(h)
        return blocks.bounded(h)

    def initial_carry(self, state, xs, ys):
        moments = {"count": ops.zeros((), "float32")}
        if self.optimizer_name == "adam":
            moments["m"] = tree.map_structure(ops.zeros_like, state)
            moments["v"] = tree.map_structure(ops.zeros_like, state)
        return state, moments

    def step(self, params, carry, x, y):
        weights, moments = carry

        def loss(weights):  # members are independent: the sum's gradient is per member
            logits = self.forward(weights, x)
            cross_entropy = ops.categorical_crossentropy(y, logits, from_logits=True)
            return ops.sum(ops.mean(cross_entropy, axis=1)), logits

        grads, logits = value_and_aux_gradient(loss, weights)
        return self.update(weights, grads, moments), logits

    def update(self, weights, grads, moments):
        lr = self.learning_rate
        count = moments["count"] + 1.0
        if self.optimizer_name == "sgd":
            return tree.map_structure(lambda w, g: w - lr * g, weights, grads), {"count": count}
        m = tree.map_structure(lambda m, g: ADAM_BETA_1 * m + (1 - ADAM_BETA_1) * g,
                               moments["m"], grads)
        v = tree.map_structure(lambda v, g: ADAM_BETA_2 * v + (1 - ADAM_BETA_2) * g * g,
                               moments["v"], grads)
        m_scale = 1.0 / (1.0 - ops.power(ADAM_BETA_1, count))
        v_scale = 1.0 / (1.0 - ops.power(ADAM_BETA_2, count))
        weights = tree.map_structure(
            lambda w, m, v: w - lr * m * m_scale / (ops.sqrt(v * v_scale) + ADAM_EPSILON),
            weights, m, v)
        return weights, {"count": count, "m": m, "v": v}
