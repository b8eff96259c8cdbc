"""The learner contract: an `EpisodeLearner` learns inside one episode, without gradients.

An episode is a sequence of examples (x_t, y_t). At every step the learner first predicts
y_t from x_t, then receives feedback -- the error e_t = softmax(y_hat_t) - y_t and the
label -- from which it learns ("predict, then receive feedback"). VSML and every baseline
subclass `EpisodeLearner` and write only what is theirs:

    meta_params(members)                      their meta-parameters {group: {name: [p, ...]}}
    initial_carry(state, xs, ys)              the recurrent carry at the episode's start
    step(params, carry, x, y)                 one step -> (carry, logits [p, n, C])
    build_for(spec)                           optional: weights that depend on the data
    initial_state(sample, shape, classes, n)  optional: per-episode random draws

`unroll` (the episode loop used by meta-training and meta-test) and `call` (Keras) are
written once, here. Each learner module declares its config defaults (`DEFAULTS`) and is
registered with one line in `learners.py`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, ClassVar

import keras
from keras import ops, tree

from vsml_tf.core.scan import scan

TANH_BOUND = 100.0


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """What a learner is built for: one example's shape as episodes deliver it (flattened
    unless the learner `uses_images`) and the size of the one-hot labels."""
    example_shape: tuple
    num_classes: int


def bounded(logits):
    """100 * tanh(logits / 100): outputs stay finite whatever the learner does."""
    return TANH_BOUND * ops.tanh(logits / TANH_BOUND)


def feedback_error(logits, labels):
    """e = (softmax(y_hat) - y) / n for logits [p, n, C]: the gradient, w.r.t. the logits,
    of the cross-entropy averaged over the step's n examples -- the meta-loss the learner
    sees (as the paper's code feeds back; the label channel is not scaled)."""
    batch = ops.shape(logits)[-2]
    error = ops.softmax(logits, axis=-1) - labels
    return error if batch == 1 else error / batch


class EpisodeLearner(keras.Model):
    """Maps an episode (xs, one-hot ys) to per-step logits; see the module docstring."""

    DEFAULTS: ClassVar[dict] = {}  # this learner's config section (keyword arguments)
    DATA_DEPENDENT: ClassVar[bool] = False  # weights depend on the DataSpec (build_for)
    compute_dtype_name = "float32"  # of the episode; meta-parameters stay float32

    @classmethod
    def from_config_section(cls, section: dict, name: str) -> "EpisodeLearner":
        return cls(**dict(section), name=name)

    @property
    def uses_images(self) -> bool:
        """Whether episodes must keep examples as images [H, W, C] (else flattened)."""
        return False

    def build_for(self, spec: DataSpec) -> None:
        """Create the weights that depend on the data; nothing by default."""

    def meta_params(self, members: int = 1) -> dict:
        raise NotImplementedError

    def initial_state(self, sample_truncated_normal: Callable, input_shape: tuple,
                      num_classes: int, batch_size: int):
        """Per-episode random draws; none by default. `sample_truncated_normal(shape)`
        returns [members, *shape]: the caller owns the randomness (per member seeds)."""
        return {}

    def initial_carry(self, state, xs, ys):
        raise NotImplementedError

    def step(self, params: dict, carry, x, y):
        raise NotImplementedError

    def unroll(self, params: dict, xs, ys, state, remat: bool = False):
        """Run whole episodes. xs [T, p, n, *example_shape], one-hot ys [T, p, n, C],
        `state` from `initial_state` -> logits [T, p, n, C] (float32). `remat` trades
        compute for memory when backpropagating through long episodes."""
        dtype = self.compute_dtype_name
        if dtype != "float32":  # e.g. bfloat16: half the memory traffic of every step
            cast = lambda x: ops.cast(x, dtype)
            params = tree.map_structure(cast, params)
            xs, ys, state = cast(xs), cast(ys), tree.map_structure(cast, state)
        carry = self.initial_carry(state, xs, ys)

        def body(params, carry, xy):
            return self.step(params, carry, *xy)

        _, logits = scan(body, params, carry, (xs, ys), y_like=ys[0], remat=remat)
        return logits if dtype == "float32" else ops.cast(logits, "float32")

    def call(self, inputs, seed=None):
        """Keras entry point with this model's own weights: (xs [episodes, T, n, ...],
        one-hot ys [episodes, T, n, C]) -> logits [episodes, T, n, C]; each episode draws
        its own initial state."""
        xs, ys = inputs
        episodes = xs.shape[0]
        seed = seed if seed is not None else keras.random.SeedGenerator(0)

        def sample(shape):
            return keras.random.truncated_normal((episodes,) + tuple(shape), seed=seed)

        xs_t, ys_t = ops.moveaxis(xs, 1, 0), ops.moveaxis(ys, 1, 0)
        state = self.initial_state(sample, tuple(xs.shape[3:]), ys.shape[-1], xs.shape[2])
        logits = self.unroll(self.meta_params(episodes), xs_t, ys_t, state)
        return ops.moveaxis(logits, 0, 1)
