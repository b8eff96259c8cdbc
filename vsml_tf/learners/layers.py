"""VSML layers: a weight matrix replaced by a grid of sub-RNN states.

A layer keeps no weights of its own. Its "weights" are LSTM states (h, c) -- one per
connection -- and its parameters are those of the shared `SubRNN`, passed in as `params`
(member axis first). Shapes (p = members, n = examples in the episode's batch):

VSMLDense, A inputs -> B outputs
    state h, c   [p, n, A, B, S]
    fwd_in       [p, n, A, M]      bwd_in  [p, n, B, M]
    fwd_out      [p, n, B, M]      bwd_out [p, n, A, M]

VSMLConv2D, k x k kernel, stride s, centered ("SAME") windows, H x W x Ci -> H' x W' x Co
    state h, c   [p, n, k*k, Ci, Co, S]   shared by all output positions
    fwd_in       [p, n, H, W, Ci, M]     bwd_in  [p, n, H', W', Co, M]
    fwd_out      [p, n, H', W', Co, M]   bwd_out [p, n, H, W, Ci, M]
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from vsml_tf.core.errors import UserError
from vsml_tf.learners import kernels
from vsml_tf.learners import sub_rnn as rnn


class VSMLDense(keras.layers.Layer):
    """Dense VSML layer; `units=None` means "as many as the dataset has classes"."""

    def __init__(self, units: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def output_shape_for(self, input_shape: tuple, num_classes: int) -> tuple:
        return (self.units or num_classes,)

    def connection_shape(self, input_shape: tuple, num_classes: int) -> tuple:
        return (int(np.prod(input_shape)),) + self.output_shape_for(input_shape, num_classes)

    def init_std(self, input_shape: tuple) -> float:
        return 1.0 / math.sqrt(int(np.prod(input_shape)))

    def tick(self, params: dict, state, fwd_in, bwd_in, num_micro_ticks: int,
             layer_norm: bool = False):
        h, c = state
        msg_size = ops.shape(fwd_in)[-1]
        w_fwd, w_bwd, w_h = rnn.split_kernel(params, msg_size)
        # The input part of the gates is separable: W_fwd f_a + W_bwd b_b, computed once per
        # row / column instead of once per connection, and once for all micro ticks.
        from_fwd = rnn.project(fwd_in, w_fwd)                            # [p, n, A, 4S]
        from_bwd = rnn.project(bwd_in, w_bwd)                            # [p, n, B, 4S]
        from_bwd = from_bwd + rnn.expand_to(params["bias"], len(from_bwd.shape))
        inputs = from_fwd[:, :, :, None, :] + from_bwd[:, :, None, :, :]  # [p, n, A, B, 4S]
        for _ in range(num_micro_ticks):
            h, c = kernels.lstm_cell(rnn.project(h, w_h) + inputs, c)
        fwd_out = kernels.message(params, h, "fwd", reduce_axes=(2,), layer_norm=layer_norm)
        bwd_out = kernels.message(params, h, "bwd", reduce_axes=(3,), layer_norm=layer_norm)
        return (h, c), fwd_out, bwd_out

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def conv_window_indices(height: int, width: int, kernel_size: int, stride: int) -> np.ndarray:
    """[H' * W', k * k] flat input index of each window element; H * W marks padding.

    Windows are centered on input (i' * s, j' * s), as in the paper's code, so that
    H' = ceil(H / s) for any H.
    """
    out_h, out_w = -(-height // stride), -(-width // stride)
    offsets = np.arange(kernel_size) - kernel_size // 2
    rows = (np.arange(out_h) * stride)[:, None] + offsets[None]     # [H', k]
    cols = (np.arange(out_w) * stride)[:, None] + offsets[None]     # [W', k]
    r = rows[:, None, :, None]
    q = cols[None, :, None, :]
    valid = (r >= 0) & (r < height) & (q >= 0) & (q < width)
    flat = np.where(valid, r * width + q, height * width)           # [H', W', k, k]
    return flat.reshape(out_h * out_w, kernel_size * kernel_size).astype(np.int32)


def conv_backward_scatter(height: int, width: int, kernel_size: int, stride: int,
                          authors_compat: bool = False) -> np.ndarray:
    """[H' * W' * k * k, H * W]: the weight with which window element (position, kernel
    element) sends its backward message to each input position.

    Default: every window element reaches the input it reads, weight 1/k^2 (padding counts
    as a silent sender). `authors_compat` reproduces the paper's code instead, separably
    per axis: the element for kernel index t of input i is window j with j*s = i + t - 1,
    kernel index k-1-t (the offset -1 is right for k = 3 only), and windows with
    j*s >= floor(size / s) are left out (their mask compares an input coordinate with an
    output bound).
    """
    out_h, out_w = -(-height // stride), -(-width // stride)
    k = kernel_size
    if not authors_compat:
        index = conv_window_indices(height, width, k, stride)
        scatter = np.zeros((index.size, height * width + 1), np.float32)
        scatter[np.arange(index.size), index.reshape(-1)] = 1.0 / k ** 2
        return scatter[:, :-1]

    def axis(size, out_size):  # [out, k, size]: window, kernel index -> input weight
        weights = np.zeros((out_size, k, size), np.float32)
        for i in range(size):
            for t in range(k):
                centre = i + t - 1
                if centre >= 0 and centre < size // stride and centre % stride == 0:
                    weights[centre // stride, k - 1 - t, i] = 1.0 / k
        return weights

    rows, cols = axis(height, out_h), axis(width, out_w)
    scatter = np.einsum("atr,buq->abturq", rows, cols)
    return scatter.reshape(out_h * out_w * k * k, height * width)


class VSMLConv2D(keras.layers.Layer):
    """Convolutional VSML layer: one k x k x Ci x Co grid of sub-RNN states, shared over
    positions. Each position runs the dense rule on its window; the state update is the
    mean over positions and the messages are means over the connections that produce them.
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1,
                 authors_compat: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.authors_compat = authors_compat  # the paper code's backward and init (docs/model.md)

    def output_shape_for(self, input_shape: tuple, num_classes: int) -> tuple:
        if len(input_shape) != 3:
            raise UserError(f"VSMLConv2D needs [height, width, channels] inputs, got "
                            f"{input_shape}: put conv layers before dense layers.")
        height, width, _ = input_shape
        return (-(-height // self.strides), -(-width // self.strides), self.filters)

    def connection_shape(self, input_shape: tuple, num_classes: int) -> tuple:
        return (self.kernel_size ** 2, input_shape[-1], self.filters)

    def init_std(self, input_shape: tuple) -> float:
        if self.authors_compat:  # the paper's code: 1/sqrt of the first axis of (k, k, Ci, Co)
            return 1.0 / math.sqrt(self.kernel_size)
        return 1.0 / math.sqrt(self.kernel_size ** 2 * input_shape[-1])

    def tick(self, params: dict, state, fwd_in, bwd_in, num_micro_ticks: int,
             layer_norm: bool = False):
        h, c = state
        p, n, height, width, c_in, msg_size = fwd_in.shape
        _, _, out_h, out_w, c_out, _ = bwd_in.shape
        k2 = self.kernel_size ** 2
        index = conv_window_indices(height, width, self.kernel_size, self.strides)
        w_fwd, w_bwd, w_h = rnn.split_kernel(params, msg_size)

        from_fwd = rnn.project(ops.reshape(fwd_in, (p, n, height * width, c_in, msg_size)),
                               w_fwd)                                     # [p, n, HW, Ci, 4S]
        from_fwd = ops.pad(from_fwd, [(0, 0), (0, 0), (0, 1), (0, 0), (0, 0)])  # padding row
        windows = ops.take(from_fwd, ops.convert_to_tensor(index.reshape(-1)), axis=2)
        windows = ops.reshape(windows, (p, n, out_h * out_w, k2, c_in, 1, -1))
        from_bwd = rnn.project(ops.reshape(bwd_in, (p, n, out_h * out_w, 1, 1, c_out, msg_size)),
                               w_bwd)
        from_bwd = from_bwd + rnn.expand_to(params["bias"], len(from_bwd.shape))
        inputs = windows + from_bwd                                 # [p, n, Q, k2, Ci, Co, 4S]

        for _ in range(num_micro_ticks):
            gates = ops.expand_dims(rnn.project(h, w_h), 2) + inputs
            h_pos, c_pos = kernels.lstm_cell(gates, ops.expand_dims(c, 2))
            h, c = ops.mean(h_pos, axis=2), ops.mean(c_pos, axis=2)

        fwd_out = kernels.message(params, h_pos, "fwd", reduce_axes=(3, 4), layer_norm=layer_norm)
        fwd_out = ops.reshape(fwd_out, (p, n, out_h, out_w, c_out, msg_size))
        # Backward: each window element sends mean over Co of Lin_b(h); an input position
        # receives the sum over the windows that cover it, divided by k*k (padding counts
        # as a silent sender, as in the paper's code).
        per_element = kernels.message(params, h_pos, "bwd", reduce_axes=(5,), layer_norm=layer_norm)
        scatter = conv_backward_scatter(height, width, self.kernel_size, self.strides,
                                        self.authors_compat)
        per_element = ops.reshape(per_element, (p, n, out_h * out_w * k2, c_in * msg_size))
        bwd_out = ops.einsum("pnxd,xr->pnrd", per_element,
                             ops.convert_to_tensor(scatter, dtype=per_element.dtype))
        bwd_out = ops.reshape(bwd_out, (p, n, height, width, c_in, msg_size))
        return (h, c), fwd_out, bwd_out

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "authors_compat": self.authors_compat}
