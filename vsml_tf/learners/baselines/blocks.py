"""Per-member building blocks of the baseline learners, written in `keras.ops`.

Parameters carry a leading *member* axis p (an ES population member or a meta-batch
episode) and activations are [p, n, ...] (n: examples in the episode's batch), so that a
whole population runs as one batched computation -- each member with its own weights.
Keras layers hold one set of weights, which is why these few pieces are functions.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from vsml_tf.core.errors import UserError
from vsml_tf.learners.base import bounded, feedback_error
from vsml_tf.learners.sub_rnn import expand_to, project

LSTM_FORGET_BIAS = 1.0  # f = sigmoid(f + 1), as in Haiku's / Sonnet's LSTM (paper's code)
LAYER_NORM_EPS = 1e-5
# A truncated normal cut at 2 std has std 0.8796 of the untruncated one; variance scaling
# divides by it so the drawn weights have the intended variance (as Keras and Haiku do).
TRUNCATED_NORMAL_STD = 0.87962566103423978


def linear_init(fan_in: int) -> keras.initializers.Initializer:
    """Truncated normal with std 1/sqrt(fan_in): the paper's (Haiku's) Linear default."""
    return keras.initializers.TruncatedNormal(stddev=1.0 / math.sqrt(fan_in))


def conv_init() -> keras.initializers.Initializer:
    """Variance scaling (fan-in, truncated normal): the paper's (Haiku's) Conv2D default."""
    return keras.initializers.VarianceScaling(1.0, "fan_in", "truncated_normal")


__all__ = ["bounded", "feedback_error"]  # the learner contract's, re-exported for baselines


def linear(params: dict, x):
    """x [p, ..., d] @ kernel [p, d, k] + bias [p, k] -> [p, ..., k]."""
    out = project(x, params["kernel"])
    return out + expand_to(params["bias"], len(out.shape))


def lstm(params: dict, x, state):
    """One LSTM update: gates [i, g, f, o] = Linear(concat(x, h)), forget bias +1."""
    h, c = state
    gates = linear(params, ops.concatenate([x, h], axis=-1))
    i, g, f, o = ops.split(gates, 4, axis=-1)
    c = ops.sigmoid(f + LSTM_FORGET_BIAS) * c + ops.sigmoid(i) * ops.tanh(g)
    h = ops.sigmoid(o) * ops.tanh(c)
    return h, c


def layer_norm(x):
    """LayerNorm over the last axis without scale or offset."""
    mean = ops.mean(x, axis=-1, keepdims=True)
    var = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * ops.rsqrt(var + LAYER_NORM_EPS)


def same_padding(size: int, kernel_size: int, stride: int) -> tuple[int, int, int]:
    """(output size, padding before, padding after) of a 'SAME' convolution."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel_size - size, 0)
    return out, total // 2, total - total // 2


def conv2d_same(params: dict, x, stride: int):
    """'SAME' 2D convolution with one kernel per member.

    x [p, n, H, W, Ci], kernel [p, k, k, Ci, Co], bias [p, Co] -> [p, n, H', W', Co] with
    H' = ceil(H / stride). A sum over the k*k kernel offsets of strided slices times that
    offset's per-member matrix: grouped convolutions would do the same, but TensorFlow
    runs them on CPU only under XLA.
    """
    kernel = params["kernel"]
    k = kernel.shape[1]
    height, width = x.shape[2], x.shape[3]
    out_h, top, bottom = same_padding(height, k, stride)
    out_w, left, right = same_padding(width, k, stride)
    x = ops.pad(x, [(0, 0), (0, 0), (top, bottom), (left, right), (0, 0)])
    out = None
    for dy in range(k):
        for dx in range(k):
            window = x[:, :, dy:dy + stride * (out_h - 1) + 1:stride,
                       dx:dx + stride * (out_w - 1) + 1:stride, :]
            if kernel.shape[0] == 1:  # parameters shared by all members
                term = ops.einsum("pnhwc,cd->pnhwd", window, kernel[0, dy, dx])
            else:
                term = ops.einsum("pnhwc,pcd->pnhwd", window, kernel[:, dy, dx])
            out = term if out is None else out + term
    return out + expand_to(params["bias"], len(out.shape))


class ConvFrontEnd:
    """Three 3x3 stride-2 'SAME' convolutions, ReLU, ReLU, tanh, then flatten.

    Holds only shapes; the kernels come in as per-member parameters (meta-parameters for
    the meta-learned baselines, in-episode weights for online SGD).
    """

    NUM_LAYERS, KERNEL_SIZE, STRIDE = 3, 3, 2

    def __init__(self, channels: int):
        self.channels = channels

    def kernel_shapes(self, image_shape: tuple) -> list[tuple]:
        if len(image_shape) != 3:
            raise UserError(f"The conv front-end reads images [H, W, C]; got examples of "
                            f"shape {tuple(image_shape)}. Use a dataset of images or set "
                            f"use_conv=False.")
        shapes, in_channels = [], image_shape[-1]
        for _ in range(self.NUM_LAYERS):
            shapes.append((self.KERNEL_SIZE, self.KERNEL_SIZE, in_channels, self.channels))
            in_channels = self.channels
        return shapes

    def output_size(self, image_shape: tuple) -> int:
        height, width = image_shape[:2]
        for _ in range(self.NUM_LAYERS):
            height = same_padding(height, self.KERNEL_SIZE, self.STRIDE)[0]
            width = same_padding(width, self.KERNEL_SIZE, self.STRIDE)[0]
        return height * width * self.channels

    def __call__(self, layer_params: list[dict], x):
        """x [p, n, H, W, C] -> features [p, n, D]."""
        for i, params in enumerate(layer_params):
            x = conv2d_same(params, x, self.STRIDE)
            x = ops.tanh(x) if i == len(layer_params) - 1 else ops.relu(x)
        return ops.reshape(x, tuple(x.shape[:2]) + (-1,))
