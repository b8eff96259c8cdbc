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

`unroll` (the episode loop used by meta-training and meta-test) and `call` (Keras,
`EpisodeCall`: also the VSML layers' when called on their own) are written once, here. Each learner module declares its config defaults (`DEFAULTS`) and is
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


SEED_STATE_KEY = "seed_generator_state"  # in a saved model's variables


class EpisodeCall:
    """The Keras side of anything that runs episodes, written once: `EpisodeLearner`
    (a `keras.Model`) and the VSML layers called on their own (`keras.layers.Layer`s)
    mix it in before their Keras base class.

    A call runs whole episodes with the object's own weights as the meta-parameters,
    shared by every episode of the batch (member axis 1: what `Backprop` differentiates,
    `theta[None]`). Each episode of the batch draws its own initial state from
    `seed_generator`, a `keras.random.SeedGenerator` the object holds (created once, so a
    call inside `tf.function` or XLA needs no seed argument), unless `initial_state` is
    given, as Keras RNN layers take one. `seed` defaults to 0, not to Keras' random
    default: a learner's draws are reproducible, and creating one consumes no global
    random state (which would change every weight initialized after it). Under a mixed-precision dtype policy the episode
    runs in the policy's compute dtype; logits come back float32, like a classifier's
    last layer in Keras' mixed-precision guide.

    Subclasses write the learner's math (`meta_params`, `initial_state`,
    `initial_carry`, `step`; see `EpisodeLearner`) and their `call`, which maps its inputs
    to `run_episodes`.
    """

    compute_dtype_name = "float32"  # of the episode; meta-parameters stay float32
    seed_generator: keras.random.SeedGenerator

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

    def unroll(self, params: dict, xs, ys, state, remat: bool = False,
               dtype: str | None = None):
        """Run whole episodes. xs [T, p, n, *example_shape], one-hot ys [T, p, n, C],
        `state` from `initial_state` -> logits [T, p, n, C] (float32). `remat` trades
        compute for memory when backpropagating through long episodes; `dtype` (default
        `compute_dtype_name`) is the episode's."""
        dtype = dtype or self.compute_dtype_name
        if dtype != "float32":  # e.g. bfloat16: half the memory traffic of every step
            cast = lambda x: ops.cast(x, dtype)
            params = tree.map_structure(cast, params)
            xs, ys, state = cast(xs), cast(ys), tree.map_structure(cast, state)
        carry = self.initial_carry(state, xs, ys)

        def body(params, carry, xy):
            return self.step(params, carry, *xy)

        _, logits = scan(body, params, carry, (xs, ys), y_like=ys[0], remat=remat)
        return logits if dtype == "float32" else ops.cast(logits, "float32")

    def save_own_variables(self, store):
        """The weights, and the seed generator's position: a saved model, loaded, draws
        the initial states the model would have drawn next (equal outputs)."""
        super().save_own_variables(store)
        if getattr(self, "seed_generator", None) is not None:  # a network's layers: none
            store[SEED_STATE_KEY] = ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if SEED_STATE_KEY in keys:  # files saved before the key existed have none
            self.seed_generator.state.assign(store[SEED_STATE_KEY])
        super().load_own_variables({k: store[k] for k in keys if k != SEED_STATE_KEY})

    def draw_initial_state(self, xs, ys):
        """The initial state of a call given none, for xs [b, T, n, *example_shape] and
        ys [b, T, n, C]: each of the b episodes draws its own from `seed_generator`."""
        episodes = ops.shape(xs)[0]

        def sample(shape):
            return keras.random.truncated_normal((episodes,) + tuple(shape),
                                                 seed=self.seed_generator)

        return self.initial_state(sample, tuple(xs.shape[3:]), ys.shape[-1], xs.shape[2])

    def run_episodes(self, xs, ys, initial_state=None):
        """xs [b, T, n, *example_shape], one-hot ys [b, T, n, C] -> logits [b, T, n, C]
        (float32), the b episodes sharing this object's weights."""
        if initial_state is None:
            initial_state = self.draw_initial_state(xs, ys)
        policy_dtype = keras.backend.standardize_dtype(self.compute_dtype)
        dtype = policy_dtype if policy_dtype != "float32" else self.compute_dtype_name
        logits = self.unroll(self.meta_params(1), ops.moveaxis(xs, 1, 0),
                             ops.moveaxis(ys, 1, 0), initial_state, dtype=dtype)
        return ops.moveaxis(logits, 0, 1)


class EpisodeLearner(EpisodeCall, keras.Model):
    """Maps an episode (xs, one-hot ys) to per-step logits; see the module docstring.

    As a Keras model, `learner((xs, ys))` (or `[xs, ys]`) runs a batch of episodes:
    xs [b, T, *example_shape] with one-hot ys [b, T, C] -> logits [b, T, C], or with an
    in-episode batch of n examples per step xs [b, T, n, *example_shape], ys [b, T, n, C]
    -> [b, T, n, C]. Episodes are the Keras batch axis: b independent learners sharing
    the meta-parameters (the model's weights), each with its own initial state. So
    `compile(loss=CategoricalCrossentropy(from_logits=True))` and `fit((xs, ys), ys)`
    meta-train by backprop through whole episodes (the `Backprop` estimator's meta-loss
    'mean', without its clipping unless the optimizer clips).
    """

    DEFAULTS: ClassVar[dict] = {}  # this learner's config section (keyword arguments)
    DATA_DEPENDENT: ClassVar[bool] = False  # weights depend on the DataSpec (build_for)

    def __init__(self, seed: int | None = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="seed_generator")

    @classmethod
    def from_config_section(cls, section: dict, name: str) -> "EpisodeLearner":
        return cls(**dict(section), name=name)

    @property
    def uses_images(self) -> bool:
        """Whether episodes must keep examples as images [H, W, C] (else flattened)."""
        return False

    def build_for(self, spec: DataSpec) -> None:
        """Create the weights that depend on the data; nothing by default."""

    @staticmethod
    def episode_inputs(inputs):
        """(xs, ys) with an in-episode batch axis n: ys of rank 3 ([b, T, C]) get n = 1.
        Returns (xs [b, T, n, ...], ys [b, T, n, C], whether n was added)."""
        xs, ys = inputs
        if len(ys.shape) == 3:
            return ops.expand_dims(xs, 2), ops.expand_dims(ys, 2), True
        return xs, ys, False

    def call(self, inputs, initial_state=None):
        """(xs, ys) -> logits shaped like ys (see the class docstring); `initial_state`
        (from `initial_state`, member axis = episodes) instead of drawing one."""
        xs, ys, added = self.episode_inputs(inputs)
        logits = self.run_episodes(xs, ys, initial_state)
        return ops.squeeze(logits, 2) if added else logits

    def compute_output_spec(self, inputs, initial_state=None):
        _, ys = inputs
        return keras.KerasTensor(ys.shape, dtype="float32")
