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

Called on its own, a layer is a complete one-layer VSML learner (a Keras layer over
whole episodes, see `VSMLLayer`): it then owns its shared sub-RNN as Keras weights and
reads its labels from the last channels of its one input tensor, so it composes in
`keras.Sequential` and the functional API. A deep VSML network is not a stack of such
layers: the backward messages of layer i+1 reach layer i at the next step, so the whole
network is one recurrence over the episode -- `VSMLNetwork` runs it.
"""

from __future__ import annotations

import math
from typing import Callable

import keras
import numpy as np
from keras import ops

from vsml_tf.core.errors import UserError
from vsml_tf.learners import kernels
from vsml_tf.learners import sub_rnn as rnn
from vsml_tf.learners.base import EpisodeCall, bounded, feedback_error
from vsml_tf.learners.sub_rnn import SubRNN


def input_message(values, msg_size: int):
    """Scalars [..., d] -> messages [..., d, M] with the value in channel 0."""
    values = ops.expand_dims(values, -1)
    pad = [(0, 0)] * (len(values.shape) - 1) + [(0, msg_size - 1)]
    return ops.pad(values, pad)


def feedback_message(error, labels, feed_label: bool, msg_size: int):
    """Backward message into the last layer: error in channel 0, label in channel 1."""
    fb = ops.stack([error, labels if feed_label else ops.zeros_like(labels)], -1)
    pad = [(0, 0)] * (len(error.shape)) + [(0, msg_size - 2)]
    return ops.pad(fb, pad)


def merge_batch(state: list, state_size: int) -> list:
    """Share the first half of every state's channels across the episode's batch (axis 1)."""
    half = state_size // 2

    def merge(s):
        shared = ops.mean(s[..., :half], axis=1, keepdims=True)
        return ops.concatenate([ops.broadcast_to(shared, ops.shape(s[..., :half])),
                                s[..., half:]], axis=-1)
    return [(merge(h), merge(c)) for h, c in state]


class VSMLLayer(EpisodeCall, keras.layers.Layer):
    """A VSML layer: its `tick` (what `VSMLNetwork` calls, passing the shared sub-RNN's
    parameters) and, called on its own, a one-layer VSML learner over whole episodes.

    On its own (`layer(episode)`), the layer's one input tensor is an episode whose last
    channels are the one-hot targets (see `VSMLDense` and `VSMLConv2D` for the shapes);
    it outputs per-step logits, each step predicting before its own label arrives. At
    every step t it reads x_t as forward messages (channel 0), reads its logits from
    forward channel `output_idx`, and receives the error softmax(logits_t) - y_t (and,
    with `feed_label`, y_t) as backward messages at step t + 1: `VSMLNetwork`'s step, with
    one layer. `build` creates the shared sub-RNN (its Keras weights, the
    meta-parameters: group "sub_rnn", as in `VSMLNetwork`) and a `SeedGenerator(seed)`
    from which every episode draws its initial state; `call(episode, initial_state=...)`
    takes one instead (`initial_state(...)`'s structure, member axis = batch). The batch
    axis holds independent episodes (one learner each); there is no in-episode batch.

    Inside a `VSMLNetwork` the layer's `build` never runs (the network marks it built,
    without weights): the network owns the sub-RNNs, passes their parameters to `tick`,
    and gives the layer its own options.
    """

    def __init__(self, state_size: int = 16, msg_size: int = 8, num_micro_ticks: int = 2,
                 output_idx: int = 1, feed_label: bool = False, layer_norm: bool = False,
                 init_rand_proportion: float = 0.5, seed: int | None = 0, **kwargs):
        super().__init__(**kwargs)
        self.state_size = state_size
        self.msg_size = msg_size
        self.num_micro_ticks = num_micro_ticks
        self.output_idx = output_idx
        self.feed_label = feed_label
        self.layer_norm = layer_norm
        self.init_rand_proportion = init_rand_proportion
        self.seed = seed
        if msg_size < 2 or output_idx >= msg_size:
            raise UserError(f"msg_size={msg_size} must be >= 2 and > output_idx={output_idx}.")

    # -- what a VSMLNetwork uses ----------------------------------------------------------

    def output_shape_for(self, input_shape: tuple, num_classes: int) -> tuple:
        raise NotImplementedError

    def connection_shape(self, input_shape: tuple, num_classes: int) -> tuple:
        raise NotImplementedError

    def init_std(self, input_shape: tuple) -> float:
        raise NotImplementedError

    def tick(self, params: dict, state, fwd_in, bwd_in, num_micro_ticks: int,
             layer_norm: bool = False):
        raise NotImplementedError

    def connection_state(self, sample_truncated_normal: Callable, input_shape: tuple,
                         num_classes: int, batch_size: int):
        """Initial (h, c) [members, batch, *connections, S]: h = 0; the first
        `init_rand_proportion` of c's channels truncated normal with std 1/sqrt(fan-in),
        the rest 0, the same for every example of the batch."""
        conn = self.connection_shape(input_shape, num_classes)
        n_rand = int(self.state_size * self.init_rand_proportion)
        rand = sample_truncated_normal(conn + (n_rand,)) * self.init_std(input_shape)
        members = ops.shape(rand)[0]
        c = ops.concatenate(
            [rand, ops.zeros((members,) + conn + (self.state_size - n_rand,), rand.dtype)],
            axis=-1)
        c = ops.broadcast_to(ops.expand_dims(c, 1), (members, batch_size) + conn +
                             (self.state_size,))
        return ops.zeros_like(c), c

    # -- on its own: a one-layer learner over episodes ------------------------------------

    def split_episode(self, episode) -> tuple:
        """The input tensor [b, T, ...] -> (xs [b, T, *example], ys [b, T, *outputs])."""
        raise NotImplementedError

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # checks the shape
        self.sub_rnn = SubRNN(self.state_size, self.msg_size, self.layer_norm, name="sub_rnn")
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="seed_generator")

    @property
    def sub_rnns(self) -> list[SubRNN]:
        """The shared sub-RNN (a list, as `VSMLNetwork.sub_rnns`, for `ParamLayout`)."""
        return [self.sub_rnn]

    def meta_params(self, members: int = 1) -> dict:
        """{"sub_rnn": {param name: tensor [members, ...]}} from this layer's weights."""
        return {self.sub_rnn.name: self.sub_rnn.params(members)}

    def initial_state(self, sample_truncated_normal: Callable, input_shape: tuple,
                      num_classes: int, batch_size: int) -> list:
        """[(h, c)]: this layer's `connection_state`; `num_classes` = its outputs."""
        return [self.connection_state(sample_truncated_normal, input_shape, num_classes,
                                      batch_size)]

    def initial_carry(self, state, xs, ys):
        return state, ops.zeros_like(input_message(ys[0], self.msg_size))

    def step(self, params: dict, carry, x, y):
        """x [p, n, *example], y [p, n, *outputs] -> (carry, logits [p, n, *outputs])."""
        state, feedback = carry
        h_c, fwd, _ = self.tick(params[self.sub_rnn.name], state[0],
                                input_message(x, self.msg_size), feedback,
                                self.num_micro_ticks, self.layer_norm)
        logits = bounded(fwd[..., self.output_idx])
        # Every output position is a classification over the last axis, averaged over n.
        error = ops.moveaxis(feedback_error(ops.moveaxis(logits, 1, -2),
                                            ops.moveaxis(y, 1, -2)), -2, 1)
        state = [h_c] if ops.shape(x)[1] == 1 else merge_batch([h_c], self.state_size)
        return (state, feedback_message(error, y, self.feed_label, self.msg_size)), logits

    def call(self, inputs, initial_state=None):
        xs, ys = self.split_episode(inputs)
        logits = self.run_episodes(ops.expand_dims(xs, 2), ops.expand_dims(ys, 2),
                                   initial_state)
        return ops.squeeze(logits, 2)

    def compute_output_spec(self, inputs, initial_state=None):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="float32")

    def get_config(self):
        return {**super().get_config(), "state_size": self.state_size,
                "msg_size": self.msg_size, "num_micro_ticks": self.num_micro_ticks,
                "output_idx": self.output_idx, "feed_label": self.feed_label,
                "layer_norm": self.layer_norm,
                "init_rand_proportion": self.init_rand_proportion, "seed": self.seed}


@keras.saving.register_keras_serializable(package="vsml_tf")
class VSMLDense(VSMLLayer):
    """Dense VSML layer, A inputs -> `units` outputs; in a `VSMLNetwork`, `units=None`
    means "as many as the dataset has classes".

    Called on its own (a one-layer learner, `VSMLLayer`; `units` required):
        input   episode [batch, T, A + units]: per step the A features of x_t, then the
                one-hot label y_t
        output  logits  [batch, T, units]: step t's prediction, made before y_t is seen
    e.g. `keras.Sequential([keras.Input((T, A + C)), VSMLDense(C)])`; with separate
    tensors x [batch, T, A] and y [batch, T, C], `VSMLDense(C)(ops.concatenate([x, y], -1))`.
    Keyword arguments: see `VSMLLayer`.
    """

    def __init__(self, units: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def compute_output_shape(self, input_shape) -> tuple:
        if self.units is None:
            raise UserError("VSMLDense called on its own needs units (its number of "
                            "classes); units=None is for the last layer of a VSMLNetwork.")
        if len(input_shape) != 3 or (input_shape[-1] is not None
                                     and input_shape[-1] <= self.units):
            raise UserError(f"VSMLDense({self.units}) reads episodes [batch, T, features + "
                            f"{self.units}] (x_t, then its one-hot label), got "
                            f"{tuple(input_shape)}.")
        return tuple(input_shape[:2]) + (self.units,)

    def split_episode(self, episode) -> tuple:
        features = episode.shape[-1] - self.units
        return episode[..., :features], episode[..., features:]

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


@keras.saving.register_keras_serializable(package="vsml_tf")
class VSMLConv2D(VSMLLayer):
    """Convolutional VSML layer: one k x k x Ci x Co grid of sub-RNN states, shared over
    positions. Each position runs the dense rule on its window; the state update is the
    mean over positions and the messages are means over the connections that produce them.

    Called on its own (a one-layer learner, `VSMLLayer`), every output position is a
    classification over the `filters` channels (as in segmentation):
        input   episode [batch, T, H, W, Ci + filters]: per step the image x_t, then the
                one-hot target map, read for output position (i, j) at input pixel
                (i * s, j * s) -- the centre of its window
        output  logits  [batch, T, ceil(H / s), ceil(W / s), filters]
    Keyword arguments: see `VSMLLayer`.
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

    def compute_output_shape(self, input_shape) -> tuple:
        if len(input_shape) != 5 or (input_shape[-1] is not None
                                     and input_shape[-1] <= self.filters):
            raise UserError(f"VSMLConv2D({self.filters}) reads episodes [batch, T, H, W, "
                            f"channels + {self.filters}] (x_t, then its one-hot target map),"
                            f" got {tuple(input_shape)}.")
        height, width = input_shape[2:4]
        return tuple(input_shape[:2]) + self.output_shape_for(
            (height, width, input_shape[-1] - self.filters), self.filters)

    def split_episode(self, episode) -> tuple:
        channels, s = episode.shape[-1] - self.filters, self.strides
        return episode[..., :channels], episode[:, :, ::s, ::s, channels:]

    def init_std(self, input_shape: tuple) -> float:
        if self.authors_compat:  # the paper's code: 1/sqrt of the first axis of (k, k, Ci, Co)
            return 1.0 / math.sqrt(self.kernel_size)
        return 1.0 / math.sqrt(self.kernel_size ** 2 * input_shape[-1])

    def tick(self, params: dict, state, fwd_in, bwd_in, num_micro_ticks: int,
             layer_norm: bool = False):
        h, c = state
        p, n, height, width, c_in, msg_size = ops.shape(fwd_in)  # p: may be dynamic
        _, _, out_h, out_w, c_out, _ = ops.shape(bwd_in)
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
