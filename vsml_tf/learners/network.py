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
from vsml_tf.learners.layers import (VSMLConv2D, VSMLDense, VSMLLayer, feedback_message,
                                     input_message, merge_batch)
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


def layers_from_spec(spec, authors_compat: bool = False, **options) -> list[VSMLLayer]:
    """Layers from a spec string (see `parse_layers`) or a list of dicts. The last layer
    must be dense: the classifier. `authors_compat`: conv layers as in the paper's code;
    `options`: the network's options every layer shares (`VSMLLayer`'s arguments)."""
    if isinstance(spec, str):
        spec = parse_layers(spec)
    layers = []
    for i, layer in enumerate(spec):
        layer = dict(layer)
        kind = layer.pop("type", "dense")
        if kind == "dense":
            layers.append(VSMLDense(units=layer.pop("units", None), name=f"dense_{i}",
                                    **options))
        elif kind == "conv":
            layers.append(VSMLConv2D(filters=layer.pop("filters", 8),
                                     kernel_size=layer.pop("kernel_size", 3),
                                     strides=layer.pop("strides", 1),
                                     authors_compat=authors_compat, name=f"conv_{i}",
                                     **options))
        else:
            raise UserError(f"Unknown layer type {kind!r} in model.layers; use 'dense' or "
                            f"'conv'.")
        if layer:
            raise UserError(f"Unknown keys {sorted(layer)} for a {kind!r} layer in "
                            f"model.layers.")
    check_layers(spec)
    return layers


@keras.saving.register_keras_serializable(package="vsml_tf")
class VSMLNetwork(EpisodeLearner):
    """Maps an episode (xs, one-hot ys) to per-step logits; see module docstring.

    A Keras model over batches of episodes, like a recurrent network: its state is the
    grid of every layer's LSTM states (h, c), its input at step t is x_t with the
    feedback of step t-1, its output the logits of step t:

        net((xs, ys))     xs [b, T, *example_shape], one-hot ys [b, T, C] -> [b, T, C]
                          (or [b, T, n, ...] with an in-episode batch of n per step)

    Its weights are the shared sub-RNNs' parameters (the meta-parameters theta, one
    copy for every episode of the batch); each episode draws its initial state from the
    model's `SeedGenerator(seed)` (see `EpisodeCall`). It is registered with Keras
    ("vsml_tf>VSMLNetwork"), so `net.save("net.keras")` and `keras.saving.load_model`
    round-trip, and it runs inside `tf.function` and XLA without arguments. Conv layers
    need examples as images [H, W, C]; dense layers flatten them.

    Meta-training: `compile(loss=CategoricalCrossentropy(from_logits=True))` and
    `fit((xs, ys), ys)` backpropagate through whole episodes, the gradient of the
    `Backprop` estimator (meta-loss 'mean'). ES (`AntitheticES`) instead evaluates a
    population of perturbed copies of theta, a member axis [p, ...] on the parameters
    (`unroll`); the Keras model is that computation with one member, theta shared by
    the batch's episodes.
    """

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
                 compute_dtype: str = "float32", authors_compat: bool = False,
                 seed: int | None = 0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        # authors_compat: conv layers reproduce the paper code's backward messages and
        # initial-state scale (docs/model.md, model.authors_compat).
        self.layers_spec = layers  # as given (a spec string or a list of dicts): config
        self.vsml_layers = layers_from_spec(
            layers, authors_compat, state_size=state_size, msg_size=msg_size,
            num_micro_ticks=num_micro_ticks, output_idx=output_idx, feed_label=feed_label,
            layer_norm=layer_norm, init_rand_proportion=init_rand_proportion)
        for layer in self.vsml_layers:
            layer.built = True  # weightless here: the network owns the sub-RNNs
        self.authors_compat = authors_compat
        self.state_size = state_size
        self.msg_size = msg_size
        self.num_micro_ticks = num_micro_ticks
        self.output_idx = output_idx
        self.feed_label = feed_label
        self.backward_pass = backward_pass
        self.layer_norm = layer_norm
        self.init_rand_proportion = init_rand_proportion
        self.separate_backward_rnn = separate_backward_rnn
        self.layerwise_rnns = layerwise_rnns
        self.compute_dtype_name = compute_dtype  # of the episode; meta-parameters stay f32

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
        return [layer.connection_state(sample_truncated_normal, in_shape, num_classes,
                                       batch_size)
                for layer, (in_shape, _) in zip(self.vsml_layers, shapes)]

    # -- the episode ----------------------------------------------------------------------

    def step(self, params: dict, carry, x, y):
        """One "predict, then receive feedback" step. Returns (carry, logits [p, n, C])."""
        state, bwd_msgs, feedback = carry
        shapes = self.shapes(tuple(x.shape[2:]), y.shape[-1])
        members, batch = ops.shape(x)[0], ops.shape(x)[1]  # members: may be dynamic
        last = len(self.vsml_layers) - 1
        state, bwd_msgs = list(state), list(bwd_msgs)

        def as_input_of(msg, i):
            return ops.reshape(msg, (members, batch) + shapes[i][0] + (self.msg_size,))

        fwd = input_message(x, self.msg_size)
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
        feedback = feedback_message(feedback_error(logits, y), y, self.feed_label,
                                    self.msg_size)

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
            state = merge_batch(state, self.state_size)
        return (state, bwd_msgs, feedback), logits

    def initial_carry(self, state, xs, ys):
        input_shape, num_classes = tuple(xs.shape[3:]), ys.shape[-1]
        shapes = self.shapes(input_shape, num_classes)
        h = state[0][0]
        members, batch = ops.shape(h)[0], ops.shape(h)[1]
        bwd_msgs = [ops.zeros((members, batch) + s + (self.msg_size,), h.dtype)
                    for _, s in shapes[:-1]]
        feedback = ops.zeros((members, batch, num_classes, self.msg_size), h.dtype)
        return state, bwd_msgs, feedback

    def get_config(self):
        return {**super().get_config(), "layers": self.layers_spec,
                "state_size": self.state_size, "msg_size": self.msg_size,
                "num_micro_ticks": self.num_micro_ticks, "output_idx": self.output_idx,
                "feed_label": self.feed_label, "backward_pass": self.backward_pass,
                "separate_backward_rnn": self.separate_backward_rnn,
                "layerwise_rnns": self.layerwise_rnns, "layer_norm": self.layer_norm,
                "init_rand_proportion": self.init_rand_proportion,
                "compute_dtype": self.compute_dtype_name,
                "authors_compat": self.authors_compat, "seed": self.seed}
