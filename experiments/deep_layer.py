"""es_deep's 784x32 layer, one tick of 2 micro ticks for 2 members (one shard's ES pair):
today's kernels against the micro ticks computed tile by tile over the 784 inputs
(unrolled, or in a tf.while_loop) and against the gate matmul written as 16 element-wise
multiply-adds fused with the LSTM, and against the state laid out with the connections
last ([p, S, A, B]).

    python experiments/deep_layer.py
"""
import statistics
import time

import numpy as np
import tensorflow as tf
from keras import ops

from vsml_tf.learners import kernels
from vsml_tf.learners import sub_rnn as rnn

P, A, B, S, TICKS = 2, 784, 32, 16, 10
rng = np.random.default_rng(0)
f32 = lambda *shape: tf.constant(rng.normal(size=shape) * 0.3, tf.float32)
ARGS = (f32(P, 1, A, B, S), f32(P, 1, A, B, S), f32(P, 1, A, 4 * S), f32(P, 1, B, 4 * S),
        f32(P, S, 4 * S))  # h, c, from_fwd, from_bwd, w_h


def micro_ticks(h, c, from_fwd, from_bwd, w, project=rnn.project):
    inputs = from_fwd[:, :, :, None, :] + from_bwd[:, :, None, :, :]
    for _ in range(2):
        h, c = kernels.lstm_cell(project(h, w) + inputs, c)
    return h, c


def tiled(tiles):
    edges = np.linspace(0, A, tiles + 1).astype(int)

    def tick(h, c, from_fwd, from_bwd, w):
        parts = [micro_ticks(h[:, :, a:b], c[:, :, a:b], from_fwd[:, :, a:b], from_bwd, w)
                 for a, b in zip(edges[:-1], edges[1:])]
        return (ops.concatenate([p[0] for p in parts], 2),
                ops.concatenate([p[1] for p in parts], 2))
    return tick


def looped(tiles):
    size = A // tiles

    def tick(h, c, from_fwd, from_bwd, w):
        def body(i, h_out, c_out):
            start = i * size
            h_t, c_t = micro_ticks(tf.slice(h, [0, 0, start, 0, 0], [P, 1, size, B, S]),
                                   tf.slice(c, [0, 0, start, 0, 0], [P, 1, size, B, S]),
                                   tf.slice(from_fwd, [0, 0, start, 0], [P, 1, size, 4 * S]),
                                   from_bwd, w)
            return (i + 1, ops.slice_update(h_out, [0, 0, start, 0, 0], h_t),
                    ops.slice_update(c_out, [0, 0, start, 0, 0], c_t))
        _, h, c = tf.while_loop(lambda i, *_: i < tiles, body,
                                (0, tf.zeros_like(h), tf.zeros_like(c)),
                                maximum_iterations=tiles)
        return h, c
    return tick


def multiply_adds(h, w):
    w = w[:, None, None, None]  # [p, 1, 1, 1, S, 4S]
    out = h[..., 0:1] * w[..., 0, :]
    for k in range(1, h.shape[-1]):
        out = out + h[..., k:k + 1] * w[..., k, :]
    return out


def lstm_update_axis1(gates, c):
    """kernels.lstm_update with the state units on axis 1 instead of the last axis."""
    i, g, f, o = ops.split(gates, 4, axis=1)
    i_num, i_den = kernels._sigmoid_fraction(i + rnn.INPUT_BIAS)
    g_num, g_den = kernels._tanh_fraction(g)
    f_num, f_den = kernels._sigmoid_fraction(f + rnn.FORGET_BIAS)
    c = (f_num * c * (i_den * g_den) + i_num * g_num * f_den) / (f_den * i_den * g_den)
    o_num, o_den = kernels._sigmoid_fraction(o)
    c_num, c_den = kernels._tanh_fraction(c)
    return (o_num * c_num) / (o_den * c_den), c


def units_first_layout(h, c, from_fwd, from_bwd, w):
    """Today's arguments in the layout of `units_first`: [p, S, A, B] states, inputs
    [p, 4S, A, 1] and [p, 4S, 1, B], w_h^T [p, 4S, S]."""
    to = lambda x: tf.transpose(x, [0, 1, 4, 2, 3])[:, 0]  # [p, S, A, B]
    return (to(h), to(c), tf.transpose(from_fwd, [0, 1, 3, 2])[:, 0, :, :, None],
            tf.transpose(from_bwd, [0, 1, 3, 2])[:, 0, :, None, :],
            tf.transpose(w, [0, 2, 1]))


def units_first(h, c, from_fwd, from_bwd, w_t):
    """One tick with the state laid out [p, S, A, B] (connections last): the gate matmul
    becomes w_h^T [4S, S] times h [S, A*B], a wide product, and the LSTM splits
    contiguous blocks."""
    for _ in range(2):
        h, c = lstm_update_axis1(tf.einsum("pks,psab->pkab", w_t, h) + from_fwd + from_bwd, c)
    return h, c


VARIANTS = {
    "today": micro_ticks,
    "4 tiles": tiled(4),
    "16 tiles": tiled(16),
    "while_loop, 16 tiles": looped(16),
    "while_loop, 49 tiles": looped(49),
    "matmul as multiply-adds": lambda *x: micro_ticks(*x, project=multiply_adds),
}


def repeated(tick):
    @tf.function(jit_compile=True, autograph=False)
    def run(h, c, from_fwd, from_bwd, w):
        for _ in range(TICKS):
            h, c = tick(h, c, from_fwd, from_bwd, w)
        return tf.reduce_sum(h) + tf.reduce_sum(c)
    return run


def main():
    fns = {name: repeated(tick) for name, tick in VARIANTS.items()}
    units_first_args = units_first_layout(*ARGS)
    units_first_run = repeated(units_first)
    fns["units first ([p, S, A, B])"] = lambda *_: units_first_run(*units_first_args)
    for fn in fns.values():
        fn(*ARGS).numpy()
    times = {name: [] for name in fns}
    for _ in range(5):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(*ARGS).numpy()
            times[name].append((time.perf_counter() - t0) / TICKS)
    for name, t in times.items():
        ratio = statistics.median(a / b for a, b in zip(times["today"], t))
        print(f"{name:28s} {statistics.median(t) * 1e3:.2f} ms/tick  speed vs today {ratio:.2f}x")


if __name__ == "__main__":
    main()
