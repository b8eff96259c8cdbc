"""The VSML learner: a stack of VSML layers that learns inside its own LSTM states.

At every step the network first predicts y_t from x_t, then receives the error
e_t = softmax(y_hat_t) - y_t (and, if `feed_label`, y_t) at its outputs (see `learner.py`).
No gradient is ever taken inside an episode: learning is the sub-RNNs updating their
states.

`unroll` (from `EpisodeLearner`) is the functional core used by meta-training: it takes
the meta-parameters with a leading member axis, so that an ES population (each member with
its own perturbed parameters) or a meta-batch runs as one batched computation.
"""

from __future__ import annotations

import re
from typing import Callable

import keras
import numpy as np
from keras import ops

from vsml_tf.core.errors import UserError
from vsml_tf.learners.base import EpisodeLearner, bounded, feedback_error
from vsml_tf.learners.layers import VSMLConv2D, VSMLDense
from vsml_tf.learners.sub_rnn import SubRNN

_LAYER_PATTERN = re.compile(r"^(dense)(\d*)$|^conv(\d+)(?:k(\d+))?(?:s(\d+))?$")


def parse_layers(spec: str) -> list[dict]:
    """'conv8s2,dense32,dense' -> layer dicts. dense[UNITS] (no units: as many as the
    dataset has classes), conv FILTERS [k KERNEL] [s STRIDE]."""
    layers = []
    for item in [s.strip() for s in spec.split(",") if s.strip()]:
        match = _LAYER_PATTERN.match(item)
        if not match:
            raise UserError(f"Cannot parse layer {item!r} in model.layers={spec!r}; use "
                            f"e.g. 'dense', 'dense32' or 'conv8s2' (conv FILTERS k KERNEL "
                            f"s STRIDE), comma-separated.")
        if match.group(1):
            layers.append({"type": "dense", "units": int(match.group(2)) if match.group(2)
                           else None})
        else:
            layers.append({"type": "conv", "filters": int(match.group(3)),
                           "kernel_size": int(match.group(4) or 3),
                           "strides": int(match.group(5) or 1)})
    return layers


def check_layers(layers: list[dict]) -> None:
    """Raise UserError unless the parsed spec is a network: sizes >= 1, and a last dense
    layer without units (the classifier, as wide as the dataset has classes)."""
    for layer in layers:
        for name in ("units", "filters", "kernel_size", "strides"):
            if layer.get(name) is not None and layer[name] < 1:
                raise UserError(f"{layer.get('type', 'dense')} {name} must be >= 1, got "
                                f"{layer[name]}")
    if not layers or layers[-1].get("type", "dense") != "dense":
        raise UserError("model.layers must end with a dense layer (the classifier).")
    if layers[-1].get("units") is not None:
        raise UserError("The last dense layer's units are the number of classes; write "
                        "'dense' without a size.")


def layers_from_spec(spec, authors_compat: bool = False) -> list[keras.layers.Layer]:
    """Layers from a spec string (see `parse_layers`) or a list of dicts. The last layer
    must be dense: the classifier. `authors_compat`: conv layers as in the paper's code."""
    if isinstance(spec, str):
        spec = parse_layers(spec)
    layers = []
    for i, layer in enumerate(spec):
        layer = dict(layer)
        kind = layer.pop("type", "dense")
        if kind == "dense":
            layers.append(VSMLDense(units=layer.pop("units", None), name=f"dense_{i}"))
        elif kind == "conv":
            layers.append(VSMLConv2D(filters=layer.pop("filters", 8),
                                     kernel_size=layer.pop("kernel_size", 3),
                                     strides=layer.pop("strides", 1),
                                     authors_compat=authors_compat, name=f"conv_{i}"))
        else:
            raise UserError(f"Unknown layer type {kind!r} in model.layers; use 'dense' or "
                            f"'conv'.")
        if layer:
            raise UserError(f"Unknown keys {sorted(layer)} for a {kind!r} layer in "
                            f"model.layers.")
    check_layers(spec)
    return layers


class VSMLNetwork(EpisodeLearner):
    """Maps an episode (xs, one-hot ys) to per-step logits; see module docstring."""

    DEFAULTS = dict(
        layers="dense",            # comma-separated: dense, dense32, conv8s2, conv8k5s2
        state_size=16,             # S: LSTM state per connection
        msg_size=8,                # M: forward / backward message size
        num_micro_ticks=2,
        output_idx=1,              # forward-message channel read as the prediction
        feed_label=False,          # also feed y_t back (channel 1); the paper's default: off
        backward_pass=False,
        separate_backward_rnn=False,
        layerwise_rnns=False,
        layer_norm=False,
        init_rand_proportion=0.5,
        compute_dtype="float32",   # or 'bfloat16' for the episode (meta-parameters stay f32)
        authors_compat=False,      # conv layers exactly as the paper's code (docs/model.md)
    )

    def __init__(self, layers="dense", state_size: int = 16,
                 msg_size: int = 8, num_micro_ticks: int = 2, output_idx: int = 1,
                 feed_label: bool = False, backward_pass: bool = False,
                 separate_backward_rnn: bool = False, layerwise_rnns: bool = False,
                 layer_norm: bool = False, init_rand_proportion: float = 0.5,
                 compute_dtype: str = "float32", authors_compat: bool = False, **kwargs):
        super().__init__(**kwargs)
        # authors_compat: conv layers reproduce the paper code's backward messages and
        # initial-state scale (docs/model.md, model.authors_compat).
        self.vsml_layers = layers_from_spec(layers, authors_compat)
        self.authors_compat = authors_compat
        self.state_size = state_size
        self.msg_size = msg_size
        self.num_micro_ticks = num_micro_ticks
        self.output_idx = output_idx
        self.feed_label = feed_label
        self.backward_pass = backward_pass
        self.layer_norm = layer_norm
        self.init_rand_proportion = init_rand_proportion
        self.compute_dtype_name = compute_dtype  # of the episode; meta-parameters stay f32
        if msg_size < 2 or output_idx >= msg_size:
            raise UserError(f"msg_size={msg_size} must be >= 2 and > output_idx={output_idx}.")

        def make_rnns(prefix: str) -> list[SubRNN]:
            count = len(self.vsml_layers) if layerwise_rnns else 1
            rnns = [SubRNN(state_size, msg_size, layer_norm,
                           name=f"{prefix}_{i}" if layerwise_rnns else prefix)
                    for i in range(count)]
            return rnns * (1 if layerwise_rnns else len(self.vsml_layers))

        self.forward_rnns = make_rnns("sub_rnn")
        self.backward_rnns = (make_rnns("backward_sub_rnn")
                              if backward_pass and separate_backward_rnn else self.forward_rnns)
        self.sub_rnns = list({id(r): r for r in self.forward_rnns + self.backward_rnns}.values())
        self.built = True  # all weights exist now: they do not depend on input shapes

    @property
    def uses_images(self) -> bool:
        """Conv layers read examples as images [H, W, C]; dense ones flatten them."""
        return any(isinstance(layer, VSMLConv2D) for layer in self.vsml_layers)

    # -- meta-parameters ------------------------------------------------------------------

    def meta_params(self, members: int = 1) -> dict:
        """{sub_rnn name: {param name: tensor [members, ...]}} from this model's weights."""
        return {r.name: r.params(members) for r in self.sub_rnns}

    # -- shapes and initial state ---------------------------------------------------------

    def shapes(self, input_shape: tuple, num_classes: int) -> list[tuple[tuple, tuple]]:
        """(input shape, output shape) of every layer; dense layers flatten their input."""
        shapes, in_shape = [], tuple(input_shape)
        for layer in self.vsml_layers:
            if isinstance(layer, VSMLDense):
                in_shape = (int(np.prod(in_shape)),)
            out_shape = layer.output_shape_for(in_shape, num_classes)
            shapes.append((in_shape, out_shape))
            in_shape = out_shape
        return shapes

    def initial_state(self, sample_truncated_normal: Callable, input_shape: tuple,
                      num_classes: int, batch_size: int):
        """Initial (h, c) of every layer: h = 0; the first `init_rand_proportion` of c's
        channels truncated normal with std 1/sqrt(fan-in), the rest 0.

        `sample_truncated_normal(shape)` returns a standard truncated normal sample of
        shape [members, *shape] -- the caller owns the randomness (per member seeds)."""
        shapes = self.shapes(input_shape, num_classes)
        n_rand = int(self.state_size * self.init_rand_proportion)
        state = []
        for layer, (in_shape, _) in zip(self.vsml_layers, shapes):
            conn = layer.connection_shape(in_shape, num_classes)
            rand = sample_truncated_normal(conn + (n_rand,)) * layer.init_std(in_shape)
            members = ops.shape(rand)[0]
            c = ops.concatenate(
                [rand, ops.zeros((members,) + conn + (self.state_size - n_rand,), rand.dtype)],
                axis=-1)
            c = ops.broadcast_to(ops.expand_dims(c, 1), (members, batch_size) + conn +
                                 (self.state_size,))
            state.append((ops.zeros_like(c), c))
        return state

    # -- the episode ----------------------------------------------------------------------

    def _message(self, values):
        """Scalars [..., d] -> messages [..., d, M] with the value in channel 0."""
        values = ops.expand_dims(values, -1)
        pad = [(0, 0)] * (len(values.shape) - 1) + [(0, self.msg_size - 1)]
        return ops.pad(values, pad)

    def _feedback(self, error, labels):
        """Backward message into the last layer: error in channel 0, label in channel 1."""
        fb = ops.stack([error, labels if self.feed_label else ops.zeros_like(labels)], -1)
        pad = [(0, 0)] * (len(error.shape)) + [(0, self.msg_size - 2)]
        return ops.pad(fb, pad)

    def _merge_batch(self, state):
        """Share the first half of every state's channels across the episode's batch."""
        half = self.state_size // 2

        def merge(s):
            shared = ops.mean(s[..., :half], axis=1, keepdims=True)
            return ops.concatenate([ops.broadcast_to(shared, ops.shape(s[..., :half])),
                                    s[..., half:]], axis=-1)
        return [(merge(h), merge(c)) for h, c in state]

    def step(self, params: dict, carry, x, y):
        """One "predict, then receive feedback" step. Returns (carry, logits [p, n, C])."""
        state, bwd_msgs, feedback = carry
        shapes = self.shapes(tuple(x.shape[2:]), y.shape[-1])
        members, batch = x.shape[0], x.shape[1]
        last = len(self.vsml_layers) - 1
        state, bwd_msgs = list(state), list(bwd_msgs)

        def as_input_of(msg, i):
            return ops.reshape(msg, (members, batch) + shapes[i][0] + (self.msg_size,))

        fwd = self._message(x)
        fwd_inputs = []
        for i, layer in enumerate(self.vsml_layers):
            fwd = as_input_of(fwd, i)
            fwd_inputs.append(fwd)
            bwd = feedback if i == last else bwd_msgs[i]
            rnn = self.forward_rnns[i]
            state[i], fwd, bwd_out = layer.tick(params[rnn.name], state[i], fwd, bwd,
                                                self.num_micro_ticks, self.layer_norm)
            if i > 0:  # reaches the previous layer at the next step
                bwd_msgs[i - 1] = ops.reshape(bwd_out, ops.shape(bwd_msgs[i - 1]))
        logits = bounded(fwd[..., self.output_idx])
        feedback = self._feedback(feedback_error(logits, y), y)

        if self.backward_pass:  # sweep the new error back through all layers now
            bwd = feedback
            for i in reversed(range(len(self.vsml_layers))):
                rnn = self.backward_rnns[i]
                state[i], _, bwd = self.vsml_layers[i].tick(
                    params[rnn.name], state[i], fwd_inputs[i], bwd, self.num_micro_ticks,
                    self.layer_norm)
                if i > 0:
                    bwd = ops.reshape(bwd, ops.shape(bwd_msgs[i - 1]))
                    bwd_msgs[i - 1] = bwd
            feedback = ops.zeros_like(feedback)

        if batch > 1:
            state = self._merge_batch(state)
        return (state, bwd_msgs, feedback), logits

    def initial_carry(self, state, xs, ys):
        input_shape, num_classes = tuple(xs.shape[3:]), ys.shape[-1]
        shapes = self.shapes(input_shape, num_classes)
        h = state[0][0]
        members, batch = h.shape[0], h.shape[1]
        bwd_msgs = [ops.zeros((members, batch) + s + (self.msg_size,), h.dtype)
                    for _, s in shapes[:-1]]
        feedback = ops.zeros((members, batch, num_classes, self.msg_size), h.dtype)
        return state, bwd_msgs, feedback
