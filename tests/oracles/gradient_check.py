"""Meta-gradient of a backprop MetaTrainer against a central finite difference."""

import numpy as np
import tensorflow as tf


def loss_and_gradient(trainer, iteration, ids, evaluate=None):
    """Summed meta-loss of episodes `ids` (shard 0) and its gradient at trainer.theta."""
    evaluate = evaluate or trainer.estimator.evaluate
    losses, grad = evaluate(tf.convert_to_tensor(trainer.theta),
                            tf.convert_to_tensor(trainer.seed), iteration, ids,
                            trainer.samplers[0])
    return tf.reduce_sum(losses), grad


def assert_meta_gradient_matches_finite_differences(trainer, rng, atol, h=1e-2):
    """The directional derivative along a random unit direction, analytic vs numeric."""
    ids, it = tf.range(2), tf.constant(0, tf.int64)
    _, grad = loss_and_gradient(trainer, it, ids)
    assert np.isfinite(grad.numpy()).all()
    direction = rng.normal(size=trainer.layout.size).astype(np.float32)
    direction /= np.linalg.norm(direction)
    theta0 = trainer.theta.numpy()
    trainer.theta.assign(theta0 + h * direction)
    plus, _ = loss_and_gradient(trainer, it, ids)
    trainer.theta.assign(theta0 - h * direction)
    minus, _ = loss_and_gradient(trainer, it, ids)
    trainer.theta.assign(theta0)
    numeric = (float(plus) - float(minus)) / (2 * h)
    analytic = float(np.dot(grad.numpy(), direction))
    assert abs(numeric - analytic) < 0.05 * abs(analytic) + atol, (numeric, analytic)
