"""Cloning as its own run (apps/clone.py, training.algorithm='clone') and
training.init_from='clone', which starts meta-training from that clone."""

import numpy as np
import pytest
import tensorflow as tf

from vsml_tf.apps import clone as clone_app

pytestmark = pytest.mark.slow  # every test here takes more than ~5 s


def test_init_from_clone_starts_meta_training_from_the_clone_vsml_train_makes(tmp_path):
    """training.init_from='clone' clones first: the meta-trainer starts from exactly the
    meta-parameters that cloning as its own run (training.algorithm='clone') writes."""
    from configs import testing
    from vsml_tf.apps import train
    from vsml_tf.runs import checkpoints, presets

    def small(algorithm):
        config = testing.get_config(algorithm)
        config.update_from_flattened_dict(presets.CLONE_NETWORK)
        config.clone.iterations, config.clone.pool_size = 3, 64
        config.evaluation.every = 0
        config.logging.tensorboard = config.logging.wandb.enabled = False
        return config

    clone_app.run(small("clone"), str(tmp_path / "clone"))
    config = small("es")
    config.training.num_iterations = 0
    config.training.init_from = "clone"
    started, _ = train.train(config, str(tmp_path / "es"))
    cloned = tf.Variable(np.zeros(started.theta.shape, np.float32))
    checkpoints.restore_meta_params(cloned, str(tmp_path / "clone"))
    np.testing.assert_array_equal(started.theta.numpy(), cloned.numpy())
    fresh = train.builder.build_trainer(config)
    assert not np.array_equal(fresh.theta.numpy(), cloned.numpy())  # cloning changed it

    config.clone.iterations = 0
    with pytest.raises(ValueError, match="needs clone.iterations >= 1"):
        train.train(config, str(tmp_path / "no_steps"))
    config.clone.iterations = 3
    config.model.separate_backward_rnn = False
    with pytest.raises(ValueError, match="Cloning backprop needs"):
        train.train(config, str(tmp_path / "shared_rnn"))
