"""Fast weight programmer (Schmidhuber 1992; Schlag et al. 2021) with the delta rule.

A slow linear map programs a fast weight matrix F [f, outputs] at every step:

    (k, v, q, beta) = Linear(concat(x_t, y_hat_{t-1}, e_{t-1}, y_{t-1}))
    F += k^T (sigmoid(beta) (v - k F))        (delta rule)
    y_hat_t = q F

with k, q in R^f (f = 64), v in R^outputs and a scalar beta. Only the slow map is
meta-learned; F starts every episode from a fresh variance-scaling draw. With a batch
inside the episode, F is shared and k^T sums the updates over the batch's rows.

`normalize_keys` (default) divides k and q by their L2 norms, as Schlag et al. (2021)
normalize theirs. Without it -- the equations above verbatim, as in the paper's code --
the update multiplies F along k by (1 - beta ||k||^2), and at initialization
||k||^2 ~ f (unit-variance inputs), so F grows ~30x per step and overflows within ~30
steps on standardized digits (NaN meta-loss and gradients). With unit keys the delta rule
is a contraction and a read with q = k returns the stored value when beta = 1.
"""

from __future__ import annotations

import math

from keras import ops

from vsml_tf.learners.baselines import blocks
from vsml_tf.learners.baselines.base import BaselineLearner, zeros


def delta_rule(fast, key, value, beta):
    """fast [p, f, C] += key^T (beta (value - key fast)); key [p, n, f], value [p, n, C],
    beta [p, n, 1] (already squashed)."""
    old = ops.einsum("pnf,pfc->pnc", key, fast)
    return fast + ops.einsum("pnf,pnc->pfc", key, beta * (value - old))


def unit_norm(x, eps: float = 1e-6):
    """x / ||x|| over the last axis."""
    return x * ops.rsqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + eps)


class FastWeightProgrammer(BaselineLearner):
    """Slow Linear -> (k, v, q, beta); fast weights [fast_size, classes] by the delta rule."""

    DEFAULTS = dict(fast_size=64,
                    normalize_keys=True,  # False: verbatim delta rule (diverges, see above)
                    use_conv=False, conv_channels=8)

    def __init__(self, fast_size: int = 64, normalize_keys: bool = True,
                 use_conv: bool = False, conv_channels: int = 8, **kwargs):
        super().__init__(use_conv=use_conv, conv_channels=conv_channels, **kwargs)
        self.fast_size = fast_size
        self.normalize_keys = normalize_keys

    def create_weights(self, feature_size: int, num_classes: int) -> None:
        self.add_linear("slow", feature_size + 3 * num_classes,
                        2 * self.fast_size + num_classes + 1)

    def initial_state(self, sample_truncated_normal, input_shape, num_classes, batch_size):
        """F0 [p, f, C]: variance scaling (fan-in f, truncated normal), drawn per episode."""
        std = 1.0 / math.sqrt(self.fast_size) / blocks.TRUNCATED_NORMAL_STD
        return {"fast": sample_truncated_normal((self.fast_size, num_classes)) * std}

    def initial_carry(self, state, xs, ys):
        num_classes = ys.shape[-1]
        blank = zeros(xs, num_classes)
        return state["fast"], blank, blank, blank

    def step(self, params, carry, x, y):
        fast, prev_logits, error, label = carry
        inputs = ops.concatenate([self.features(params, x), prev_logits, error, label], -1)
        f, num_classes = self.fast_size, y.shape[-1]
        key, value, query, beta = ops.split(blocks.linear(params["slow"], inputs),
                                            [f, f + num_classes, 2 * f + num_classes], -1)
        if self.normalize_keys:
            key, query = unit_norm(key), unit_norm(query)
        fast = delta_rule(fast, key, value, ops.sigmoid(beta))
        logits = blocks.bounded(ops.einsum("pnf,pfc->pnc", query, fast))
        return (fast, logits, blocks.feedback_error(logits, y), y), logits
