"""Backprop through 16 grad_digits episodes (100 steps): the forward alone, remat on and
off, formulations of kernels.lstm_update_grad and replacements of the whole cell,
interleaved in one process.

    python experiments/lstm_backward.py
"""
import statistics
import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vsml_tf import datasets
from vsml_tf.core import rng
from vsml_tf.datasets.episodes import EpisodeSampler
from vsml_tf.learners import kernels
from vsml_tf.learners.network import VSMLNetwork
from vsml_tf.learners.sub_rnn import FORGET_BIAS, INPUT_BIAS
from vsml_tf.meta.runner import EpisodeRunner

MEMBERS, ROUNDS = 16, 7
keras.utils.set_random_seed(0)
network = VSMLNetwork(layers="dense")
sampler = EpisodeSampler(datasets.load("digits", "train"), 100, flatten=True)


def functions(remat):
    runner = EpisodeRunner(network, remat=remat)
    theta = tf.constant(runner.layout.from_network())
    seed = lambda purpose: rng.member_seeds(tf.constant(0, tf.int64), tf.constant(1, tf.int64),
                                            purpose, tf.range(MEMBERS))
    xs, ys = sampler.sample(seed(rng.Purpose.DATA))
    state_seeds = seed(rng.Purpose.STATE)

    def loss(theta):
        step_loss, _ = runner.run(theta[None], xs, ys, state_seeds)
        return tf.reduce_sum(tf.reduce_mean(step_loss, 0))

    @tf.function(jit_compile=True, autograph=False)
    def grad(theta):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            value = loss(theta)
        return value, tape.gradient(value, theta)

    forward = tf.function(loss, jit_compile=True, autograph=False)
    return (lambda: forward(theta)), (lambda: grad(theta))


def per_gate(gates, c, d_h, d_c):
    """Activations with sigmoid / tanh per gate."""
    gi, gg, gf, go = ops.split(gates, 4, axis=-1)
    i, g = ops.sigmoid(gi + INPUT_BIAS), ops.tanh(gg)
    f, o = ops.sigmoid(gf + FORGET_BIAS), ops.sigmoid(go)
    tanh_c = ops.tanh(f * c + i * g)
    d_c = d_c + d_h * o * (1.0 - ops.square(tanh_c))
    d_gates = [d_c * g * i * (1.0 - i), d_c * i * (1.0 - ops.square(g)),
               d_c * c * f * (1.0 - f), d_h * tanh_c * o * (1.0 - o)]
    return ops.concatenate(d_gates, axis=-1), d_c * f


def _fraction_tanh(x):
    p, q = kernels._tanh_fraction(x)
    return p / q


def _grad(gates, c, d_h, d_c, tanh=ops.tanh, gate_gradients=None):
    """kernels.lstm_update_grad with a replaceable tanh and concatenation."""
    size = c.shape[-1]
    scale, shift, a, d = kernels._gate_constants(size, gates.dtype)
    tanh_act = tanh(scale * gates + shift)
    i, g, f, o = ops.split(a * tanh_act + d, 4, axis=-1)
    tanh_c = tanh(f * c + i * g)
    d_c = d_c + d_h * o * (1.0 - ops.square(tanh_c))
    d_act = (gate_gradients or (lambda *x: ops.concatenate(x, axis=-1)))(
        d_c * g, d_c * i, d_c * c, d_h * tanh_c)
    return d_act * (a * scale) * (1.0 - ops.square(tanh_act)), d_c * f


def stacked(*parts):
    lead = tuple(parts[0].shape[:-1])
    return ops.reshape(ops.stack(parts, axis=-2), lead + (4 * parts[0].shape[-1],))


def selected(gates, c, d_h, d_c):
    """The gate gradients from broadcasts and selects instead of a concatenation."""
    size = c.shape[-1]
    scale, shift, a, d = kernels._gate_constants(size, gates.dtype)
    tanh_act = ops.tanh(scale * gates + shift)
    i, g, f, o = ops.split(a * tanh_act + d, 4, axis=-1)
    tanh_c = ops.tanh(f * c + i * g)
    d_c = d_c + d_h * o * (1.0 - ops.square(tanh_c))
    lead = tuple(gates.shape[:-1])
    column = ops.convert_to_tensor(np.repeat(np.arange(4), size).astype("int32"))
    wide = lambda x: ops.reshape(ops.broadcast_to(x[..., None, :], lead + (4, size)),
                                 lead + (4 * size,))
    left = ops.where(column == 3, wide(d_h), wide(d_c))
    right = ops.where(column == 0, wide(g), ops.where(
        column == 1, wide(i), ops.where(column == 2, wide(c), wide(tanh_c))))
    return left * right * (a * scale) * (1.0 - ops.square(tanh_act)), d_c * f


@ops.custom_gradient
def cell_keeping_activations(gates, c):
    """kernels.lstm_cell whose backward reads the forward's activations (tanh form)
    instead of recomputing them: one tanh pass per micro tick fewer under remat, but the
    forward loses the fraction form."""
    scale, shift, a, d = kernels._gate_constants(c.shape[-1], gates.dtype)
    tanh_act = ops.tanh(scale * gates + shift)
    i, g, f, o = ops.split(a * tanh_act + d, 4, axis=-1)
    c_new = f * c + i * g
    tanh_c = ops.tanh(c_new)

    def grad(*args, upstream=None):
        d_h, d_c = args if upstream is None else upstream
        d_c = ops.zeros_like(c) if d_c is None else d_c
        d_c = d_c + d_h * o * (1.0 - ops.square(tanh_c))
        d_act = ops.concatenate([d_c * g, d_c * i, d_c * c, d_h * tanh_c], axis=-1)
        return d_act * (a * scale) * (1.0 - ops.square(tanh_act)), d_c * f

    return (o * tanh_c, c_new), grad


def shared_fractions(gates, c, d_h, d_c):
    """The activations as kernels.lstm_update's forward writes them (the same fractions on
    the same gates), so that XLA can merge their polynomials with the forward that remat
    recomputes just before; 5 divisions per state unit remain."""
    gi, gg, gf, go = ops.split(gates, 4, axis=-1)
    i_num, i_den = kernels._sigmoid_fraction(gi + INPUT_BIAS)
    g_num, g_den = kernels._tanh_fraction(gg)
    f_num, f_den = kernels._sigmoid_fraction(gf + FORGET_BIAS)
    c_new = (f_num * c * (i_den * g_den) + i_num * g_num * f_den) / (f_den * i_den * g_den)
    o_num, o_den = kernels._sigmoid_fraction(go)
    c_num, c_den = kernels._tanh_fraction(c_new)
    i, g, f, o = i_num / i_den, g_num / g_den, f_num / f_den, o_num / o_den
    tanh_c = c_num / c_den
    d_c = d_c + d_h * o * (1.0 - ops.square(tanh_c))
    d_gates = [d_c * g * i * (1.0 - i), d_c * i * (1.0 - ops.square(g)),
               d_c * c * f * (1.0 - f), d_h * tanh_c * o * (1.0 - o)]
    return ops.concatenate(d_gates, axis=-1), d_c * f


# Replacements of kernels.lstm_cell (the whole cell, forward and backward).
CELLS = {"cell keeping activations": cell_keeping_activations}

VARIANTS = {
    "today": kernels.lstm_update_grad,
    "per-gate sigmoid/tanh": per_gate,
    "fraction tanh": lambda *x: _grad(*x, tanh=_fraction_tanh),
    "[..., 4, S] stack": lambda *x: _grad(*x, gate_gradients=stacked),
    "broadcasts + selects": selected,
    "fractions shared with the forward": shared_fractions,
}


def main():
    fns = {}
    forward, fns["grad, remat"] = functions(remat=True)
    fns["forward alone"] = forward
    _, fns["grad, no remat"] = functions(remat=False)
    original = kernels.lstm_update_grad
    for name, variant in VARIANTS.items():
        if name != "today":
            kernels.lstm_update_grad = variant
            _, fns[name] = functions(remat=True)
            fns[name]()  # traced with the variant
            kernels.lstm_update_grad = original
    original_cell = kernels.lstm_cell
    for name, cell in CELLS.items():
        kernels.lstm_cell = cell
        _, fns[name] = functions(remat=True)
        fns[name]()
        kernels.lstm_cell = original_cell
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(ROUNDS):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            [np.asarray(x) for x in tf.nest.flatten(fn())]
            times[name].append(time.perf_counter() - t0)
    base = times["grad, remat"]
    for name, t in times.items():
        ratio = statistics.median(b / x for b, x in zip(base, t))
        print(f"{name:34s} {statistics.median(t):.3f} s   speed vs 'grad, remat' {ratio:.2f}x")


if __name__ == "__main__":
    main()
