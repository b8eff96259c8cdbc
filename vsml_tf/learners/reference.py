"""The straightforward VSML tick, structured like the paper's original code.

Per connection it concatenates (fwd_a, bwd_b, h_ab), applies one matmul to the four
gates and projects the connection's own forward and backward messages at every micro
tick, then averages. It is vectorized over connections and members but does none of the
algebra `layers.py` uses (separable input projection, projecting after the mean, no
per-tick messages). `vsml-bench` measures the package's layers against it; the tests
check that both compute the same thing.
"""

from __future__ import annotations

from keras import ops

from vsml_tf.learners import sub_rnn as rnn
from vsml_tf.learners.layers import VSMLConv2D, VSMLDense, conv_window_indices


def _connection_update(params, inputs, h, c, layer_norm):
    """inputs [..., 2M] and state [..., S] of every connection -> h, c, fwd, bwd [..., M]."""
    gates = rnn.project(ops.concatenate([inputs, h], axis=-1), params["kernel"])
    gates = gates + rnn.expand_to(params["bias"], len(gates.shape))
    h, c = rnn.lstm_update(gates, c)
    msgs = []
    for direction in ("fwd", "bwd"):
        m = rnn.project(h, params[f"{direction}_kernel"])
        m = m + rnn.expand_to(params[f"{direction}_bias"], len(m.shape))
        if layer_norm:
            m = rnn.layer_normalize(m, params[f"{direction}_ln_scale"],
                                    params[f"{direction}_ln_offset"])
        msgs.append(m)
    return h, c, msgs[0], msgs[1]


class ReferenceDense(VSMLDense):
    def tick(self, params, state, fwd_in, bwd_in, num_micro_ticks, layer_norm=False):
        h, c = state
        p, n, a, b, _ = h.shape
        m = fwd_in.shape[-1]
        inputs = ops.concatenate([
            ops.broadcast_to(fwd_in[:, :, :, None, :], (p, n, a, b, m)),
            ops.broadcast_to(bwd_in[:, :, None, :, :], (p, n, a, b, m))], axis=-1)
        for _ in range(num_micro_ticks):
            h, c, fwd, bwd = _connection_update(params, inputs, h, c, layer_norm)
        return (h, c), ops.mean(fwd, axis=2), ops.mean(bwd, axis=3)


class ReferenceConv2D(VSMLConv2D):
    def tick(self, params, state, fwd_in, bwd_in, num_micro_ticks, layer_norm=False):
        h, c = state
        p, n, height, width, c_in, m = fwd_in.shape
        _, _, out_h, out_w, c_out, _ = bwd_in.shape
        k2, q = self.kernel_size ** 2, out_h * out_w
        index = conv_window_indices(height, width, self.kernel_size, self.strides)
        flat = ops.pad(ops.reshape(fwd_in, (p, n, height * width, c_in, m)),
                       [(0, 0), (0, 0), (0, 1), (0, 0), (0, 0)])
        windows = ops.reshape(ops.take(flat, index.reshape(-1), axis=2),
                              (p, n, q, k2, c_in, 1, m))
        shape = (p, n, q, k2, c_in, c_out, m)
        bwd = ops.reshape(bwd_in, (p, n, q, 1, 1, c_out, m))
        inputs = ops.concatenate([ops.broadcast_to(windows, shape),
                                  ops.broadcast_to(bwd, shape)], axis=-1)
        for _ in range(num_micro_ticks):
            h_pos = ops.broadcast_to(ops.expand_dims(h, 2), shape[:-1] + (h.shape[-1],))
            c_pos = ops.broadcast_to(ops.expand_dims(c, 2), h_pos.shape)
            h_pos, c_pos, fwd, bwd = _connection_update(params, inputs, h_pos, c_pos,
                                                        layer_norm)
            h, c = ops.mean(h_pos, axis=2), ops.mean(c_pos, axis=2)
        fwd_out = ops.reshape(ops.mean(fwd, axis=(3, 4)), (p, n, out_h, out_w, c_out, m))
        per_element = ops.reshape(ops.mean(bwd, axis=5), (p, n, q * k2, c_in * m))
        # Sum every window element into the input position it reads, divided by k*k.
        onehot = ops.one_hot(index.reshape(-1), height * width + 1)[:, :-1] / k2
        bwd_out = ops.einsum("pnxd,xr->pnrd", per_element, onehot)
        return (h, c), fwd_out, ops.reshape(bwd_out, (p, n, height, width, c_in, m))


def reference_layers(network) -> list:
    """The network's layers replaced by their straightforward counterparts."""
    out = []
    for layer in network.vsml_layers:
        if isinstance(layer, VSMLConv2D):
            out.append(ReferenceConv2D(layer.filters, layer.kernel_size, layer.strides))
        else:
            out.append(ReferenceDense(layer.units))
    return out
