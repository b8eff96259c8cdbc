"""Small meta-trainers on 8x8 digits, shared by the estimator and trainer tests."""

from vsml_tf import datasets
from vsml_tf.datasets.episodes import EpisodeSampler
from vsml_tf.learners.network import VSMLNetwork
from vsml_tf.meta.estimators import AntitheticES, Backprop
from vsml_tf.meta.runner import EpisodeRunner
from vsml_tf.meta.trainer import MetaTrainer


def digits_sampler(steps=6):
    return EpisodeSampler(datasets.load("digits", "train"), steps)


def es_trainer(sampler, population_size, sigma, learning_rate, seed, jit_compile=True):
    runner = EpisodeRunner(VSMLNetwork(), jit_compile=jit_compile)
    return MetaTrainer(AntitheticES(runner, population_size, sigma), [sampler],
                       runner.layout.from_network(), learning_rate, seed,
                       jit_compile=jit_compile)


def gradient_trainer(sampler, meta_batch_size, learning_rate, seed, jit_compile=True,
                     remat=False):
    runner = EpisodeRunner(VSMLNetwork(), remat=remat, jit_compile=jit_compile)
    return MetaTrainer(Backprop(runner, meta_batch_size), [sampler],
                       runner.layout.from_network(), learning_rate, seed,
                       jit_compile=jit_compile)
