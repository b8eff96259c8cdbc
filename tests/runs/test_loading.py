"""Loading learners: training.init_from from a workdir, a shipped learner, or the
shipped learner a config names."""

import os

import numpy as np
import pytest
from checkout import ROOT

from vsml_tf.core.errors import UserError
from vsml_tf.runs import builder, loading, pretrained


def test_init_from_a_shipped_learner_starts_from_its_meta_parameters():
    """training.init_from=NAME (a curriculum from a shipped learner): theta holds its
    values exactly; a learner of another size is refused with both sizes named."""
    import tensorflow as tf


    name = pretrained.names()[0]
    values = pretrained.meta_params(pretrained.directory(name))
    theta = tf.Variable(tf.zeros(values.shape))
    assert name in loading.init_from(theta, name)
    np.testing.assert_array_equal(theta.numpy(), values)
    with pytest.raises(UserError, match=f"{values.size} meta-parameters"):
        loading.init_from(tf.Variable(tf.zeros(values.size + 1)), name)
    with pytest.raises(UserError, match="neither a workdir with checkpoints nor a shipped"):
        loading.init_from(theta, "no_such_run_or_learner")


def test_gradient_from_clone_config_starts_from_the_shipped_clone():
    """configs/gradient.py:from_clone names a shipped learner whose network settings are
    its own: init_from loads it into that config's learner, value for value."""
    import importlib.util

    import tensorflow as tf


    spec = importlib.util.spec_from_file_location(
        "gradient_config", os.path.join(ROOT, "configs", "gradient.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config("from_clone")
    learner, _ = builder.build_learner(config)
    theta = tf.Variable(tf.zeros(builder.runner(config, learner).layout.size))
    loading.init_from(theta, config.training.init_from)
    np.testing.assert_array_equal(
        theta.numpy(), pretrained.meta_params(pretrained.directory(config.training.init_from)))


@pytest.mark.slow
def test_init_from_loads_bit_exact_and_rejects_other_sizes(tmp_path):
    from configs import testing
    from vsml_tf.apps import train

    source = testing.get_config("gradient")
    source.training.jit_compile = False
    source.evaluation.every = 0
    source.logging.tensorboard = source.logging.wandb.enabled = False
    trained, _ = train.train(source, str(tmp_path / "a"))
    config = testing.get_config("es")
    config.training.jit_compile = False
    config.evaluation.every = 0
    config.logging.tensorboard = config.logging.wandb.enabled = False
    config.training.num_iterations = 0
    config.training.init_from = str(tmp_path / "a")
    started, _ = train.train(config, str(tmp_path / "b"))
    np.testing.assert_array_equal(started.theta.numpy(), trained.theta.numpy())
    assert int(started.iteration.numpy()) == 0
    config.model.state_size = 8
    with pytest.raises(ValueError, match="init_from.*same learner"):
        train.train(config, str(tmp_path / "c"))


def test_one_loader_resolves_names_directories_and_workdirs(tmp_path):
    """A shipped learner by name or by directory, and a workdir (pinned to its newest
    checkpoint that reads back), load the same way; builder.load builds the learner."""
    from learner_workdirs import write_workdir

    from vsml_tf.runs.config import base_config
    from vsml_tf.runs.presets import digits_run

    name = pretrained.names()[0]
    by_name, by_dir = loading.resolve(name), loading.resolve(pretrained.directory(name))
    assert by_name.kind == by_dir.kind == loading.SHIPPED and by_name.path == by_dir.path
    np.testing.assert_array_equal(loading.meta_params(by_name), loading.meta_params(by_dir))
    assert loading.metadata(name) == pretrained.metadata(name)

    config = digits_run(base_config(), learner="vsml")
    trainer = write_workdir(str(tmp_path), config)
    source = loading.pinned(str(tmp_path))
    assert source.kind == loading.WORKDIR and source.checkpoint.endswith("ckpt-0")
    loaded, network, theta = builder.load(str(tmp_path))
    np.testing.assert_array_equal(theta, trainer.theta.numpy())
    assert loaded.to_dict() == loading.read_config(str(tmp_path)).to_dict()
    assert builder.runner(loaded, network).layout.size == theta.size
    assert loading.metadata(source)["iterations"] == 0


def test_unknown_sources_list_the_shipped_learners(tmp_path):
    with pytest.raises(loading.UnknownSourceError, match=r"No shipped learner 'x/y'.*\["):
        loading.resolve("x/y")
    with pytest.raises(FileNotFoundError, match="No config.json in"):
        loading.resolve(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    assert loading.resolve(str(tmp_path)).kind == loading.WORKDIR  # checkpoints: when read
    with pytest.raises(FileNotFoundError, match="has no checkpoint"):
        loading.meta_params(str(tmp_path))


def test_horizon_is_the_recorded_one_else_the_longest_episodes_known(tmp_path):
    """A shipped learner: the longest of its metadata's meta-test episodes and its
    config's episodes (read here from the files); a `horizon` in its metadata wins; a
    workdir: its config's longest episodes."""
    import json
    import shutil

    from learner_workdirs import write_workdir

    from vsml_tf.runs.config import base_config
    from vsml_tf.runs.presets import digits_run

    for name in pretrained.names():
        directory = pretrained.directory(name)
        with open(os.path.join(directory, "metadata.json")) as f:
            info = json.load(f)
        with open(os.path.join(directory, "config.json")) as f:
            config = json.load(f)
        steps = [t["steps"] for t in info["meta_test"].values()]
        want = info.get("horizon", max(steps + [config["training"]["episode_length"],
                                                 config["evaluation"]["episode_length"]]))
        assert loading.horizon(name) == want, name
    copy = tmp_path / "checked"
    shutil.copytree(pretrained.directory("quickstart_digits"), copy)
    info = json.loads((copy / "metadata.json").read_text())
    (copy / "metadata.json").write_text(json.dumps({**info, "horizon": 10000}))
    assert loading.horizon(str(copy)) == 10000
    config = digits_run(base_config(), learner="vsml", algorithm="es")
    config.training.episode_length, config.evaluation.episode_length = 150, 120
    write_workdir(str(tmp_path / "run"), config)
    assert loading.horizon(str(tmp_path / "run")) == 150
