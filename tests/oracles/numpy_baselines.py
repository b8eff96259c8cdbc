"""Naive NumPy versions of the baseline learners, written from the equations of issue 6.

One member at a time, float64, loops where the equations have indices. Episode functions
take xs [T, n, ...], one-hot ys [T, n, C] and parameters {group: {name: array}} (one
member's slice) and return the logits [T, n, C].
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def bounded(z):
    return 100.0 * np.tanh(z / 100.0)


def linear(p, x):
    return x @ p["kernel"] + p["bias"]


def lstm(p, x, h, c):
    gates = np.concatenate([x, h], -1) @ p["kernel"] + p["bias"]
    i, g, f, o = np.split(gates, 4, -1)
    c = sigmoid(f + 1.0) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def conv_same(p, x, stride):
    """TF 'SAME' convolution by explicit windows. x [n, H, W, Ci] -> [n, H', W', Co]."""
    kernel, bias = p["kernel"], p["bias"]
    k = kernel.shape[0]
    n, height, width, _ = x.shape
    out_h, out_w = -(-height // stride), -(-width // stride)
    top = max((out_h - 1) * stride + k - height, 0) // 2
    left = max((out_w - 1) * stride + k - width, 0) // 2
    out = np.zeros((n, out_h, out_w, kernel.shape[-1]))
    for i in range(out_h):
        for j in range(out_w):
            for dy in range(k):
                for dx in range(k):
                    r, q = i * stride - top + dy, j * stride - left + dx
                    if 0 <= r < height and 0 <= q < width:
                        out[:, i, j] += x[:, r, q] @ kernel[dy, dx]
    return out + bias


def features(params, x, use_conv):
    """[n, ...] -> [n, D]: flattened, or through conv_0..2 (ReLU, ReLU, tanh)."""
    if use_conv:
        for i in range(3):
            x = conv_same(params[f"conv_{i}"], x, 2)
            x = np.tanh(x) if i == 2 else np.maximum(x, 0.0)
    return x.reshape(x.shape[0], -1)


def metarnn_episode(params, xs, ys, hidden, ticks=2, use_conv=False):
    n, C = ys.shape[1:]
    h, c = np.zeros((n, hidden)), np.zeros((n, hidden))
    error, label = np.zeros((n, C)), np.zeros((n, C))
    out = []
    for x, y in zip(xs, ys):
        inp = np.concatenate([features(params, x, use_conv), error, label], -1)
        for _ in range(ticks):
            h, c = lstm(params["lstm"], inp, h, c)
        logits = bounded(linear(params["output"], h))
        error, label = (softmax(logits) - y) / len(y), y
        out.append(logits)
    return np.stack(out)


def fwmemory_episode(params, xs, ys, hidden, m, use_conv=False):
    """Memory per example, written with the equations' matrix-vector products."""
    n, C = ys.shape[1:]
    h, c = np.zeros((n, hidden)), np.zeros((n, hidden))
    memory = np.zeros((n, m, m * m))
    error, label = np.zeros((n, C)), np.zeros((n, C))
    out = []
    for x, y in zip(xs, ys):
        inp = np.concatenate([features(params, x, use_conv), error, label], -1)
        h, c = lstm(params["lstm"], inp, h, c)
        logits = np.zeros((n, C))
        for b in range(n):
            write = linear(params["write"], h[b])
            beta = sigmoid(write[-1])
            k1, k2, v = np.tanh(write[:m]), np.tanh(write[m:2 * m]), np.tanh(write[2 * m:3 * m])
            key = np.outer(k1, k2).reshape(-1)
            F = memory[b]
            F = F + beta * np.outer(v - F @ key, key)
            F = F / max(1.0, np.sqrt((F ** 2).sum()))
            memory[b] = F
            read = np.tanh(linear(params["read"], h[b]))
            r = F @ np.outer(read[:m], read[m:]).reshape(-1)
            r = (r - r.mean()) / np.sqrt(r.var() + 1e-5)
            hb = h[b] + linear(params["read_projection"], r)
            logits[b] = bounded(linear(params["output"], hb))
        error, label = (softmax(logits) - y) / len(y), y
        out.append(logits)
    return np.stack(out)


def hebb_update(F, rate, x, z):
    """Per element, averaged over the batch: F_ij <- (1 - rate) F_ij + rate x_i z_j."""
    new = np.zeros_like(F)
    for b in range(x.shape[0]):
        for i in range(F.shape[0]):
            for j in range(F.shape[1]):
                new[i, j] += ((1 - rate) * F[i, j] + rate * x[b, i] * z[b, j]) / x.shape[0]
    return new


def oja_update(F, rate, x, z):
    """Per element, averaged over the batch: F_ij <- F_ij + rate z_j (x_i - z_j F_ij)."""
    new = np.zeros_like(F)
    for b in range(x.shape[0]):
        for i in range(F.shape[0]):
            for j in range(F.shape[1]):
                new[i, j] += (F[i, j] + rate * z[b, j] * (x[b, i] - z[b, j] * F[i, j])) \
                    / x.shape[0]
    return new


def hebbian_episode(params, xs, ys, rule, use_conv=False):
    p = params["hebbian"]
    n, C = ys.shape[1:]
    F = np.zeros_like(p["kernel"])
    rate = sigmoid(p["rate"])
    out = []
    for x, y in zip(xs, ys):
        feats = features(params, x, use_conv)
        weights = p["kernel"] + p["coeff"] * F
        x0 = np.concatenate([feats, np.zeros((n, 2 * C))], -1)
        logits = bounded(x0 @ weights + p["bias"])
        x1 = np.concatenate([feats, (softmax(logits) - y) / len(y), y], -1)
        z = softmax(x1 @ weights + p["bias"])
        F = (hebb_update if rule == "hebb" else oja_update)(F, rate, x1, z)
        out.append(logits)
    return np.stack(out)


def delta_rule(F, k, v, beta):
    """F += sum over the batch of outer(k_b, beta_b (v_b - k_b F)), all with the old F."""
    new = F.copy()
    for b in range(k.shape[0]):
        new += np.outer(k[b], beta[b] * (v[b] - k[b] @ F))
    return new


def fwp_episode(params, xs, ys, fast0, f, normalize_keys=False, use_conv=False):
    n, C = ys.shape[1:]
    F = fast0.copy()
    prev, error, label = np.zeros((n, C)), np.zeros((n, C)), np.zeros((n, C))
    out = []
    for x, y in zip(xs, ys):
        inp = np.concatenate([features(params, x, use_conv), prev, error, label], -1)
        slow = linear(params["slow"], inp)
        k, v, q, beta = slow[:, :f], slow[:, f:f + C], slow[:, f + C:2 * f + C], slow[:, -1:]
        if normalize_keys:
            k = k / np.linalg.norm(k, axis=-1, keepdims=True)
            q = q / np.linalg.norm(q, axis=-1, keepdims=True)
        F = delta_rule(F, k, v, sigmoid(beta))
        logits = bounded(q @ F)
        prev, error, label = logits, (softmax(logits) - y) / len(y), y
        out.append(logits)
    return np.stack(out)


def sgd_episode(weights, xs, ys, optimizer, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Online SGD / Adam on a linear or one-tanh-hidden-layer net with hand-derived
    gradients of the mean (over the batch) cross-entropy of the bounded logits.

    weights: [(W, b), ...] for each dense layer."""
    weights = [(W.copy(), b.copy()) for W, b in weights]
    m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in weights]
    v = [(np.zeros_like(W), np.zeros_like(b)) for W, b in weights]
    out = []
    for t, (x, y) in enumerate(zip(xs, ys), start=1):
        x = x.reshape(x.shape[0], -1)
        acts = [x]
        for i, (W, b) in enumerate(weights):
            z = acts[-1] @ W + b
            acts.append(np.tanh(z) if i < len(weights) - 1 else z)
        z = acts[-1]
        logits = bounded(z)
        out.append(logits)
        delta = (softmax(logits) - y) * (1 - np.tanh(z / 100.0) ** 2) / x.shape[0]
        grads = [None] * len(weights)
        for i in reversed(range(len(weights))):
            grads[i] = (acts[i].T @ delta, delta.sum(0))
            if i > 0:
                delta = (delta @ weights[i][0].T) * (1 - acts[i] ** 2)
        for i, (gW, gb) in enumerate(grads):
            W, b = weights[i]
            if optimizer == "sgd":
                weights[i] = (W - lr * gW, b - lr * gb)
                continue
            m[i] = (b1 * m[i][0] + (1 - b1) * gW, b1 * m[i][1] + (1 - b1) * gb)
            v[i] = (b2 * v[i][0] + (1 - b2) * gW ** 2, b2 * v[i][1] + (1 - b2) * gb ** 2)
            step = [lr * (mi / (1 - b1 ** t)) / (np.sqrt(vi / (1 - b2 ** t)) + eps)
                    for mi, vi in zip(m[i], v[i])]
            weights[i] = (W - step[0], b - step[1])
    return np.stack(out)
