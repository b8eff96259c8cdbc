"""The sub-RNN: one tiny LSTM whose parameters every connection of a layer shares.

The paper (Kirsch & Schmidhuber 2021, Sec. 3) replaces each weight w_ab of a network by
an LSTM state (h_ab, c_ab). All these LSTMs share one set of parameters -- the
meta-parameters that ES or backprop meta-train. This module holds those parameters as a
Keras layer and the pure functions that use them, written in `keras.ops` so that the same
math runs on every Keras backend.

The functions below are the paper's equations, written plainly; `kernels.py` holds
faster forms of the same functions (selected there) and the tests hold each to these.

Every function takes `params`: a dict name -> tensor whose leading axis is the *member*
axis (an ES population member or a meta-batch episode), so a whole population runs as one
batched computation; a member axis of size 1 means "shared by all members".
"""

from __future__ import annotations

import math

import keras
from keras import ops

# Gate order of the LSTM pre-activation, as in the paper's code.
GATES = ("i", "g", "f", "o")
FORGET_BIAS = 5.0  # f = sigmoid(f + 5): connections remember by default.
INPUT_BIAS = -5.0  # i = sigmoid(i - 5): and change slowly.


def _truncated_normal(stddev: float) -> keras.initializers.Initializer:
    return keras.initializers.TruncatedNormal(stddev=stddev)


class SubRNN(keras.layers.Layer):
    """Parameters of one shared sub-RNN (about 2.4k numbers for S=16, M=8).

    kernel:     [2M + S, 4S]  maps concat(fwd_msg, bwd_msg, h) to the gates i, g, f, o
    bias:       [4S]
    fwd_kernel: [S, M], fwd_bias: [M]  forward message Lin_f(h)
    bwd_kernel: [S, M], bwd_bias: [M]  backward message Lin_b(h)
    (+ LayerNorm scale/offset of each message when `layer_norm`).
    """

    def __init__(self, state_size: int = 16, msg_size: int = 8, layer_norm: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.state_size = state_size
        self.msg_size = msg_size
        self.layer_norm = layer_norm
        s, m = state_size, msg_size
        fan_in = 2 * m + s
        self.kernel = self.add_weight(name="kernel", shape=(fan_in, 4 * s),
                                      initializer=_truncated_normal(1 / math.sqrt(fan_in)))
        self.bias = self.add_weight(name="bias", shape=(4 * s,), initializer="zeros")
        for direction in ("fwd", "bwd"):
            setattr(self, f"{direction}_kernel", self.add_weight(
                name=f"{direction}_kernel", shape=(s, m),
                initializer=_truncated_normal(1 / math.sqrt(s))))
            setattr(self, f"{direction}_bias", self.add_weight(
                name=f"{direction}_bias", shape=(m,), initializer="zeros"))
            if layer_norm:
                setattr(self, f"{direction}_ln_scale", self.add_weight(
                    name=f"{direction}_ln_scale", shape=(m,), initializer="ones"))
                setattr(self, f"{direction}_ln_offset", self.add_weight(
                    name=f"{direction}_ln_offset", shape=(m,), initializer="zeros"))
        self.built = True

    def param_names(self) -> list[str]:
        names = ["kernel", "bias", "fwd_kernel", "fwd_bias", "bwd_kernel", "bwd_bias"]
        if self.layer_norm:
            names += ["fwd_ln_scale", "fwd_ln_offset", "bwd_ln_scale", "bwd_ln_offset"]
        return names

    def params(self, members: int = 1) -> dict:
        """This layer's own weights with a member axis of size `members` (broadcast)."""
        return {name: ops.broadcast_to(ops.convert_to_tensor(getattr(self, name)),
                                       (members,) + tuple(getattr(self, name).shape))
                for name in self.param_names()}

    def get_config(self):
        return {**super().get_config(), "state_size": self.state_size,
                "msg_size": self.msg_size, "layer_norm": self.layer_norm}


# ---------------------------------------------------------------------------------------
# Pure functions of `params` (member axis first). `p` below is the member axis.
# ---------------------------------------------------------------------------------------

def split_kernel(params: dict, msg_size: int):
    """W = [W_fwd; W_bwd; W_h] so that W . concat(f, b, h) = W_fwd f + W_bwd b + W_h h."""
    kernel = params["kernel"]
    return kernel[:, :msg_size], kernel[:, msg_size:2 * msg_size], kernel[:, 2 * msg_size:]


def project(x, w):
    """x: [p, ..., d] times w: [p, d, k] -> [p, ..., k] (per-member matmul).

    w may have a member axis of 1 (all members share the parameters, as in gradient
    meta-training and meta-test): then it is one large matmul instead of p small ones,
    and its gradient one large reduction."""
    p, d = ops.shape(x)[0], ops.shape(x)[-1]
    lead = ops.shape(x)[1:-1]
    k = ops.shape(w)[-1]
    if ops.shape(w)[0] == 1:
        out = ops.matmul(ops.reshape(x, (-1, d)), w[0])
    else:
        out = ops.matmul(ops.reshape(x, (p, -1, d)), w)
    return ops.reshape(out, (p,) + tuple(lead) + (k,))


def expand_to(x, rank: int):
    """Append singleton axes after the member axis' trailing dims so x broadcasts."""
    while len(x.shape) < rank:
        x = ops.expand_dims(x, 1)
    return x


def lstm_update(gates, c):
    """The LSTM update from pre-activations `gates` [..., 4S] (order i, g, f, o) and cell
    state `c` [..., S] -> (h, c): c' = sigmoid(f + 5) c + sigmoid(i - 5) tanh(g),
    h' = sigmoid(o) tanh(c')."""
    i, g, f, o = ops.split(gates, 4, axis=-1)
    c = ops.sigmoid(f + FORGET_BIAS) * c + ops.sigmoid(i + INPUT_BIAS) * ops.tanh(g)
    return ops.sigmoid(o) * ops.tanh(c), c


def layer_normalize(x, scale, offset, eps: float = 1e-5):
    mean = ops.mean(x, axis=-1, keepdims=True)
    var = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    rank = len(x.shape)
    return ((x - mean) * ops.rsqrt(var + eps) * expand_to(scale, rank)
            + expand_to(offset, rank))


def mean(x, axes: tuple[int, ...]):
    return ops.mean(x, axis=axes)


def message(params: dict, h, direction: str, reduce_axes: tuple[int, ...], layer_norm: bool,
            mean=mean):
    """mean over `reduce_axes` of Lin_dir(h) (LayerNorm'ed per connection if asked).

    Without LayerNorm the projection is linear, so the mean is taken first: the same
    result for a fraction of the work. `mean(x, axes)` may be replaced by an equal
    reduction (see `kernels.message`).
    """
    kernel, bias = params[f"{direction}_kernel"], params[f"{direction}_bias"]
    if not layer_norm:
        pooled = mean(h, reduce_axes)
        out = project(pooled, kernel)
        return out + expand_to(bias, len(out.shape))
    out = project(h, kernel)
    out = out + expand_to(bias, len(out.shape))
    out = layer_normalize(out, params[f"{direction}_ln_scale"], params[f"{direction}_ln_offset"])
    return mean(out, reduce_axes)

