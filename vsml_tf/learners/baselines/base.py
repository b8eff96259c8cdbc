"""What every baseline learner shares beyond `EpisodeLearner`: weights that depend on
the data.

A baseline's weights (the meta-parameters) depend on its input size and number of
classes. `build_for(spec)` creates them -- the run builder calls it with the data spec --
and a learner built for one shape refuses another with a clear error (pad the datasets to
one shape to share a learner).

Subclasses define `create_weights(feature_size, num_classes)` (with `add_param`),
`initial_carry(state, xs, ys)` and `step(params, carry, x, y) -> (carry, logits)`, one
"predict, then receive feedback" step; optionally `initial_state` for per-episode random
draws. The optional conv front-end's kernels are meta-parameters (groups conv_0..2).
"""

from __future__ import annotations

import math

from keras import ops

from vsml_tf.core.errors import UserError
from vsml_tf.learners.base import DataSpec, EpisodeLearner
from vsml_tf.learners.baselines import blocks


class BaselineLearner(EpisodeLearner):
    """Maps an episode (xs, one-hot ys) to per-step logits [T, p, n, C]."""

    DATA_DEPENDENT = True

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

    def build_for(self, spec: DataSpec) -> None:
        """Create the weights for examples of `spec.example_shape`, `spec.num_classes`."""
        shape = (tuple(int(d) for d in spec.example_shape), int(spec.num_classes))
        if self.built:
            if shape != self._data_shape:
                raise UserError(
                    f"Learner {self.name!r} was built for examples of shape "
                    f"{self._data_shape[0]} with {self._data_shape[1]} classes, not "
                    f"{shape[0]} with {shape[1]}: its weights depend on both. Pad every "
                    f"dataset to one shape and class count to use one learner on all.")
            return
        self.build(((None, None, None) + shape[0], (None, None, None, shape[1])))

    def build(self, input_shape):
        """input_shape: (xs [episodes, T, n, *example_shape], ys [episodes, T, n, C]), or
        without the in-episode batch axis n (ys [episodes, T, C])."""
        xs_shape, ys_shape = input_shape
        first = 2 if len(ys_shape) == 3 else 3
        example_shape, num_classes = tuple(xs_shape[first:]), int(ys_shape[-1])
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
            raise UserError(f"Learner {self.name!r} has no weights yet: they depend on the "
                            f"data, so call build_for(DataSpec(example_shape, num_classes)) "
                            f"first (experiment.build_learner does).")
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


def zeros(xs, *shape):
    """Zeros [p, n, *shape] for the members and batch of episode inputs xs [T, p, n, ...]."""
    return ops.zeros(tuple(xs.shape[1:3]) + tuple(shape), "float32")
