"""Online SGD of the cloned network (the algorithm VSML clones), one loop per connection.

It shares no code with the package, only the sigmoid gain of vsml_tf.meta.cloning."""

import numpy as np

from vsml_tf.meta import cloning


def phi(u):
    return 1.0 / (1.0 + np.exp(-cloning.GAIN * u))


def numpy_sgd_episode(weights, xs, ys, alpha, alpha_bias):
    """Online SGD of the cloned network, one loop per connection (shares no code)."""
    weights = [(w.copy(), b.copy()) for w, b in weights]
    logits_all = []
    for x, y in zip(xs, ys):
        u, inputs = x, []
        for w, b in weights:
            inputs.append(u)
            A, B = w.shape
            out = np.zeros(B)
            for a in range(A):
                for j in range(B):
                    out[j] += (phi(u[a]) * w[a, j] + b[a, j]) / A
            u = out
        logits = 100 * np.tanh(u / 100)
        p = np.exp(logits - logits.max())
        delta = p / p.sum() - y
        logits_all.append(logits)
        for layer in reversed(range(len(weights))):
            w, b = weights[layer]
            u = inputs[layer]
            A, B = w.shape
            back = np.zeros(A)
            for a in range(A):
                for j in range(B):
                    back[a] += cloning.GAIN * phi(u[a]) * (1 - phi(u[a])) * w[a, j] * delta[j] / B
                    w[a, j] -= alpha * phi(u[a]) * delta[j]
                    b[a, j] -= alpha_bias * delta[j]
            delta = back
    return np.array(logits_all)


def random_episode(steps, inputs, classes, seed=0):
    r = np.random.default_rng(seed)
    xs = r.normal(size=(steps, inputs)).astype(np.float32)
    ys = np.eye(classes, dtype=np.float32)[r.integers(0, classes, steps)]
    return xs, ys
