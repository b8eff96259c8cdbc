"""Episodes of a learner for a batch of members -> per-step losses: the one place where
meta-training and meta-test run episodes."""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from vsml_tf.core import rng
from vsml_tf.core.errors import UserError
from vsml_tf.core.scan import scan
from vsml_tf.datasets.episodes import EpisodeSampler
from vsml_tf.learners.meta_params import ParamLayout


def step_losses(logits, ys):
    """Cross-entropy and correctness per step and member: [T, p] each (mean over batch)."""
    ce = ops.categorical_crossentropy(ys, logits, from_logits=True)
    correct = ops.cast(ops.argmax(logits, -1) == ops.argmax(ys, -1), "float32")
    return ops.mean(ce, axis=-1), ops.mean(correct, axis=-1)


LOSS_TYPES = ("mean", "last")


def meta_loss(step_loss, loss_type: str):
    """[T, p] -> [p]: mean over all steps, or the last step only (few-shot)."""
    if loss_type == "mean":
        return ops.mean(step_loss, axis=0)
    if loss_type == "last":
        return step_loss[-1]
    raise UserError(f"Unknown training.loss_type {loss_type!r}; use 'mean' or 'last'.")


def meta_test_seeds(seeds):
    """Per meta-test episode seeds [p, 2] -> (data seeds, initial-state seeds)."""
    fold = lambda i: tf.map_fn(lambda s: tf.random.experimental.stateless_fold_in(s, i),
                               seeds)
    return fold(0), fold(1)


class EpisodeRunner:
    """Runs a learner's episodes from flat meta-parameters; caches compiled meta-tests."""

    def __init__(self, learner, remat: bool = False, jit_compile: bool = True):
        self.learner = learner
        self.layout = ParamLayout(learner)
        self.remat = remat
        self.jit_compile = jit_compile
        self._metrics_fns = {}  # sampler -> compiled `episode_metrics`, traced once each

    def run(self, thetas, xs, ys, state_seeds, remat: bool | None = None):
        """thetas [p, D] (or [1, D]: shared), episodes [T, p, n, ...] -> per-step (loss,
        accuracy) [T, p]. `remat` (default: the runner's) matters only when differentiated."""
        return step_losses(self.logits(thetas, xs, ys, state_seeds, remat), ys)

    def logits(self, thetas, xs, ys, state_seeds, remat: bool | None = None):
        """The learner's outputs [T, p, n, C] in the episodes of `run` (each step's
        prediction before that step's labels are fed back)."""
        state = self.initial_state(state_seeds, xs, ys)
        return self.learner.unroll(self.layout.unflatten(thetas), xs, ys, state,
                                   remat=self.remat if remat is None else remat)

    def initial_state(self, state_seeds, xs, ys):
        """The learner's initial state for episodes xs [T, p, n, ...], one seed per member."""
        return self.learner.initial_state(rng.truncated_normal_sampler(state_seeds),
                                          tuple(xs.shape[3:]), ys.shape[-1], xs.shape[2])

    def run_window(self, thetas, xs, ys, state_seeds, start, length: int,
                   remat: bool | None = None):
        """Steps [start, start + length) of the episodes xs [T, p, n, ...] -> per-step
        (loss, accuracy) [length, p]. The first `start` steps (a scalar tensor) run
        forward only and no gradient flows through them: truncated backprop through a
        long episode, the learner's state carried into the window."""
        learner = self.learner
        params = self.layout.unflatten(thetas)
        carry = learner.initial_carry(self.initial_state(state_seeds, xs, ys), xs, ys)
        # Constant parameters keep a surrounding tape from storing the burn-in's steps.
        frozen = tf.nest.map_structure(tf.stop_gradient, params)

        def burn_in(t, carry):
            return t + 1, learner.step(frozen, carry, xs[t], ys[t])[0]

        start = tf.cast(start, tf.int32)
        _, carry = tf.while_loop(lambda t, _: t < start, burn_in, (tf.constant(0), carry))
        carry = tf.nest.map_structure(tf.stop_gradient, carry)
        window = start + tf.range(length)
        xs_w, ys_w = tf.gather(xs, window), tf.gather(ys, window)
        _, logits = scan(lambda p, c, xy: learner.step(p, c, *xy), params, carry,
                         (xs_w, ys_w), y_like=ys[0],
                         remat=self.remat if remat is None else remat)
        return step_losses(logits, ys_w)

    def episode_metrics(self, sampler: EpisodeSampler, theta, seeds):
        """theta [D] on the episodes of `seeds` [p, 2] -> (loss, acc) [T, p].

        Never rematerialized: a meta-test takes no gradient, and tf.recompute_grad would
        hide the gradient a learner's own step takes (online SGD) from its tape."""
        data_seeds, state_seeds = meta_test_seeds(seeds)
        xs, ys = sampler.sample(data_seeds)
        return self.run(theta[None], xs, ys, state_seeds, remat=False)  # one shared theta

    def compiled_episode_metrics(self, sampler: EpisodeSampler):
        if sampler not in self._metrics_fns:
            self._metrics_fns[sampler] = tf.function(
                lambda theta, seeds: self.episode_metrics(sampler, theta, seeds),
                autograph=False, jit_compile=self.jit_compile)
        return self._metrics_fns[sampler]
