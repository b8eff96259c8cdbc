"""Meta-gradient of a GradientTrainer against a central finite difference."""

import numpy as np
import tensorflow as tf


def assert_meta_gradient_matches_finite_differences(trainer, rng, atol, h=1e-2):
    """The directional derivative along a random unit direction, analytic vs numeric."""
    ids, it = tf.range(2), tf.constant(0, tf.int64)
    _, grad = trainer.loss_and_gradient(it, ids)
    assert np.isfinite(grad.numpy()).all()
    direction = rng.normal(size=trainer.layout.size).astype(np.float32)
    direction /= np.linalg.norm(direction)
    theta0 = trainer.theta.numpy()
    trainer.theta.assign(theta0 + h * direction)
    plus, _ = trainer.loss_and_gradient(it, ids)
    trainer.theta.assign(theta0 - h * direction)
    minus, _ = trainer.loss_and_gradient(it, ids)
    trainer.theta.assign(theta0)
    numeric = (float(plus) - float(minus)) / (2 * h)
    analytic = float(np.dot(grad.numpy(), direction))
    assert abs(numeric - analytic) < 0.05 * abs(analytic) + atol, (numeric, analytic)
