"""Hebbian fast weights: a linear layer whose weights grow by a Hebbian or Oja rule.

    y_hat = x' (W + C * F) + b,   x' = concat(x, aux)

W, C (init 0.01), b and the rate eta = sigmoid(a) (a init -4.5) are meta-parameters; the
fast weights F start at zero each episode. A first pass predicts with aux = 0. Once the
error e = softmax(y_hat) - y is known, a second pass with aux = (e, y) gives
z = softmax(x' (W + C * F) + b) and F learns per element (i over inputs, j over classes):

    Hebb:  F_ij <- (1 - eta) F_ij + eta x'_i z_j
    Oja:   F_ij <- F_ij + eta z_j (x'_i - z_j F_ij)

averaged over the episode's batch. The updated F is used from the next step on.
"""

from __future__ import annotations

import keras
from keras import ops

from vsml_tf.core.errors import UserError
from vsml_tf.learners.baselines import blocks
from vsml_tf.learners.baselines.base import BaselineLearner

RULES = ("hebb", "oja")


def hebb_update(fast, rate, inputs, post):
    """fast [p, I, J], rate [p], inputs [p, n, I], post [p, n, J] -> new fast weights."""
    rate = rate[:, None, None]
    outer = ops.mean(ops.expand_dims(inputs, -1) * ops.expand_dims(post, -2), axis=1)
    return (1.0 - rate) * fast + rate * outer


def oja_update(fast, rate, inputs, post):
    """fast [p, I, J], rate [p], inputs [p, n, I], post [p, n, J] -> new fast weights."""
    post = ops.expand_dims(post, -2)                                          # [p, n, 1, J]
    delta = post * (ops.expand_dims(inputs, -1) - post * ops.expand_dims(fast, 1))
    return fast + rate[:, None, None] * ops.mean(delta, axis=1)


class HebbianFastWeights(BaselineLearner):
    """One linear layer with fast weights learned by `rule` ('hebb' or 'oja')."""

    DEFAULTS = dict(rule="oja",           # 'hebb' or 'oja'
                    rate_init=-4.5,       # fast-weight rate sigmoid(a), a's initial value
                    coeff_init=0.01,      # initial plasticity coefficients C
                    use_conv=False, conv_channels=8)

    def __init__(self, rule: str = "oja", rate_init: float = -4.5, coeff_init: float = 0.01,
                 use_conv: bool = False, conv_channels: int = 8, **kwargs):
        super().__init__(use_conv=use_conv, conv_channels=conv_channels, **kwargs)
        if rule not in RULES:
            raise UserError(f"Unknown Hebbian rule {rule!r}: use 'hebb' or 'oja' "
                            f"(baselines.hebbian.rule).")
        self.rule = rule
        self.rate_init = rate_init
        self.coeff_init = coeff_init

    def create_weights(self, feature_size: int, num_classes: int) -> None:
        inputs = feature_size + 2 * num_classes
        self.add_param("hebbian", "kernel", (inputs, num_classes), blocks.linear_init(inputs))
        self.add_param("hebbian", "coeff", (inputs, num_classes),
                       keras.initializers.Constant(self.coeff_init))
        self.add_param("hebbian", "bias", (num_classes,), "zeros")
        self.add_param("hebbian", "rate", (), keras.initializers.Constant(self.rate_init))

    def initial_carry(self, state, xs, ys):
        """Fast weights F = 0 [p, I, J], shared by the examples of the episode's batch."""
        kernel = self._param_groups["hebbian"]["kernel"]
        return ops.zeros((xs.shape[1],) + tuple(kernel.shape), "float32")

    def layer(self, params, inputs, fast):
        """x' (W + C * F) + b for inputs [p, n, I] and fast weights [p, I, J]."""
        weights = params["kernel"] + params["coeff"] * fast
        return ops.einsum("pni,pij->pnj", inputs, weights) + params["bias"][:, None, :]

    def step(self, params, fast, x, y):
        hebbian = params["hebbian"]
        features = self.features(params, x)
        blank = ops.zeros_like(ops.concatenate([y, y], axis=-1))
        logits = blocks.bounded(self.layer(hebbian, ops.concatenate([features, blank], -1),
                                           fast))
        inputs = ops.concatenate([features, blocks.feedback_error(logits, y), y], axis=-1)
        post = ops.softmax(self.layer(hebbian, inputs, fast), axis=-1)
        rate = ops.sigmoid(hebbian["rate"])
        update = hebb_update if self.rule == "hebb" else oja_update
        return update(fast, rate, inputs, post), logits
