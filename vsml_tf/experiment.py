"""Build a meta-training run (learner, episodes, meta-trainer) from a config."""

from __future__ import annotations

import keras
import ml_collections

from vsml_tf import datasets, learners
from vsml_tf.episodes import EpisodeSampler
from vsml_tf.layers import VSMLConv2D
from vsml_tf.trainers import ESTrainer, GradientTrainer


def needs_images(learner) -> bool:
    """Conv learners read [H, W, C] examples; all others flattened vectors."""
    return any(isinstance(layer, VSMLConv2D) for layer in getattr(learner, "vsml_layers", []))


def sampler(config: ml_collections.ConfigDict, learner, dataset: str, split: str,
            steps: int) -> EpisodeSampler:
    return EpisodeSampler(datasets.load(dataset, split), steps,
                          batch_size=config.data.batch_size, flatten=not needs_images(learner))


def build_trainer(config: ml_collections.ConfigDict, replicas=None):
    """The meta-trainer of `config`, holding a fresh learner's initial meta-parameters
    (a function of config.seed: an interrupted run restarts from the same point)."""
    keras.utils.set_random_seed(config.seed)
    learner = learners.build(config)
    train_sampler = lambda shard: sampler(config, learner, config.data.dataset, "train",
                                          config.training.episode_length)
    common = dict(seed=config.seed, loss_type=config.training.loss_type,
                  jit_compile=config.training.jit_compile, remat=config.training.remat,
                  num_shards=config.training.num_shards, replicas=replicas)
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
