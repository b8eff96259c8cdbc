"""Learning-algorithm cloning (paper Sec. 3): teach the sub-RNNs to *be* online backprop.

The cloned network. Every dense layer A -> B maps its input u [A] to

    y_b = mean_a m_ab,   m_ab = phi(u_a) w_ab + beta_ab           (forward message)

so the VSML layer's own mean over a *is* the pre-activation: the 1/A is part of the
network's definition, not a factor to undo (the bias b_b = mean_a beta_ab is carried by
the connections too). phi(u) = sigmoid(8 u) where the issue says tanh: the LSTM's output
gate computes sigmoid(.) * tanh(c) in one step, so phi(u) w is a single gate's product,
while tanh(u) w = (2 sigmoid(2u) - 1) w needs a second state channel holding w to cancel
the offset (with tanh, the message loss did not fall within the cloning budget); on MNIST
online SGD with sigmoid(8u) features reaches 0.855 over steps 1000-2000 (tanh: 0.865).
Logits are the last layer's y (channel 0, model.output_idx=0, bounded by 100 tanh(./100)
as every learner's); delta = softmax(logits) - onehot. Online SGD then needs, per
connection, only

    backward message  phi'(u_a) w_ab delta_b = d m_ab / d u_a * delta_b
                      (the layer's mean over b is the previous layer's delta)
    state update      w_ab <- w_ab - alpha phi(u_a) delta_b,
                      beta_ab <- beta_ab - alpha_bias delta_b

i.e. exact online SGD on this network with step size alpha * A on the kernel's gradient
(phi(u) delta / A), alpha_bias on the bias's, and in a deep network the error passed
down scaled by B / A (the backward mean over b instead of a sum over b divided by A):
per-layer constant step sizes, nothing else (the bound's derivative, >= 0.999 for
|y| < 3, is left out, as the network's feedback leaves it out). `SGDCloneTarget` runs
exactly these equations.

Where the sub-RNN keeps it. w_ab = kappa * c_ab[W_CHANNEL] and beta_ab = kappa_bias *
c_ab[S/2]: channel 0 starts truncated normal with std 1/sqrt(A) (the network's initial
state), channel S/2 at zero -- so the SGD target starts from the *same draw* (kernel std
kappa/sqrt(A), bias 0). kappa keeps c in tanh's near-linear range while the weights grow
to the size SGD gives them. Messages carry their value in channel 0 (the other channels
are trained to 0), so a deep layer reads its input as the first layer reads x.

How it runs. model.backward_pass=True with separate_backward_rnn=True: each step the
forward sub-RNN computes the forward messages and must leave the state alone (in a deep
net it also sees the previous step's backward message); the backward sub-RNN then sees the
same step's input and error, sends the backward message and updates the state. The
paper's code has this forward-then-backward sweep (model.backward_pass); it lets the
update see phi(u_t) of the step being learned from (without it the state would have to
remember phi(u_{t-1}) until the error arrives one step later).

Cloning. Supervised, no episode: a pool of single connections runs short rollouts of
forward + backward ticks on random (u, delta) drawn from the ranges episodes produce;
Adam minimizes the squared error of both messages and of the state read-out against the
targets above, following the ideal trajectory from each rollout's start.
"""

from __future__ import annotations

import dataclasses
import math
import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vsml_tf.core import rng
from vsml_tf.core.errors import UserError
from vsml_tf.core.scan import scan
from vsml_tf.learners import kernels
from vsml_tf.learners import sub_rnn as rnn
from vsml_tf.learners.base import TANH_BOUND
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.learners.network import VSMLNetwork
from vsml_tf.meta.runner import meta_test_seeds, step_losses

ALGORITHM = "clone"  # training.algorithm that clones instead of meta-training (vsml-train)
W_CHANNEL = 0
GAIN = 8.0  # phi(u) = sigmoid(GAIN u): MNIST online SGD 0.855 at 1000-2000 (2: 0.800)


@dataclasses.dataclass(frozen=True)
class CloneSpec:
    """What is cloned: message gain kappa (w = kappa * c[W_CHANNEL]) and SGD step alpha."""
    kappa: float = 600.0
    alpha: float = 10.0
    alpha_bias: float = 0.01
    kappa_bias: float = 1.0
    state_size: int = 16
    msg_size: int = 8

    @property
    def bias_channel(self) -> int:
        return self.state_size // 2  # the first channel that starts at zero


def check_network(network: VSMLNetwork) -> None:
    """The cloned algorithm needs the forward/backward sweep with separate sub-RNNs."""
    if not (network.backward_pass and len(network.sub_rnns) == 2 and
            network.output_idx == 0 and not network.layer_norm):
        raise UserError("Cloning backprop needs model.backward_pass=True, "
                        "model.separate_backward_rnn=True, model.layerwise_rnns=False, "
                        "model.layer_norm=False and model.output_idx=0 (see "
                        "configs/clone_backprop.py).")
    if network.uses_images:
        raise UserError("Cloning backprop is defined for dense layers only: use "
                        "model.layers like 'dense' or 'dense32,dense'.")


# ---------------------------------------------------------------------------------------
# The targets: online SGD of the cloned network, per connection and as a learner.
# ---------------------------------------------------------------------------------------

def activation(u):
    """phi(u) = sigmoid(u): the LSTM's output gate computes sigmoid(u) * tanh(c) in one
    step, so phi(u) w is one gate's product (tanh(u) w is a difference of two)."""
    return ops.sigmoid(GAIN * u)


def forward_message(u, w, beta):
    """m_ab = phi(u_a) w_ab + beta_ab."""
    return activation(u) * w + beta


def backward_message(u, w, delta):
    """d m_ab / d u_a * delta_b = phi'(u_a) w_ab delta_b."""
    s = activation(u)
    return GAIN * s * (1.0 - s) * w * delta


def sgd_update(u, w, beta, delta, alpha: float, alpha_bias: float):
    """(w, beta) after one online SGD step."""
    return w - alpha * activation(u) * delta, beta - alpha_bias * delta


class SGDCloneTarget(keras.Model):
    """Online SGD of the cloned network (module docstring), from the VSML network's own
    initial state: W = kappa c[..., 0], beta = kappa c[..., S/2] (= 0). A learner with
    the episode interface and no meta-parameters; episodes of one example per step."""

    def __init__(self, network: VSMLNetwork, spec: CloneSpec, **kwargs):
        super().__init__(**kwargs)
        self.vsml = network
        self.spec = spec
        self.built = True

    uses_images = False

    def meta_params(self, members: int = 1) -> dict:
        return {}

    def initial_state(self, sample, input_shape, num_classes, batch_size):
        if batch_size != 1:
            raise UserError("The cloned SGD takes one example per step: data.batch_size=1.")
        state = self.vsml.initial_state(sample, input_shape, num_classes, batch_size)
        k = self.spec.kappa
        return [(k * c[:, 0, ..., W_CHANNEL],
                 self.spec.kappa_bias * c[:, 0, ..., self.spec.bias_channel])
                for _, c in state]

    def step(self, params, weights, x, y):
        """x [p, 1, A], y [p, 1, C] -> (weights after SGD, bounded logits [p, 1, C])."""
        u, inputs = x[:, 0], []
        for w, beta in weights:
            inputs.append(u)
            u = ops.mean(forward_message(u[..., None], w, beta), axis=-2)
        logits = TANH_BOUND * ops.tanh(u / TANH_BOUND)
        delta = ops.softmax(logits, axis=-1) - y[:, 0]
        new = []
        for (w, beta), u in reversed(list(zip(weights, inputs))):
            back = ops.mean(backward_message(u[..., None], w, delta[:, None]), axis=-1)
            new.append(sgd_update(u[..., None], w, beta, delta[:, None], self.spec.alpha,
                                  self.spec.alpha_bias))
            delta = back
        return new[::-1], logits[:, None]

    def unroll(self, params, xs, ys, state, remat: bool = False):
        _, logits = scan(lambda p, w, xy: self.step(p, w, *xy), params, list(state),
                         (xs, ys), y_like=ys[0])
        return logits


# ---------------------------------------------------------------------------------------
# Single connections: the ticks the cloning loss looks at.
# ---------------------------------------------------------------------------------------

def connection_tick(params, h, c, fwd, bwd, ticks: int):
    """The dense layer's tick for independent connections (no mean over a or b).

    h, c [N, S]; fwd, bwd [N, M]; params with member axis 1. Returns (h, c, fwd_out,
    bwd_out), messages per connection -- what VSMLDense.tick averages."""
    m = ops.shape(fwd)[-1]
    w_fwd, w_bwd, w_h = rnn.split_kernel(params, m)
    inputs = (rnn.project(fwd[None], w_fwd) + rnn.project(bwd[None], w_bwd)
              + params["bias"][:, None])
    h, c = h[None], c[None]
    for _ in range(ticks):
        h, c = kernels.lstm_cell(rnn.project(h, w_h) + inputs, c)
    fwd_out = rnn.project(h, params["fwd_kernel"]) + params["fwd_bias"][:, None]
    bwd_out = rnn.project(h, params["bwd_kernel"]) + params["bwd_bias"][:, None]
    return h[0], c[0], fwd_out[0], bwd_out[0]


def as_message(value, msg_size: int):
    """[N] -> [N, M], the value in channel 0."""
    return tf.pad(value[:, None], [[0, 0], [0, msg_size - 1]])


class Cloner:
    """Supervised cloning of `spec`'s online SGD into `network`'s two sub-RNNs."""

    def __init__(self, network: VSMLNetwork, spec: CloneSpec, pool_size: int = 4096,
                 rollout_steps: int = 4, learning_rate: float = 3e-3,
                 state_weight: float = 100.0, fan_ins=(784, 10), reset_fraction: float = 0.02,
                 delta_range: float = 1.0, seed: int = 0, jit_compile: bool = True):
        check_network(network)
        self.network, self.spec = network, spec
        self.fwd_rnn, self.bwd_rnn = network.forward_rnns[0], network.backward_rnns[0]
        # The forward tick's backward message and the backward tick's forward message
        # are never read (network.step discards them): those projections stay untrained.
        self.variables = ([getattr(self.fwd_rnn, n) for n in self.fwd_rnn.param_names()
                           if not n.startswith("bwd_")] +
                          [getattr(self.bwd_rnn, n) for n in self.bwd_rnn.param_names()
                           if not n.startswith("fwd_")])
        self.pool_size, self.rollout_steps = pool_size, rollout_steps
        self.state_weight = state_weight
        self.fan_ins = tuple(fan_ins)
        self.reset_fraction = reset_fraction
        self.delta_range = delta_range
        # Messages are in weight units (w = kappa c): the read-out projections start at
        # kappa times their initial scale and Adam moves them kappa times faster (Adam's
        # step is ~learning_rate per parameter whatever the gradient's scale).
        self.readouts = [v for v in self.variables if v.path.split("/")[-1] in
                         ("fwd_kernel", "fwd_bias", "bwd_kernel", "bwd_bias")]
        self.core = [v for v in self.variables if all(v is not r for r in self.readouts)]
        for v in self.readouts:
            v.assign(v * spec.kappa)
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.optimizer.build(self.core)
        scaled = (lambda: learning_rate(self.optimizer.iterations) * spec.kappa) if callable(
            learning_rate) else learning_rate * spec.kappa
        self.readout_optimizer = keras.optimizers.Adam(scaled)
        self.readout_optimizer.build(self.readouts)
        self.seed = seed
        self.iteration = tf.Variable(0, dtype=tf.int64)
        s = spec.state_size
        self.pool_h = tf.Variable(tf.zeros([pool_size, s]))
        self.pool_c = tf.Variable(self.fresh_states(pool_size, self._key(-1))[1])
        self._step = tf.function(self._train_step, jit_compile=jit_compile, autograph=False)

    def _key(self, salt):
        return tf.random.experimental.stateless_fold_in(
            tf.stack([tf.constant(self.seed, tf.int32), tf.cast(self.iteration, tf.int32)]),
            salt)

    def fresh_states(self, n, key):
        """(h, c) [n, S] as at an episode's start, except that half the weights and
        biases are drawn over the whole range episodes reach (mid-episode values)."""
        s, half = self.spec.state_size, self.spec.state_size // 2
        keys = [tf.random.experimental.stateless_fold_in(key, i) for i in range(6)]
        stds = tf.constant([1 / math.sqrt(a) for a in self.fan_ins])
        std = tf.gather(stds, tf.random.stateless_uniform([n], keys[0], 0, len(self.fan_ins),
                                                          tf.int32))
        rand = tf.random.stateless_truncated_normal([n, half], keys[1]) * std[:, None]
        w_range = tf.random.stateless_uniform([n], keys[2], -0.5, 0.5)
        grown = tf.random.stateless_uniform([n], keys[3]) < 0.5
        w = tf.where(grown, w_range, rand[:, 0])
        b = tf.where(grown, tf.random.stateless_uniform([n], keys[4], -0.15, 0.15), 0.0)
        c = tf.concat([w[:, None], rand[:, 1:], b[:, None], tf.zeros([n, s - half - 1])], 1)
        return tf.zeros([n, s]), c

    def sample_inputs(self, n, key):
        """u and delta as episodes produce them: normalized pixels (mostly background),
        hidden pre-activations, softmax errors and deep errors; a stale backward message
        (or none) for the forward tick.

        With delta_range > 1 (deep networks, whose hidden errors reach several units), half
        of the large errors are drawn over +-delta_range instead of +-1, and the stale
        message is a previous error of the same ranges (a hidden layer's forward tick sees
        last step's error)."""
        keys = [tf.random.experimental.stateless_fold_in(key, i) for i in range(9)]
        kind = tf.random.stateless_uniform([n], keys[0])
        pixel = tf.where(tf.random.stateless_uniform([n], keys[1]) < 0.6, -0.4242,
                         tf.random.stateless_uniform([n], keys[2], -0.4242, 2.8215))
        hidden = tf.random.stateless_normal([n], keys[3]) * 1.5
        u = tf.where(kind < 0.6, pixel, hidden)
        kind = tf.random.stateless_uniform([n], keys[4])
        big = tf.random.stateless_uniform([n], keys[5], -1.0, 1.0)
        small = tf.random.stateless_normal([n], keys[6]) * 0.1
        if self.delta_range != 1.0:
            wide = tf.random.stateless_uniform([n], keys[8]) < 0.5
            big = tf.where(wide, big * self.delta_range, big)
        delta = tf.where(kind < 0.5, big, tf.where(kind < 0.9, small, 0.0))
        previous = tf.roll(small if self.delta_range == 1.0 else delta, 1, 0)
        stale = tf.where(tf.random.stateless_uniform([n], keys[7]) < 0.5, previous, 0.0)
        return u, delta, stale

    def state_error(self, c, w, beta):
        """Squared error of the read-out (w, beta), in state units."""
        spec = self.spec
        return tf.reduce_mean(tf.square(c[:, W_CHANNEL] - w / spec.kappa) +
                              tf.square(c[:, spec.bias_channel] - beta / spec.kappa_bias))

    def rollout_loss(self, h, c, key):
        """Mean squared error over a rollout of forward + backward ticks from (h, c)."""
        spec, m = self.spec, self.spec.msg_size
        k, kb, bc = spec.kappa, spec.kappa_bias, spec.bias_channel
        fwd_p = self.fwd_rnn.params(1)
        bwd_p = self.bwd_rnn.params(1)
        w, beta = k * c[:, W_CHANNEL], kb * c[:, bc]   # the ideal trajectory starts here
        loss_msg, loss_state = 0.0, 0.0
        ticks = self.network.num_micro_ticks
        for t in range(self.rollout_steps):
            u, delta, stale = self.sample_inputs(ops.shape(h)[0],
                                                 tf.random.experimental.stateless_fold_in(
                                                     key, t))
            fwd_in = as_message(u, m)
            h, c, f_out, _ = connection_tick(fwd_p, h, c, fwd_in, as_message(stale, m), ticks)
            loss_msg += tf.reduce_mean(tf.square(
                (f_out - as_message(forward_message(u, w, beta), m)) / k))
            loss_state += self.state_error(c, w, beta)
            h, c, _, b_out = connection_tick(bwd_p, h, c, fwd_in, as_message(delta, m), ticks)
            loss_msg += tf.reduce_mean(tf.square(
                (b_out - as_message(backward_message(u, w, delta), m)) / k))
            w, beta = sgd_update(u, w, beta, delta, spec.alpha, spec.alpha_bias)
            loss_state += self.state_error(c, w, beta)
        steps = 2 * self.rollout_steps
        return loss_msg / steps, loss_state / steps, (h, c)

    def _train_step(self):
        key = self._key(0)
        with tf.GradientTape() as tape:
            loss_msg, loss_state, (h, c) = self.rollout_loss(
                tf.convert_to_tensor(self.pool_h), tf.convert_to_tensor(self.pool_c), key)
            loss = loss_msg + self.state_weight * loss_state
        grads = tape.gradient(loss, self.core + self.readouts)
        self.optimizer.apply_gradients(zip(grads[:len(self.core)], self.core))
        self.readout_optimizer.apply_gradients(zip(grads[len(self.core):], self.readouts))
        fresh_h, fresh_c = self.fresh_states(self.pool_size, self._key(1))
        reset = tf.random.stateless_uniform([self.pool_size], self._key(2)) < self.reset_fraction
        bad = tf.reduce_any(~tf.math.is_finite(c), -1) | (tf.abs(c[:, W_CHANNEL]) > 0.8)
        reset = (reset | bad)[:, None]
        self.pool_h.assign(tf.where(reset, fresh_h, tf.stop_gradient(h)))
        self.pool_c.assign(tf.where(reset, fresh_c, tf.stop_gradient(c)))
        self.iteration.assign_add(1)
        return loss_msg, loss_state

    def checkpoint_items(self) -> dict:
        """Everything a resumed cloning needs to continue bit for bit."""
        return {"sub_rnn_params": list(self.variables), "optimizer": self.optimizer,
                "readout_optimizer": self.readout_optimizer, "pool_h": self.pool_h,
                "pool_c": self.pool_c, "iteration": self.iteration}

    def step(self):
        loss_msg, loss_state = self._step()
        return float(loss_msg), float(loss_state)


# ---------------------------------------------------------------------------------------
# Meta-test: the clone and the SGD it cloned on the same episodes.
# ---------------------------------------------------------------------------------------

def compare(network: VSMLNetwork, target: SGDCloneTarget, theta, sampler, num_episodes: int,
            seed: int, chunk: int = 16, jit_compile: bool = True):
    """Per-step (loss, accuracy, predicted class) [episodes, T] of both learners.

    The episodes and the VSML initial states are those of `meta_test.meta_test` (same
    seeds), so vsml-evaluate on the saved checkpoint gives the clone's curve again; the
    SGD target starts from the same initial state's weights."""
    layout = ParamLayout(network)

    def run(theta, seeds):
        data_seeds, state_seeds = meta_test_seeds(seeds)
        xs, ys = sampler.sample(data_seeds)
        shape, classes = tuple(xs.shape[3:]), ys.shape[-1]
        out = []
        for learner, params in ((network, layout.unflatten(theta[None])), (target, {})):
            state = learner.initial_state(rng.truncated_normal_sampler(state_seeds), shape,
                                          classes, xs.shape[2])
            logits = learner.unroll(params, xs, ys, state)
            loss, acc = step_losses(logits, ys)
            out.append((loss, acc, tf.argmax(logits[:, :, 0], -1)))
        return out

    fn = tf.function(run, autograph=False, jit_compile=jit_compile)
    results = {"vsml_clone": [[], [], []], "sgd_clone_target": [[], [], []]}
    chunk = min(chunk, num_episodes)
    for start in range(0, num_episodes, chunk):
        seeds = rng.member_seeds(seed, 0, rng.Purpose.EVAL, tf.range(start, start + chunk))
        for name, values in zip(results, fn(tf.convert_to_tensor(theta), seeds)):
            for store, v in zip(results[name], values):
                store.append(v.numpy().T)
    return {name: [np.concatenate(v)[:num_episodes] for v in values]
            for name, values in results.items()}


def agreement(results: dict, windows) -> dict:
    """Per-step agreement of predicted classes and mean |accuracy difference| per window."""
    (_, acc_v, pred_v), (_, acc_s, pred_s) = (results["vsml_clone"],
                                              results["sgd_clone_target"])
    same = (pred_v == pred_s).astype(np.float64)
    out = {"agreement": float(same.mean())}
    for a, b in windows:
        out[f"agreement_{a}_{b}"] = float(same[:, a:b].mean())
        out[f"abs_delta_accuracy_{a}_{b}"] = float(abs(acc_v[:, a:b].mean()
                                                       - acc_s[:, a:b].mean()))
    out["mean_abs_delta_accuracy_curve"] = float(np.abs(acc_v.mean(0) - acc_s.mean(0)).mean())
    return out


def save_params(path: str, network: VSMLNetwork) -> None:
    """The two sub-RNNs' parameters as a small .npz (names as in ParamLayout)."""
    np.savez_compressed(path, **{f"{r.name}/{n}": getattr(r, n).numpy()
                                 for r in network.sub_rnns for n in r.param_names()})


def load_params(path: str, network: VSMLNetwork) -> None:
    """Inverse of `save_params`."""
    with np.load(path) as data:
        for r in network.sub_rnns:
            for n in r.param_names():
                getattr(r, n).assign(data[f"{r.name}/{n}"])


def train(cloner: Cloner, iterations: int, max_minutes: float = 0.0, log=print,
          should_stop=lambda: False) -> list[tuple[int, float, float, float]]:
    """Continue cloning from `cloner.iteration` to `iterations` steps (stopping early once
    `max_minutes` have passed or `should_stop()`); returns the loss log rows (iteration,
    message loss, state loss, seconds), one per 50 steps and the last."""
    rows, started = [], time.time()
    for i in range(int(cloner.iteration.numpy()), iterations):
        if should_stop():
            log(f"clone: stopped after {i} iterations")
            break
        loss_msg, loss_state = cloner.step()
        seconds = time.time() - started
        if i % 50 == 0 or i == iterations - 1:
            rows.append((i, loss_msg, loss_state, seconds))
            log(f"clone {i:5d}  message loss {loss_msg:.3e}  state loss {loss_state:.3e}  "
                f"{seconds:6.0f} s")
        if max_minutes and seconds > 60 * max_minutes:
            rows.append((i, loss_msg, loss_state, seconds))
            log(f"clone: stopping after {i + 1} iterations (clone.max_minutes)")
            break
    return rows
