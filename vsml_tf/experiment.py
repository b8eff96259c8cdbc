"""Build a meta-training run (learner, episodes, meta-trainer) from a config."""

from __future__ import annotations

import keras
import ml_collections

from vsml_tf import datasets, learners
from vsml_tf.episodes import EpisodeSampler
from vsml_tf.trainers import EpisodeRunner, ESTrainer, GradientTrainer


def needs_images(learner) -> bool:
    """Learners with conv layers read [H, W, C] examples; all others flattened vectors."""
    return bool(getattr(learner, "uses_images", False))


def sampler(config: ml_collections.ConfigDict, learner, dataset: str, split: str,
            steps: int) -> EpisodeSampler:
    return EpisodeSampler(datasets.load(dataset, split), steps,
                          batch_size=config.data.batch_size, flatten=not needs_images(learner))


def build_trainer(config: ml_collections.ConfigDict, learner=None):
    """The meta-trainer of `config`, holding a fresh learner's initial meta-parameters
    (a function of config.seed: an interrupted run restarts from the same point)."""
    if learner is None:
        keras.utils.set_random_seed(config.seed)
        learner = learners.build(config)
    train = sampler(config, learner, config.data.dataset, "train",
                    config.training.episode_length)
    runner = EpisodeRunner(learner, train, remat=config.training.remat)
    common = dict(seed=config.seed, loss_type=config.training.loss_type,
                  jit_compile=config.training.jit_compile)
    if config.training.algorithm == "es":
        es = config.es
        return ESTrainer(runner, population_size=es.population_size, sigma=es.sigma,
                         learning_rate=es.learning_rate, fitness_shaping=es.fitness_shaping,
                         weight_decay=es.weight_decay, clip_norm=es.clip_norm, **common)
    grad = config.gradient
    return GradientTrainer(runner, meta_batch_size=grad.meta_batch_size,
                           learning_rate=grad.learning_rate, clip_norm=grad.clip_norm,
                           **common)
