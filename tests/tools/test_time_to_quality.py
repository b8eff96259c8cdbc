"""The time-to-quality tool: recipes parse, runs stop at the first confirmed pass of the
bar, and a bar never reached is reported as such after max_iterations."""

import importlib.util
import os

import numpy as np
import pytest
from checkout import ROOT

from vsml_tf.core.errors import UserError
from vsml_tf.tools import time_to_quality as ttq


def tiny_config():
    spec = importlib.util.spec_from_file_location(
        "testing", os.path.join(ROOT, "configs", "testing.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    config.evaluation.episode_length = 400  # the bar's windows reach step 399
    return config


def test_recipes_parse_names_and_overrides():
    assert ttq.parse_recipe("one_shard") == ("one_shard", {"training.num_shards": 1})
    assert ttq.parse_recipe("fast:es.learning_rate=0.05;es.fitness_shaping=centered_rank") \
        == ("fast", {"es.learning_rate": 0.05, "es.fitness_shaping": "centered_rank"})
    with pytest.raises(UserError, match="Unknown recipe 'nope'"):
        ttq.parse_recipe("nope")
    with pytest.raises(UserError, match="is not key=value"):
        ttq.parse_recipe("x:es.sigma")


def test_the_bar_reads_the_two_windows():
    acc = np.zeros((2, 400))
    acc[:, :50], acc[:, 300:] = 0.6, 0.9
    passes, early, late = ttq.windows_pass(acc, 0.55, 0.80)
    assert passes and early == pytest.approx(0.6) and late == pytest.approx(0.9)
    acc[0, 300:] = 0.6  # late window mean 0.75
    assert not ttq.windows_pass(acc, 0.55, 0.80)[0]


@pytest.mark.slow
def test_stops_at_the_first_confirmed_pass_or_gives_up():
    lines = []
    reached = ttq.time_to_quality(tiny_config(), every=2, quick=2, episodes=2,
                                  early_bar=0.0, late_bar=0.0, max_iterations=6,
                                  log=lines.append)
    assert reached["reached"] and reached["iterations"] == 2 and reached["seconds"] > 0
    assert 0.0 <= reached["early"] <= 1.0 and 0.0 <= reached["late"] <= 1.0
    assert any("confirm on 2 episodes" in line for line in lines)
    never = ttq.time_to_quality(tiny_config(), every=2, quick=2, episodes=2,
                                early_bar=1.01, late_bar=0.0, max_iterations=4,
                                log=lines.append)
    assert not never["reached"] and never["iterations"] == 4


def test_a_recipe_with_init_from_starts_from_that_learner(monkeypatch):
    """The from_clone recipe meta-trains from the shipped clone: the trainer the tool
    builds holds the clone's meta-parameters when the first iteration starts."""
    from vsml_tf.runs import pretrained

    config = tiny_config()
    config.update_from_flattened_dict(ttq.RECIPES["from_clone"])
    config.training.algorithm = "es"  # the start, not the estimator, is under test
    seen = []

    def stop_at_first_step(trainer_step):
        def step(*args, **kwargs):
            seen.append(trainer_step.__self__.theta.numpy().copy())
            raise StopIteration
        return step

    real_build = ttq.builder.build_trainer

    def build(config):
        trainer = real_build(config)
        trainer.step = stop_at_first_step(trainer.step)
        return trainer

    monkeypatch.setattr(ttq.builder, "build_trainer", build)
    with pytest.raises(StopIteration):
        ttq.time_to_quality(config, every=1, quick=1, episodes=1, early_bar=0.0,
                            late_bar=0.0, max_iterations=1)
    np.testing.assert_array_equal(
        seen[0], pretrained.meta_params(pretrained.directory("clone_backprop")))


def test_clone_gradient_recipe_over_the_es_quickstart_is_the_quickstart():
    """The A/B's two sides are the shipped configs: `clone_gradient` over
    configs/quickstart.py:es trains exactly as configs/quickstart.py (only how often it
    evaluates and checkpoints may differ)."""
    spec = importlib.util.spec_from_file_location(
        "quickstart", os.path.join(ROOT, "configs", "quickstart.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    recipe = module.get_config("es")
    recipe.update_from_flattened_dict(ttq.parse_recipe("clone_gradient")[1])
    quickstart = module.get_config()
    for section in ("training", "gradient", "es", "clone", "curriculum", "model", "data"):
        assert recipe[section].to_dict() == quickstart[section].to_dict(), section
    assert recipe.learner == quickstart.learner
