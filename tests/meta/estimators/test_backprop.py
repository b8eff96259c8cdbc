"""The backprop estimator: its meta-gradient against finite differences, and the same
gradient with rematerialization."""

import numpy as np
import tensorflow as tf
from gradient_check import (
    assert_meta_gradient_matches_finite_differences,
    loss_and_gradient,
)
from meta_trainers import digits_sampler, gradient_trainer


def test_meta_gradient_matches_finite_differences():
    trainer = gradient_trainer(digits_sampler(5), meta_batch_size=2, learning_rate=0.0,
                               seed=2, jit_compile=False)
    g = np.random.default_rng(3)
    trainer.theta.assign(g.normal(size=trainer.layout.size).astype(np.float32) * 0.3)
    assert_meta_gradient_matches_finite_differences(trainer, g, atol=1e-4)


def test_remat_gives_the_same_gradient():
    plain = gradient_trainer(digits_sampler(), meta_batch_size=2, learning_rate=0.0, seed=1,
                             jit_compile=False)
    remat = gradient_trainer(digits_sampler(), meta_batch_size=2, learning_rate=0.0, seed=1,
                             jit_compile=False, remat=True)
    remat.theta.assign(plain.theta)
    ids, it = tf.range(2), tf.constant(0, tf.int64)
    loss_a, grad_a = loss_and_gradient(plain, it, ids)
    loss_b, grad_b = loss_and_gradient(remat, it, ids)
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-6)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-4, atol=1e-7)
