"""Fast forms of the sub-RNN's functions, selected here for the layers to call.

Each computes what its plain counterpart in `sub_rnn.py` computes (the tests hold them to
it); they differ in how, for speed or for reproducible bits:

- `lstm_cell`: the LSTM update with a hand-written backward pass that recomputes the
  activations, so backprop through an episode stores two tensors per micro tick. In
  float32 its forward pass writes the five activations as fractions of the rational
  function XLA's own tanh uses and puts them over two common denominators.
- `message`: with per-member parameters (ES) the message mean is a batched matmul with a
  ones vector, so a population split over replicas sums every member as one device does.

Measurements of each are in docs/performance.md.
"""

from __future__ import annotations

import math

from keras import ops

from vsml_tf.learners import sub_rnn
from vsml_tf.learners.sub_rnn import FORGET_BIAS, INPUT_BIAS

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

    Without XLA's exact +-1 for |x| >= 20 (a costly select): beyond the clamp the value
    stays ~1.2e-7 short of +-1, as XLA's tanh does for 8 < |x| < 20.
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


def lstm_update(gates, c):
    """`sub_rnn.lstm_update`, as fractions in float32 (narrow types: the backend's tanh)."""
    i, g, f, o = ops.split(gates, 4, axis=-1)
    if gates.dtype != "float32":
        c = _sigmoid(f + FORGET_BIAS) * c + _sigmoid(i + INPUT_BIAS) * ops.tanh(g)
        return _sigmoid(o) * ops.tanh(c), c
    # sigmoid(f) c + sigmoid(i) tanh(g) and sigmoid(o) tanh(c), each as one fraction.
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


def lstm_update_grad(gates, c, d_h, d_c):
    """Closed-form backward of `lstm_update`, recomputing the activations."""
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
    """`sub_rnn.lstm_update` (forward: `lstm_update` above) with a backward pass that
    recomputes the activations from the stored pre-activations instead of keeping every
    intermediate of the autodiff graph. ES and meta-test never differentiate it."""
    def grad(*args, upstream=None):
        upstream = args if upstream is None else upstream
        if len(upstream) == 1:  # JAX passes the output cotangents as one tuple
            upstream = upstream[0]
        d_h, d_c = upstream
        if d_c is None:
            d_c = ops.zeros_like(c)
        d_gates, d_c_old = lstm_update_grad(gates, c, d_h, d_c)
        return _sum_to_shape(d_gates, gates.shape), _sum_to_shape(d_c_old, c.shape)

    return lstm_update(gates, c), grad


def mean_over(x, axes: tuple[int, ...]):
    """The mean over consecutive `axes`, summed as a batched matmul with a ones vector:
    every member's sums then come out the same whatever the number of members (XLA:CPU
    may hand `ops.mean` to a library whose summation order depends on the leading
    dimension, and ES ranks turn a last-bit difference into a different update)."""
    shape = tuple(x.shape)
    first, last = min(axes), max(axes)
    assert tuple(axes) == tuple(range(first, last + 1)), axes
    size = math.prod(shape[first:last + 1])
    rows = ops.reshape(x, (math.prod(shape[:first]), size, math.prod(shape[last + 1:])))
    ones = ops.full((rows.shape[0], 1, size), 1.0 / size, dtype=x.dtype)
    return ops.reshape(ops.matmul(ones, rows), shape[:first] + shape[last + 1:])


def message(params: dict, h, direction: str, reduce_axes: tuple[int, ...], layer_norm: bool):
    """`sub_rnn.message`; per-member parameters (ES) reduce with `mean_over` for bits that
    do not depend on the replica count, shared ones (gradient meta-training, meta-test)
    with the fused `ops.mean`, which backpropagates faster."""
    per_member = ops.shape(params[f"{direction}_kernel"])[0] > 1
    return sub_rnn.message(params, h, direction, reduce_axes, layer_norm,
                           mean=mean_over if per_member else sub_rnn.mean)
