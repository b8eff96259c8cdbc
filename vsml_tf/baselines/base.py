"""What every baseline learner shares: the episode interface of `VSMLNetwork`.

A baseline is a Keras model whose weights (the meta-parameters) depend on the data: its
input size and number of classes. `build_for(example_shape, num_classes)` creates them --
the meta-trainers call it from the episode sampler -- and a learner built for one shape
refuses another with a clear error (pad the datasets to one shape to share a learner).

Subclasses define `create_weights(feature_size, num_classes)` (with `add_param`),
`initial_carry(state, xs, ys)` and `step(params, carry, x, y) -> (carry, logits)`, one
"predict, then receive feedback" step; optionally `initial_state` for per-episode random
draws. The optional conv front-end's kernels are meta-parameters (groups conv_0..2).
"""

from __future__ import annotations

import math
from typing import Callable

import keras
from keras import ops

from vsml_tf.baselines import blocks
from vsml_tf.scan import scan


class BaselineLearner(keras.Model):
    """Maps an episode (xs, one-hot ys) to per-step logits [T, p, n, C]."""

    def __init__(self, use_conv: bool = False, conv_channels: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.use_conv = use_conv
        self.conv_channels = conv_channels
        self.front_end = blocks.ConvFrontEnd(conv_channels) if use_conv else None
        self._param_groups = {}   # group -> {name: variable}, in creation order
        self._data_shape = None   # ((example_shape), num_classes) once built

    # -- building for the data ----------------------------------------------------------

    @property
    def uses_images(self) -> bool:
        """Whether episodes must keep examples as images [H, W, C] (else flattened)."""
        return self.use_conv

    def build_for(self, example_shape: tuple, num_classes: int) -> None:
        """Create the weights for examples of `example_shape` and `num_classes` classes."""
        shape = (tuple(int(d) for d in example_shape), int(num_classes))
        if self.built:
            if shape != self._data_shape:
                raise ValueError(
                    f"Learner {self.name!r} was built for examples of shape "
                    f"{self._data_shape[0]} with {self._data_shape[1]} classes, not "
                    f"{shape[0]} with {shape[1]}: its weights depend on both. Pad every "
                    f"dataset to one shape and class count to use one learner on all.")
            return
        self.build(((None, None, None) + shape[0], (None, None, None, shape[1])))

    def build(self, input_shape):
        """input_shape: (xs [episodes, T, n, *example_shape], ys [episodes, T, n, C])."""
        xs_shape, ys_shape = input_shape
        example_shape, num_classes = tuple(xs_shape[3:]), int(ys_shape[-1])
        self._data_shape = (example_shape, num_classes)
        self.create_weights(self.feature_size(example_shape), num_classes)

    def feature_size(self, example_shape: tuple) -> int:
        """Size of an example after the front-end (flattened), creating its kernels."""
        if self.front_end is None:
            return math.prod(example_shape)
        for i, shape in enumerate(self.front_end.kernel_shapes(example_shape)):
            self.add_param(f"conv_{i}", "kernel", shape, blocks.conv_init())
            self.add_param(f"conv_{i}", "bias", shape[-1:], "zeros")
        return self.front_end.output_size(example_shape)

    def create_weights(self, feature_size: int, num_classes: int) -> None:
        raise NotImplementedError

    def add_param(self, group: str, name: str, shape: tuple, initializer) -> None:
        self._param_groups.setdefault(group, {})[name] = self.add_weight(
            name=f"{group}_{name}", shape=tuple(shape), initializer=initializer)

    def add_linear(self, group: str, fan_in: int, units: int) -> None:
        """Kernel [fan_in, units] (truncated normal, std 1/sqrt(fan_in)) and zero bias."""
        self.add_param(group, "kernel", (fan_in, units), blocks.linear_init(fan_in))
        self.add_param(group, "bias", (units,), "zeros")

    # -- meta-parameters ----------------------------------------------------------------

    def meta_params(self, members: int = 1) -> dict:
        """{group: {name: tensor [members, ...]}} from this model's weights."""
        if not self.built:
            raise ValueError(f"Learner {self.name!r} has no weights yet: they depend on the "
                             f"data, so call build_for(example_shape, num_classes) first "
                             f"(the meta-trainers do, from their episode sampler).")
        return {group: {name: ops.broadcast_to(ops.convert_to_tensor(v),
                                               (members,) + tuple(v.shape))
                        for name, v in params.items()}
                for group, params in self._param_groups.items()}

    # -- the episode ----------------------------------------------------------------------

    def features(self, params: dict, x):
        """x [p, n, *example_shape] -> [p, n, D], through the conv front-end if any."""
        if self.front_end is None:
            return ops.reshape(x, tuple(x.shape[:2]) + (-1,))
        return self.front_end([params[f"conv_{i}"] for i in range(self.front_end.NUM_LAYERS)],
                              x)

    def initial_state(self, sample_truncated_normal: Callable, input_shape: tuple,
                      num_classes: int, batch_size: int):
        """Per-episode random draws; none by default (states start at zero)."""
        return {}

    def initial_carry(self, state, xs, ys):
        raise NotImplementedError

    def step(self, params: dict, carry, x, y):
        raise NotImplementedError

    def unroll(self, params: dict, xs, ys, state, remat: bool = False):
        """xs [T, p, n, *input_shape], one-hot ys [T, p, n, C], `state` from
        `initial_state` -> logits [T, p, n, C]."""
        carry = self.initial_carry(state, xs, ys)

        def body(params, carry, xy):
            return self.step(params, carry, *xy)

        _, logits = scan(body, params, carry, (xs, ys), y_like=ys[0], remat=remat)
        return logits

    def call(self, inputs, seed=None):
        """Keras entry point with this model's own weights: (xs [episodes, T, n, ...],
        one-hot ys [episodes, T, n, C]) -> logits [episodes, T, n, C]."""
        xs, ys = inputs
        episodes = xs.shape[0]
        seed = seed if seed is not None else keras.random.SeedGenerator(0)

        def sample(shape):
            return keras.random.truncated_normal((episodes,) + tuple(shape), seed=seed)

        xs_t, ys_t = ops.moveaxis(xs, 1, 0), ops.moveaxis(ys, 1, 0)
        state = self.initial_state(sample, tuple(xs.shape[3:]), ys.shape[-1], xs.shape[2])
        logits = self.unroll(self.meta_params(episodes), xs_t, ys_t, state)
        return ops.moveaxis(logits, 0, 1)


def zeros(xs, *shape):
    """Zeros [p, n, *shape] for the members and batch of episode inputs xs [T, p, n, ...]."""
    return ops.zeros(tuple(xs.shape[1:3]) + tuple(shape), "float32")
