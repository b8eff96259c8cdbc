"""`scan` over the time axis of an episode, for each Keras backend.

`keras.ops.scan` on the TensorFlow backend requires the per-step outputs to have the
carry's structure, which an episode's logits do not, so we dispatch to each backend's
native loop: `tf.while_loop` with a TensorArray, `jax.lax.scan`, or a Python loop.
"""

from __future__ import annotations

import keras
from keras import ops, tree


def scan(step, params, carry, xs, y_like, remat: bool = False):
    """carry, ys = scan(step, params, carry, xs, y_like).

    step(params, carry, x) -> (carry, y) with y shaped and typed like the tensor `y_like`;
    xs is a structure of time-major tensors and `params` a structure of tensors constant
    over time (passed explicitly so that gradients reach them under `remat`). `remat`
    recomputes each step's activations in the backward pass instead of storing them
    (memory O(T * state) instead of O(T * activations)).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_scan(step, params, carry, xs, y_like, remat)
    if backend == "jax":
        import jax
        body = jax.checkpoint(step) if remat else step
        return jax.lax.scan(lambda c, x: body(params, c, x), carry, xs)
    length = tree.flatten(xs)[0].shape[0]
    ys = []
    for t in range(length):
        carry, y = step(params, carry, tree.map_structure(lambda x: x[t], xs))
        ys.append(y)
    return carry, ops.stack(ys)


def _tf_scan(step, params, carry, xs, y_like, remat):
    import tensorflow as tf

    xs_flat = [tf.convert_to_tensor(x) for x in tree.flatten(xs)]
    length = xs_flat[0].shape[0]
    if remat:
        plain_step = step
        n_params, n_carry = len(tree.flatten(params)), len(tree.flatten(carry))

        @tf.recompute_grad
        def flat_step(*args):  # tf.recompute_grad differentiates flat tensor arguments only
            p = tree.pack_sequence_as(params, list(args[:n_params]))
            c = tree.pack_sequence_as(carry, list(args[n_params:n_params + n_carry]))
            x = tree.pack_sequence_as(xs, list(args[n_params + n_carry:]))
            new_carry, y = plain_step(p, c, x)
            return tree.flatten(new_carry) + [y]

        def step(p, c, x):
            out = flat_step(*(tree.flatten(p) + tree.flatten(c) + tree.flatten(x)))
            return tree.pack_sequence_as(carry, out[:-1]), out[-1]

    def body(t, carry, ys):
        x = tree.pack_sequence_as(xs, [x[t] for x in xs_flat])
        carry, y = step(params, carry, x)
        return t + 1, carry, ys.write(t, y)

    ys = tf.TensorArray(y_like.dtype, size=length, element_shape=y_like.shape)
    _, carry, ys = tf.while_loop(lambda t, *_: t < length, body, (0, carry, ys),
                                 maximum_iterations=length)
    return carry, ys.stack()
