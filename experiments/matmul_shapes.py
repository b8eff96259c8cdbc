"""The gate matmul of grad_digits' backward loop and its two gradients, alone (XLA):
[10240, 16] x [16, 64], [10240, 64] x [16, 64]^T and [10240, 16]^T x [10240, 64].

    python experiments/matmul_shapes.py
"""
import statistics
import time

import numpy as np
import tensorflow as tf

REPEATS = 50
rng = np.random.default_rng(0)
h = tf.constant(rng.normal(size=(10240, 16)), tf.float32)
g = tf.constant(rng.normal(size=(10240, 64)), tf.float32)
w = tf.constant(rng.normal(size=(16, 64)), tf.float32)
CASES = {  # each chained on the previous result so that XLA keeps every repeat
    "gates = h w": lambda h, g, w: tf.matmul(h, w),
    "dh = dG w^T": lambda h, g, w: tf.matmul(g, w, transpose_b=True),
    "dW = h^T dG": lambda h, g, w: tf.matmul(h, g, transpose_a=True),
}


def repeated(body):
    @tf.function(jit_compile=True)
    def run(h, g, w):
        acc = tf.zeros(())
        for _ in range(REPEATS):
            acc += tf.reduce_sum(body(h + acc * 1e-30, g + acc * 1e-30, w))
        return acc
    return run


def main():
    fns = {name: repeated(body) for name, body in CASES.items()}
    for fn in fns.values():
        fn(h, g, w).numpy()
    times = {name: [] for name in fns}
    for _ in range(5):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(h, g, w).numpy()
            times[name].append((time.perf_counter() - t0) / REPEATS)
    for name, t in times.items():
        seconds = statistics.median(t)
        print(f"{name:14s} {seconds * 1e3:.3f} ms  {2 * 10240 * 16 * 64 / seconds / 1e9:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
