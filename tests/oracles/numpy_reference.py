"""A naive NumPy VSML, written straight from the equations with one loop per connection.

It shares no code with the package: tests compare the package's batched, separable
implementation against it.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm(p, x, h, c):
    """One sub-RNN update of one connection. x: concat(fwd, bwd) [2M]; h, c: [S]."""
    z = np.concatenate([x, h]) @ p["kernel"] + p["bias"]
    s = h.shape[-1]
    i, g, f, o = z[:s], z[s:2 * s], z[2 * s:3 * s], z[3 * s:]
    f = sigmoid(f + 5.0)
    i = sigmoid(i - 5.0)
    c = f * c + i * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, c


def out_msg(p, h, direction, layer_norm):
    m = h @ p[f"{direction}_kernel"] + p[f"{direction}_bias"]
    if layer_norm:
        m = (m - m.mean()) / np.sqrt(m.var() + 1e-5)
        m = m * p[f"{direction}_ln_scale"] + p[f"{direction}_ln_offset"]
    return m


def dense_tick(p, h, c, fwd, bwd, ticks, layer_norm=False):
    """h, c [A, B, S]; fwd [A, M]; bwd [B, M] -> (h, c, fwd_out [B, M], bwd_out [A, M])."""
    A, B, _ = h.shape
    h, c = h.copy(), c.copy()
    for _ in range(ticks):
        for a in range(A):
            for b in range(B):
                h[a, b], c[a, b] = lstm(p, np.concatenate([fwd[a], bwd[b]]), h[a, b], c[a, b])
    M = fwd.shape[-1]
    fwd_out = np.zeros((B, M))
    bwd_out = np.zeros((A, M))
    for a in range(A):
        for b in range(B):
            fwd_out[b] += out_msg(p, h[a, b], "fwd", layer_norm) / A
            bwd_out[a] += out_msg(p, h[a, b], "bwd", layer_norm) / B
    return h, c, fwd_out, bwd_out


def conv_states(p, h, c, fwd, bwd, k, stride, ticks):
    """The conv layer's state update: (h, c, {(i, j): (h, c) at output position (i, j)})
    after `ticks` micro ticks; shapes as in `conv_tick`."""
    H, W, Ci, M = fwd.shape
    Ho, Wo, Co, _ = bwd.shape
    positions = [(i, j) for i in range(Ho) for j in range(Wo)]
    for _ in range(ticks):
        per_pos = {}
        for (i, j) in positions:
            hp, cp = np.zeros_like(h), np.zeros_like(c)
            for di in range(k):
                for dj in range(k):
                    r, q = i * stride + di - k // 2, j * stride + dj - k // 2
                    inside = 0 <= r < H and 0 <= q < W
                    for ci in range(Ci):
                        f_msg = fwd[r, q, ci] if inside else np.zeros(M)
                        for co in range(Co):
                            x = np.concatenate([f_msg, bwd[i, j, co]])
                            kk = di * k + dj
                            hp[kk, ci, co], cp[kk, ci, co] = lstm(p, x, h[kk, ci, co],
                                                                  c[kk, ci, co])
            per_pos[(i, j)] = (hp, cp)
        h = np.mean([v[0] for v in per_pos.values()], axis=0)
        c = np.mean([v[1] for v in per_pos.values()], axis=0)
    return h, c, per_pos


def conv_tick(p, h, c, fwd, bwd, k, stride, ticks, layer_norm=False):
    """h, c [k*k, Ci, Co, S]; fwd [H, W, Ci, M]; bwd [H', W', Co, M], centered windows."""
    H, W, Ci, M = fwd.shape
    Ho, Wo, Co, _ = bwd.shape
    h, c, per_pos = conv_states(p, h, c, fwd, bwd, k, stride, ticks)
    fwd_out = np.zeros((Ho, Wo, Co, M))
    bwd_out = np.zeros((H, W, Ci, M))
    for (i, j), (hp, _) in per_pos.items():
        for di in range(k):
            for dj in range(k):
                r, q = i * stride + di - k // 2, j * stride + dj - k // 2
                kk = di * k + dj
                for ci in range(Ci):
                    for co in range(Co):
                        fwd_out[i, j, co] += out_msg(p, hp[kk, ci, co], "fwd",
                                                     layer_norm) / (k * k * Ci)
                        if 0 <= r < H and 0 <= q < W:
                            bwd_out[r, q, ci] += out_msg(p, hp[kk, ci, co], "bwd",
                                                         layer_norm) / (Co * k * k)
    return h, c, fwd_out, bwd_out


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def episode(layers, fwd_params, bwd_params, xs, ys, state, *, msg_size=8, ticks=2,
            output_idx=1, feed_label=True, backward_pass=False, layer_norm=False):
    """Naive episode of one member.

    layers: list of ('dense',) or ('conv', k, stride, filters); fwd_params / bwd_params:
    per-layer param dicts (the forward and backward sweeps' sub-RNNs).
    xs [T, n, *input_shape], ys one-hot [T, n, C], state: per layer (h, c) without the
    batch axis (identical for all n examples at the start).
    Returns logits [T, n, C].
    """
    T, n = xs.shape[:2]
    C = ys.shape[-1]
    L = len(layers)
    # Per-example copies of every layer's state.
    states = [[(h.copy(), c.copy()) for _ in range(n)] for h, c in state]

    def in_msg(x):
        m = np.zeros(x.shape + (msg_size,))
        m[..., 0] = x
        return m

    def tick(layer, p, st, fwd, bwd):
        h, c = st
        if layer[0] == "dense":
            return dense_tick(p, h, c, fwd.reshape(-1, msg_size), bwd, ticks, layer_norm)
        return conv_tick(p, h, c, fwd, bwd, layer[1], layer[2], ticks, layer_norm)

    # Shapes of the messages each layer receives from above.
    out_shapes, shape = [], xs.shape[2:]
    for layer in layers:
        if layer[0] == "dense":
            shape = (C,) if layer is layers[-1] else (layer[1],)
        else:
            shape = (-(-shape[0] // layer[2]), -(-shape[1] // layer[2]), layer[3])
        out_shapes.append(shape)
    bwd_in = [[np.zeros(s + (msg_size,)) for s in out_shapes] for _ in range(n)]
    feedback = [np.zeros((C, msg_size)) for _ in range(n)]
    logits = np.zeros((T, n, C))
    for t in range(T):
        for e in range(n):
            fwd = in_msg(xs[t, e])
            fwd_inputs = []
            for l, layer in enumerate(layers):
                fwd_inputs.append(fwd)
                bwd = feedback[e] if l == L - 1 else bwd_in[e][l]
                h, c, fwd_out, bwd_out = tick(layer, fwd_params[l], states[l][e], fwd, bwd)
                states[l][e] = (h, c)
                if l > 0:
                    bwd_in[e][l - 1] = bwd_out.reshape(bwd_in[e][l - 1].shape)
                fwd = fwd_out
                if l < L - 1 and layers[l + 1][0] == "dense":
                    fwd = fwd.reshape(-1, msg_size)
            y_hat = 100.0 * np.tanh(fwd[:, output_idx] / 100.0)
            logits[t, e] = y_hat
            err = (softmax(y_hat) - ys[t, e]) / n  # gradient of the batch-mean loss
            fb = np.zeros((C, msg_size))
            fb[:, 0] = err
            if feed_label:
                fb[:, 1] = ys[t, e]
            feedback[e] = fb
            if backward_pass:
                bwd = feedback[e]
                for l in reversed(range(L)):
                    h, c, _, bwd_out = tick(layers[l], bwd_params[l], states[l][e],
                                            fwd_inputs[l], bwd)
                    states[l][e] = (h, c)
                    if l > 0:
                        bwd = bwd_out.reshape(bwd_in[e][l - 1].shape)
                        bwd_in[e][l - 1] = bwd
                feedback[e] = np.zeros((C, msg_size))
        if n > 1:  # share the first half of the state channels across the batch
            for l in range(L):
                half = states[l][0][0].shape[-1] // 2
                for idx in (0, 1):
                    mean = np.mean([states[l][e][idx][..., :half] for e in range(n)], axis=0)
                    for e in range(n):
                        states[l][e][idx][..., :half] = mean
    return logits
