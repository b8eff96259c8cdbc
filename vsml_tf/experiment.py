"""Build a meta-training run (learner, episodes, meta-trainer) from a config."""

from __future__ import annotations

import math

import keras
import ml_collections

from vsml_tf import datasets, learners, workers
from vsml_tf.datasets.preprocess import Preprocessor, parse_shape
from vsml_tf.episodes import EpisodeSampler, FewShotSampler
from vsml_tf.distribute import Replicas
from vsml_tf.trainers import ESTrainer, GradientTrainer


def needs_images(learner) -> bool:
    """Learners with conv layers read [H, W, C] examples; all others flattened vectors."""
    return bool(getattr(learner, "uses_images", False))


def sampler(config: ml_collections.ConfigDict, learner, dataset, split: str, steps: int,
            worker_index: int = 0) -> EpisodeSampler | FewShotSampler:
    """Episodes of `dataset` (a name, or a worker_split of names) for worker
    `worker_index` (global: ES shard, replica or host), with that worker's `config.data`.

    split 'train' applies all of config.data's preprocessing; any other split is
    meta-test and applies what `config.evaluation.preprocessing` says ('shape': the
    normalization and the resize/pad shapes, never the task variants rand_proj,
    shuffle_pixels and filter_classes; 'none': normalization only; 'all': everything)."""
    data = workers.for_worker(config, worker_index).data
    dataset = workers.select(dataset, worker_index)
    scope = "all" if split == "train" else config.evaluation.preprocessing
    variants = scope == "all"
    shapes = scope in ("all", "shape")
    examples = datasets.from_config(data, dataset, split, filter_classes=variants)
    preprocessor = Preprocessor(
        examples, normalize=data.normalize,
        resize=parse_shape(data.resize, 2, "data.resize") if shapes else None,
        pad_inputs=parse_shape(data.pad_inputs, 3, "data.pad_inputs") if shapes else None,
        shuffle_pixels=variants and data.shuffle_pixels,
        rand_proj=variants and data.rand_proj, seed=config.seed, worker_index=worker_index)
    common = dict(flatten=not needs_images(learner), preprocessor=preprocessor,
                  num_classes=(data.pad_classes or None) if shapes else None)
    if data.ways:
        return FewShotSampler(examples, data.ways, data.shots, steps=steps,
                              batch_size=data.batch_size, **common)
    permute = data.permute_labels if split == "train" else config.evaluation.permute_labels
    return EpisodeSampler(examples, steps, batch_size=data.batch_size,
                          permute_labels=permute, **common)


def num_shards(config: ml_collections.ConfigDict, replicas: int) -> int:
    """training.num_shards, or by default one shard per replica and at least one per
    distinct worker_split assignment, so a config's variation is used on any hardware."""
    return config.training.num_shards or math.lcm(replicas, workers.period(config))


def build_trainer(config: ml_collections.ConfigDict, replicas=None):
    """The meta-trainer of `config`, holding a fresh learner's initial meta-parameters
    (a function of config.seed: an interrupted run restarts from the same point).
    Shard i of the population / meta-batch draws episodes as the paper's worker i."""
    replicas = replicas or Replicas()
    keras.utils.set_random_seed(config.seed)
    learner = learners.build(config)
    train_sampler = lambda shard: sampler(config, learner, config.data.dataset, "train",
                                          config.training.episode_length, worker_index=shard)
    common = dict(seed=config.seed, loss_type=config.training.loss_type,
                  jit_compile=config.training.jit_compile, remat=config.training.remat,
                  num_shards=num_shards(config, replicas.count), replicas=replicas)
    if config.training.algorithm == "es":
        es = config.es
        return ESTrainer(learner, train_sampler, population_size=es.population_size,
                         sigma=es.sigma, learning_rate=es.learning_rate,
                         fitness_shaping=es.fitness_shaping, weight_decay=es.weight_decay,
                         clip_norm=es.clip_norm, **common)
    grad = config.gradient
    return GradientTrainer(learner, train_sampler, meta_batch_size=grad.meta_batch_size,
                           learning_rate=grad.learning_rate, clip_norm=grad.clip_norm,
                           **common)
