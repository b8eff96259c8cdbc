"""The sub-RNN: one tiny LSTM whose parameters every connection of a layer shares.

The paper (Kirsch & Schmidhuber 2021, Sec. 3) replaces each weight w_ab of a network by
an LSTM state (h_ab, c_ab). All these LSTMs share one set of parameters -- the
meta-parameters that ES or backprop meta-train. This module holds those parameters as a
Keras layer and the pure functions that use them, written in `keras.ops` so that the same
math runs on every Keras backend.

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


# float32 tanh as XLA:CPU and Eigen compute it: tanh(x) ~= x P(x^2) / Q(x^2) with x clamped
# to +-7.9988 (error ~1 ulp). Written out, the LSTM update can put its five activations
# over two common denominators: 2 divisions per state unit instead of 5.
_TANH_CLAMP = 7.99881172180175781
_TANH_P = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
           5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
           -2.76076847742355e-16)            # of (x^2)^0 .. (x^2)^6, lowest first
_TANH_Q = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
           1.19825839466702e-06)


def _polynomial(x, coefficients):
    out = coefficients[-1]
    for a in reversed(coefficients[:-1]):
        out = out * x + a
    return out


def _tanh_fraction(x):
    """(numerator, denominator > 0) with tanh(x) = numerator / denominator.

    Without XLA's exact +-1 for |x| >= 20 (a select that cost ~20% of the step): beyond
    the clamp the value stays ~1.2e-7 short of +-1, as XLA's tanh does for 8 < |x| < 20.
    """
    x = ops.clip(x, -_TANH_CLAMP, _TANH_CLAMP)
    x2 = x * x
    return x * _polynomial(x2, _TANH_P), _polynomial(x2, _TANH_Q)


def _sigmoid_fraction(x):
    """sigmoid(x) = (1 + tanh(x / 2)) / 2 as (numerator, denominator > 0)."""
    p, q = _tanh_fraction(0.5 * x)
    return q + p, 2.0 * q


def _sigmoid(x):
    """sigmoid(x) = (1 + tanh(x / 2)) / 2: one fast tanh instead of exp and a division."""
    return 0.5 * ops.tanh(0.5 * x) + 0.5


def _lstm_update(gates, c):
    i, g, f, o = ops.split(gates, 4, axis=-1)
    if gates.dtype != "float32":  # narrow types: the backend's own tanh
        c = _sigmoid(f + FORGET_BIAS) * c + _sigmoid(i + INPUT_BIAS) * ops.tanh(g)
        return _sigmoid(o) * ops.tanh(c), c
    # sigmoid(f) c + sigmoid(i) tanh(g) and sigmoid(o) tanh(c), each as one fraction: the
    # CPU's ES step is bound by these element-wise passes, and divisions are their most
    # expensive part (the passes ~1.3x faster than with ops.tanh; es_digits ~8%).
    i_num, i_den = _sigmoid_fraction(i + INPUT_BIAS)
    g_num, g_den = _tanh_fraction(g)
    f_num, f_den = _sigmoid_fraction(f + FORGET_BIAS)
    c = (f_num * c * (i_den * g_den) + i_num * g_num * f_den) / (f_den * i_den * g_den)
    o_num, o_den = _sigmoid_fraction(o)
    c_num, c_den = _tanh_fraction(c)
    return (o_num * c_num) / (o_den * c_den), c


def _gate_constants(state_size: int, dtype):
    """Per-column (scale, shift, a, d) with act = a * tanh(scale * gates + shift) + d:
    sigmoid(x + b) = 0.5 tanh(0.5 x + 0.5 b) + 0.5 for i, f, o and tanh(x) for g, so
    the four activations are one uniform pass over [..., 4S]."""
    def columns(i, g, f, o):
        return ops.convert_to_tensor([i] * state_size + [g] * state_size
                                     + [f] * state_size + [o] * state_size, dtype=dtype)
    half_or_one = columns(0.5, 1.0, 0.5, 0.5)
    return (half_or_one, columns(0.5 * INPUT_BIAS, 0.0, 0.5 * FORGET_BIAS, 0.0),
            half_or_one, columns(0.5, 0.0, 0.5, 0.5))


def _lstm_update_grad(gates, c, d_h, d_c):
    """Closed-form backward of `_lstm_update`, recomputing the activations."""
    scale, shift, a, d = _gate_constants(ops.shape(c)[-1], gates.dtype)
    tanh_act = ops.tanh(scale * gates + shift)
    i, g, f, o = ops.split(a * tanh_act + d, 4, axis=-1)
    tanh_c = ops.tanh(f * c + i * g)
    d_c = d_c + d_h * o * (1.0 - ops.square(tanh_c))
    d_act = ops.concatenate([d_c * g, d_c * i, d_c * c, d_h * tanh_c], axis=-1)
    return d_act * (a * scale) * (1.0 - ops.square(tanh_act)), d_c * f


def _sum_to_shape(x, shape):
    """The gradient of a broadcast: sum over the axes where `shape` has size 1."""
    axes = tuple(k for k, (n, m) in enumerate(zip(shape, x.shape)) if n == 1 and m != 1)
    return ops.sum(x, axis=axes, keepdims=True) if axes else x


@ops.custom_gradient
def lstm_cell(gates, c):
    """One LSTM update from pre-activations `gates` [..., 4S] and cell state `c` [..., S].

    The forward pass is plain (ES and meta-test never differentiate it). The backward
    pass is written out and recomputes the activations from the stored pre-activations:
    backprop through an episode then keeps two tensors per micro tick instead of every
    intermediate of the autodiff graph (grad_digits: ~1.35x faster, less memory).
    """
    def grad(*args, upstream=None):
        upstream = args if upstream is None else upstream
        if len(upstream) == 1:  # JAX passes the output cotangents as one tuple
            upstream = upstream[0]
        d_h, d_c = upstream
        if d_c is None:
            d_c = ops.zeros_like(c)
        d_gates, d_c_old = _lstm_update_grad(gates, c, d_h, d_c)
        return _sum_to_shape(d_gates, gates.shape), _sum_to_shape(d_c_old, c.shape)

    return _lstm_update(gates, c), grad


def _layer_norm(x, scale, offset, eps: float = 1e-5):
    mean = ops.mean(x, axis=-1, keepdims=True)
    var = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    rank = len(x.shape)
    return ((x - mean) * ops.rsqrt(var + eps) * expand_to(scale, rank)
            + expand_to(offset, rank))


def mean_over(x, axes: tuple[int, ...]):
    """The mean over consecutive `axes`, summed as a batched matmul with a ones vector:
    every member's sums then come out the same whatever the number of members.

    XLA:CPU may hand a large reduction (ops.mean) to a library whose summation order
    depends on the leading dimension. With per-member parameters (ES), a population
    split over replicas must reproduce the one-device result bit for bit: ES ranks turn
    a last-bit difference into a different update."""
    shape = tuple(x.shape)
    first, last = min(axes), max(axes)
    assert tuple(axes) == tuple(range(first, last + 1)), axes
    size = math.prod(shape[first:last + 1])
    rows = ops.reshape(x, (math.prod(shape[:first]), size, math.prod(shape[last + 1:])))
    ones = ops.full((rows.shape[0], 1, size), 1.0 / size, dtype=x.dtype)
    return ops.reshape(ops.matmul(ones, rows), shape[:first] + shape[last + 1:])


def message(params: dict, h, direction: str, reduce_axes: tuple[int, ...], layer_norm: bool):
    """mean over `reduce_axes` of Lin_dir(h) (LayerNorm'ed per connection if asked).

    Without LayerNorm the projection is linear, so the mean is taken first: the same
    result for a fraction of the work.
    """
    kernel, bias = params[f"{direction}_kernel"], params[f"{direction}_bias"]
    # Per-member parameters (ES) sum as a matmul, for bits that do not depend on the
    # replica count; shared ones (gradient meta-training, meta-test) use the faster
    # fused reduction (backprop through the matmul form cost grad_digits ~25%).
    mean = mean_over if ops.shape(kernel)[0] > 1 else (
        lambda x, axes: ops.mean(x, axis=axes))
    if not layer_norm:
        pooled = mean(h, reduce_axes)
        out = project(pooled, kernel)
        return out + expand_to(bias, len(out.shape))
    out = project(h, kernel)
    out = out + expand_to(bias, len(out.shape))
    out = _layer_norm(out, params[f"{direction}_ln_scale"], params[f"{direction}_ln_offset"])
    return mean(out, reduce_axes)
