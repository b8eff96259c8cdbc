"""The builder: shards, samplers per worker and for meta-test, runners for episodes of
another shape."""

import numpy as np
import pytest
from eval_configs import digits_config

from vsml_tf.apps import evaluate
from vsml_tf.datasets.preprocess import glorot_uniform_projection
from vsml_tf.meta.meta_test import _chunk_seeds
from vsml_tf.meta.runner import meta_test_seeds
from vsml_tf.runs import builder
from vsml_tf.runs import config as config_lib
from vsml_tf.runs.config import base_config
from vsml_tf.runs.per_worker import worker_split


@pytest.mark.parametrize("members, replicas, shards", [
    (32, 1, 8), (32, 2, 8), (32, 8, 8), (32, 16, 16), (1024, 4, 8), (4, 1, 4), (4, 2, 4),
    (12, 1, 12)])
def test_default_shards_do_not_depend_on_up_to_eight_replicas(members, replicas, shards):
    config = base_config()
    config.es.population_size = members
    assert builder.num_shards(config, replicas) == shards


def test_evaluation_filter_classes_keeps_those_classes_relabeled_in_order():
    from vsml_tf import datasets

    config = digits_config(filter_classes="5,8")
    learner, _ = builder.build_learner(config)
    sampler = builder.sampler(config, learner, "digits", "test", 30)
    assert sampler.num_classes == 2
    index, labels = sampler.episode_indices(meta_test_seeds(
        next(_chunk_seeds(2, 0, 2)))[0])
    full = datasets.load("digits", "test")
    kept = full.labels[np.isin(full.labels, [5, 8])]
    np.testing.assert_array_equal(np.where(kept[index.numpy()] == 5, 0, 1), labels.numpy())


@pytest.mark.slow
def test_online_sgd_is_rebuilt_for_episodes_of_another_shape():
    """Set up on digits (64 inputs, 10 classes), meta-tested on 'sum' (784 inputs, 2
    classes) with no padding; a learner with meta-parameters is left as it is."""
    config = digits_config()
    config.learner = "sgd"
    config.evaluation.datasets = "digits,sum"
    runner, theta = builder.load_meta_params(config, None)
    results = evaluate.meta_test_datasets(config, runner, theta)
    assert [r["accuracy"].shape for r in results] == [(5, 30), (5, 30)]
    vsml = digits_config()
    learner, _ = builder.build_learner(vsml)
    run = builder.runner(vsml, learner)
    sampler = builder.sampler(vsml, learner, "sum", "test", 30)
    assert builder.runner_for_episodes(vsml, run, sampler) is run


def test_sampler_applies_the_workers_config():
    c = config_lib.base_config()
    c.seed = 11
    with c.ignore_type():
        c.data.rand_proj = worker_split([False, True])
        c.data.filter_classes = worker_split(["", "0,1,2"])
        c.data.pad_classes = worker_split([0, 12])
    learner = builder.new_learner(c)
    by_worker = [builder.sampler(c, learner, "digits", "train", 5, worker_index=i)
                 for i in range(4)]
    assert [s.preprocessor.projection is None for s in by_worker] == [True, False, True, False]
    assert [s.dataset.num_classes for s in by_worker] == [10, 3, 10, 3]
    assert [s.num_classes for s in by_worker] == [10, 12, 10, 12]
    np.testing.assert_array_equal(by_worker[1].preprocessor.projection,
                                  glorot_uniform_projection(64, 11, 1))
    assert not np.allclose(by_worker[1].preprocessor.projection,
                           by_worker[3].preprocessor.projection)
    # Workers share one loaded copy of the dataset (and its tensors).
    assert by_worker[0].dataset is by_worker[2].dataset
    assert by_worker[0]._images is by_worker[2]._images
    # A dataset mix: worker i trains on options[i % 2].
    mix = worker_split(["digits", "random"])
    assert [builder.sampler(c, learner, mix, "train", 5, worker_index=i).dataset.name
            for i in range(3)] == ["digits", "random", "digits"]


@pytest.mark.parametrize("scope,projected,filtered", [
    ("shape", False, False), ("none", False, False), ("all", True, True)])
def test_meta_test_preprocessing_scope(scope, projected, filtered):
    c = config_lib.base_config()
    c.data.rand_proj = True
    c.data.filter_classes = "3,4"
    c.data.pad_inputs = "10x10x1"
    c.data.pad_classes = 20
    c.data.resize = "6x6"
    c.data.resize_method = "area"
    c.data.crop_to_content = True
    c.evaluation.preprocessing = scope
    learner = builder.new_learner(c)
    sampler = builder.sampler(c, learner, "digits", "test", 5)
    assert (sampler.preprocessor.projection is not None) == projected
    assert (sampler.dataset.num_classes == 2) == filtered
    assert sampler.example_shape == (100,)  # resized to 6x6 or not, padded to 10x10
    assert (sampler.preprocessor.resize is not None) == (scope != "none")
    assert sampler.preprocessor.resize_method == "area"  # a shape setting
    assert sampler.preprocessor.crop == projected  # a task variant
    assert sampler.num_classes == 20
    train = builder.sampler(c, learner, "digits", "train", 5)
    assert train.preprocessor.projection is not None and train.dataset.num_classes == 2
    assert train.preprocessor.crop


def test_few_shot_sampler_from_config():
    c = config_lib.base_config()
    c.data.ways, c.data.shots = 3, 2
    learner = builder.new_learner(c)
    sampler = builder.sampler(c, learner, "digits", "test", 7)
    assert (sampler.ways, sampler.shots, sampler.steps, sampler.num_classes) == (3, 2, 7, 3)
    with pytest.raises(ValueError, match="set training.episode_length and "
                                         "evaluation.episode_length to 7"):
        builder.sampler(c, learner, "digits", "train", 500)
