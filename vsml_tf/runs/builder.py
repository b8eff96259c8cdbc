"""Build a run from a config, in one direction:

    config -> learner (unbuilt) -> samplers -> data spec -> learner.build_for(spec)
           -> runner -> estimator -> meta-trainer

Only this module (and the command-line tools) read the config; everything below it gets
plain arguments.
"""

from __future__ import annotations

import inspect
import math
import os
from typing import Callable, Sequence

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from vsml_tf import datasets
from vsml_tf.core.distribute import Replicas, make_replicas
from vsml_tf.core.errors import UserError
from vsml_tf.datasets.episodes import EpisodeSampler, FewShotSampler
from vsml_tf.datasets.preprocess import Preprocessor, parse_shape
from vsml_tf.learners import registry
from vsml_tf.learners.base import DataSpec
from vsml_tf.learners.meta_params import ParamLayout
from vsml_tf.meta import cloning
from vsml_tf.meta.estimators import ESTIMATORS, Estimator
from vsml_tf.meta.meta_test import meta_test
from vsml_tf.meta.runner import EpisodeRunner
from vsml_tf.meta.trainer import Curriculum, MetaTrainer, decayed
from vsml_tf.runs import checkpoints, loading, per_worker
from vsml_tf.runs.config import split_list, with_episodes_of


def sampler(config: ml_collections.ConfigDict, learner, dataset, split: str, steps: int,
            worker_index: int = 0) -> EpisodeSampler | FewShotSampler:
    """Episodes of `dataset` (a name, a worker_split of names, or an `ArrayDataset` of
    the user's own examples) for worker `worker_index` (global: ES shard, replica or
    host), with that worker's `config.data`.

    split 'train' applies all of config.data's preprocessing; any other split is
    meta-test and applies what `config.evaluation.preprocessing` says ('shape': the
    normalization and the resize/pad shapes, never the task variants rand_proj,
    episode_rand_proj, crop_to_content, episode_pool, shuffle_pixels and filter_classes;
    'none': no resize (native size); 'all': everything). Padding (`pad_inputs`,
    `pad_classes`) applies in every scope: it is the fixed input and output size of a
    learner such as the baselines, not a task variant.
    `evaluation.filter_classes` meta-tests on a subset of the classes in any scope."""
    data = per_worker.for_worker(config, worker_index).data
    dataset = per_worker.select(dataset, worker_index)
    scope = "all" if split == "train" else config.evaluation.preprocessing
    variants = scope == "all"
    resized = scope in ("all", "shape")
    if split == "train":
        classes = data.filter_classes
    else:  # meta-test: evaluation.filter_classes, else the training subset under 'all'
        classes = config.evaluation.filter_classes or (data.filter_classes if variants
                                                       else "")
    if isinstance(dataset, datasets.ArrayDataset):
        examples = dataset
    else:
        examples = datasets.load(dataset, split, source=data.source,
                                 data_dir=data.data_dir, tfds_data_dir=data.tfds_data_dir,
                                 tfds_download=data.tfds_download, stats=data.stats,
                                 filter_classes=classes or ())
    preprocessor = Preprocessor(
        examples, normalize=data.normalize,
        resize=parse_shape(data.resize, 2, "data.resize") if resized else None,
        pad_inputs=parse_shape(data.pad_inputs, 3, "data.pad_inputs"),
        shuffle_pixels=variants and data.shuffle_pixels,
        rand_proj=variants and data.rand_proj, seed=config.seed, worker_index=worker_index,
        resize_method=data.resize_method, crop=variants and data.crop_to_content)
    common = dict(flatten=not learner.uses_images, preprocessor=preprocessor,
                  num_classes=data.pad_classes or None,
                  episode_rand_proj=variants and data.episode_rand_proj)
    if data.ways:
        return FewShotSampler(examples, data.ways, data.shots, steps=steps,
                              batch_size=data.batch_size, **common)
    permute = data.permute_labels if split == "train" else config.evaluation.permute_labels
    return EpisodeSampler(examples, steps, batch_size=data.batch_size,
                          permute_labels=permute, pool=data.episode_pool if variants else 0,
                          **common)


# Shards chosen by default: enough that 1, 2, 4 or 8 replicas evaluate whole shards (the
# result depends on the shards, not on the replicas), and small shards run faster on CPU.
DEFAULT_SHARDS = 8


def num_shards(config: ml_collections.ConfigDict, replicas: int) -> int:
    """training.num_shards, or by default the multiple of lcm(replicas, distinct
    worker_split assignments) dividing the members that is closest to DEFAULT_SHARDS
    (the smallest one above it, else the largest below)."""
    if config.training.num_shards:
        return config.training.num_shards
    step = math.lcm(replicas, per_worker.period(config))
    estimator = ESTIMATORS.get(config.training.algorithm)
    members = config[estimator.CONFIG_SECTION][estimator.MEMBERS] if estimator else step
    fitting = [s for s in range(step, members + 1, step) if members % s == 0] or [step]
    return min(fitting, key=lambda s: (s < DEFAULT_SHARDS, abs(s - DEFAULT_SHARDS)))


class ShardSamplers(Sequence):
    """The episode sampler of each shard (the paper's workers), built when first used.

    Shards with the same `key` share one sampler, so that the trainer compiles one
    function for all of them (a compilation per shard was most of a short run's start)."""

    def __init__(self, make: Callable[[int], EpisodeSampler], count: int,
                 key: Callable[[int], object] = lambda shard: shard):
        self._make, self._count, self._key, self._built = make, count, key, {}

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, shard: int) -> EpisodeSampler:
        if not 0 <= shard < self._count:
            raise IndexError(shard)
        key = self._key(shard)
        if key not in self._built:
            with tf.init_scope():  # built eagerly, even when first asked while tracing
                self._built[key] = self._make(shard)
        return self._built[key]


def data_spec(sampler: EpisodeSampler) -> DataSpec:
    return DataSpec(tuple(sampler.example_shape), int(sampler.num_classes))


def new_learner(config: ml_collections.ConfigDict):
    """A fresh, not yet data-built learner of `config.learner` (VSML is configured by
    config.model, a baseline NAME by config.baselines.NAME)."""
    cls = registry.LEARNERS.lookup(config.learner)
    section = config.model if config.learner == registry.VSML else config.baselines[
        config.learner]
    return cls.from_config_section(section.to_dict(), name=config.learner)


def build_learner(config: ml_collections.ConfigDict, replicas: int = 1):
    """(learner, training samplers of its shards): a fresh learner of config.learner,
    built (if its weights depend on the data) for the spec of shard 0's training
    episodes; samplers are built when first used, so meta-testing VSML needs no training
    data. Its initial meta-parameters are a function of config.seed, so an interrupted
    run restarts from the same point."""
    keras.utils.set_random_seed(config.seed)
    learner = new_learner(config)
    samplers = training_samplers(config, learner, config.training.episode_length,
                                 num_shards(config, replicas))
    if learner.DATA_DEPENDENT:
        learner.build_for(data_spec(samplers[0]))
    return learner, samplers


def training_samplers(config, learner, steps, count: int) -> ShardSamplers:
    """The meta-training episodes of each of `count` shards, `steps` long; a worker_split
    of lengths gives each shard its own horizon (long cheap episodes on one shard, the
    horizon a table measures on another)."""
    length = lambda shard: int(per_worker.select(steps, shard))
    return ShardSamplers(lambda shard: sampler(config, learner, config.data.dataset,
                                               "train", length(shard), worker_index=shard),
                         count,
                         key=lambda shard: (same_episodes_key(config, shard), length(shard)))


def same_episodes_key(config, worker_index: int) -> tuple:
    """Workers with equal keys draw the same training episodes from the same seeds: their
    resolved data settings agree, and their task variant (a random projection or pixel
    permutation, drawn per worker) is off."""
    data = per_worker.for_worker(config, worker_index).data
    varies = data.rand_proj or data.shuffle_pixels
    return (repr(sorted(data.items())), worker_index if varies else None)


def curriculum(config, learner, samplers) -> Curriculum | None:
    """config.curriculum's first iterations (shorter episodes, a larger step), or None."""
    c = config.curriculum
    if not c.iterations:
        return None
    rate = c.learning_rate or learning_rate(config)
    return Curriculum(c.iterations, training_samplers(config, learner, c.episode_length,
                                                      len(samplers)), rate)


def estimator_section(config) -> ml_collections.ConfigDict:
    """The config section of config's estimator (`es`, `gradient`, ...)."""
    return config[ESTIMATORS.lookup(config.training.algorithm).CONFIG_SECTION]


def learning_rate(config) -> float:
    """Adam's learning rate of config's estimator (es.learning_rate, ...)."""
    return estimator_section(config).learning_rate


def estimator(config: ml_collections.ConfigDict, run: EpisodeRunner) -> Estimator:
    """config.training.algorithm's estimator: its section's keys fill the constructor's
    arguments of the same names, training.loss_type its `loss_type`."""
    cls = ESTIMATORS.lookup(config.training.algorithm)
    section = estimator_section(config)
    kwargs = {name: section[name] for name in inspect.signature(cls).parameters
              if name in section}
    return cls(run, loss_type=config.training.loss_type, **kwargs)


def runner(config: ml_collections.ConfigDict, learner) -> EpisodeRunner:
    return EpisodeRunner(learner, remat=config.training.remat,
                         jit_compile=config.training.jit_compile)


def runner_for_episodes(config: ml_collections.ConfigDict, run: EpisodeRunner,
                        episodes: EpisodeSampler) -> EpisodeRunner:
    """`run`, or for a learner without meta-parameters whose weights depend on the data
    (online SGD) a fresh one built for these episodes' shapes: meta-tested on another
    input size or class count than it was set up for, it needs no padding."""
    if run.layout.size or not run.learner.DATA_DEPENDENT:
        return run
    learner = new_learner(config)
    learner.build_for(data_spec(episodes))
    return runner(config, learner)


def replicas(config: ml_collections.ConfigDict) -> Replicas:
    """The replicas of config.distribution (strategy, CPU split, cluster, TPU)."""
    return make_replicas(**config.distribution.to_dict())


def build_trainer(config: ml_collections.ConfigDict, replicas=None) -> MetaTrainer:
    """The meta-trainer of `config`, holding a fresh learner's initial meta-parameters.
    Shard i of the population / meta-batch draws episodes as the paper's worker i."""
    replicas = replicas or Replicas()
    learner, samplers = build_learner(config, replicas.count)
    run = runner(config, learner)
    later = config.training.num_iterations - config.curriculum.iterations
    rate = decayed(learning_rate(config), config.training.learning_rate_decay, later)
    return MetaTrainer(estimator(config, run), samplers,
                       run.layout.from_network(), learning_rate=rate,
                       seed=config.seed, replicas=replicas,
                       jit_compile=config.training.jit_compile,
                       curriculum=curriculum(config, learner, samplers))


CLONE_NOW = "clone"  # training.init_from value: clone online SGD first (start_from)


def start_from(trainer: MetaTrainer, config: ml_collections.ConfigDict, log=print,
               workdir: str | None = None, should_stop=lambda: False) -> str | None:
    """Apply training.init_from to a fresh trainer's theta; returns what it started from,
    or None when `should_stop()` interrupted the cloning (saved in `workdir` to resume).

    A workdir or a shipped learner's name loads those meta-parameters (a curriculum);
    'clone' clones config.clone's online SGD into the learner's sub-RNNs first
    (vsml_tf/meta/cloning.py, seeded by config.seed), a start from which neither ES nor the
    meta-gradient sits on the ln(10) plateau."""
    source = config.training.init_from
    if source != CLONE_NOW:
        return loading.init_from(trainer.theta, source)
    cloning.check_network(trainer.learner)
    if config.clone.iterations < 1:
        raise UserError("training.init_from=clone needs clone.iterations >= 1 (the Adam "
                        "steps of cloning; 3000 by default).")
    done, stopped = clone(config, trainer.learner, log, workdir, should_stop)[1:]
    if stopped:
        return None
    trainer.theta.assign(trainer.layout.from_network())  # the cloned network's weights
    return f"a clone of online SGD ({done} Adam steps)"


def clone_spec(config: ml_collections.ConfigDict) -> cloning.CloneSpec:
    """What config.clone clones (message gain, SGD steps) into config.model's sizes."""
    return cloning.CloneSpec(kappa=config.clone.kappa, alpha=config.clone.alpha,
                             alpha_bias=config.clone.alpha_bias,
                             state_size=config.model.state_size,
                             msg_size=config.model.msg_size)


CLONE_CHECKPOINTS = "clone_checkpoints"  # WORKDIR/clone_checkpoints: cloning resumes here


def clone(config, network, log=print, workdir: str | None = None, should_stop=lambda: False):
    """Clone config.clone's online SGD into `network`'s sub-RNNs; returns (loss log rows
    (iteration, message loss, state loss, seconds), steps done, stopped early by
    `should_stop`). With a `workdir` the cloning resumes from, and ends by saving,
    WORKDIR/clone_checkpoints, so an interrupted cloning continues bit for bit."""
    c = config.clone
    layers = network.shapes((784,), 10)  # fan-ins of an MNIST network of these layers
    cloner = cloning.Cloner(network, clone_spec(config), pool_size=c.pool_size,
                            rollout_steps=c.rollout_steps,
                            learning_rate=keras.optimizers.schedules.CosineDecay(
                                c.learning_rate, c.iterations, alpha=0.01),
                            state_weight=c.state_weight, delta_range=c.delta_range,
                            fan_ins=tuple(s[0][0] for s in layers), seed=config.seed)
    manager = None
    if workdir is not None:
        manager = checkpoints.Manager(tf.train.Checkpoint(**cloner.checkpoint_items()),
                                      os.path.join(workdir, CLONE_CHECKPOINTS), max_to_keep=1)
        if manager.restore_or_initialize():
            log(f"clone: resumed at iteration {int(cloner.iteration.numpy())}")
    rows = cloning.train(cloner, c.iterations, max_minutes=c.max_minutes, log=log,
                         should_stop=should_stop)
    done = int(cloner.iteration.numpy())
    if manager is not None:
        manager.save(checkpoint_number=done)
    return rows, done, done < c.iterations and should_stop()


def _check_size(config, learner, theta: np.ndarray, what: str) -> None:
    size = ParamLayout(learner).size
    if size != theta.size:
        raise UserError(f"{what} has {theta.size} meta-parameters but the learner of its "
                        f"config ({config.learner}) has {size}: the package changed the "
                        f"learner since it was saved (re-export it), or the run's "
                        f"config.json does not belong to its checkpoints.")


def load(source, episodes_of: ml_collections.ConfigDict | None = None):
    """(config, learner, theta [D] float32) of a shipped learner's name or directory, or
    a vsml-train workdir (its newest readable checkpoint): the one loader of learned
    learners (`loading` finds the files, this builds the learner they describe). With
    `episodes_of`, the config is meta-tested on that config's episodes
    (`config.with_episodes_of`: its evaluation section, seed and batch size)."""
    config, theta = loading.load(source)
    if episodes_of is not None:
        config = with_episodes_of(config, episodes_of)
    learner, _ = build_learner(config)
    _check_size(config, learner, theta, str(getattr(source, "name", source)))
    return config, learner, theta


def runner_with(config: ml_collections.ConfigDict, theta):
    """(runner, theta) of `config`'s learner holding the given flat meta-parameters (a
    shipped learner's: what `vsml-evaluate` meta-tests); no trainer, no optimizer."""
    learner, _ = build_learner(config)
    _check_size(config, learner, np.asarray(theta), "The learner")
    return runner(config, learner), theta


def load_meta_params(config: ml_collections.ConfigDict, source: str | None,
                     label: str | None = None):
    """(runner, theta): config's learner and the meta-parameters of `source` (a workdir's
    newest readable checkpoint, or a shipped learner's; a learner without meta-parameters
    needs none). No trainer, no optimizer. A learner with nothing to load whose weights
    depend on the data (online SGD) is built for the first meta-test dataset, so that a
    meta-test needs no training data."""
    if source is None:
        keras.utils.set_random_seed(config.seed)
        learner = new_learner(config)
        if learner.DATA_DEPENDENT:
            ev = config.evaluation
            first = sampler(config, learner, split_list(ev.datasets)[0], "test",
                            ev.episode_length)
            learner.build_for(data_spec(first))
    else:
        learner, _ = build_learner(config)
    run = runner(config, learner)
    theta = tf.Variable(run.layout.from_network(), name="meta_params")
    if run.layout.size:
        if source is None:
            raise UserError(
                f"evaluation.compare entry {label!r}: learner {config.learner!r} has "
                f"{run.layout.size} meta-parameters; name its trained run as "
                f"{label}=WORKDIR.")
        values = loading.meta_params(source)
        _check_size(config, learner, values, str(source))
        theta.assign(values)
    return run, theta


def meta_test_datasets(config, runner, theta, label: str | None = None) -> list[dict]:
    """Curves of `theta` on the test split of every evaluation dataset, on the episodes
    of config.seed (num_classes: the episodes' classes, for the plot's chance line)."""
    results = []
    ev = config.evaluation
    for dataset in split_list(ev.datasets):
        episodes = sampler(config, runner.learner, dataset, "test", ev.episode_length)
        loss, acc = meta_test(runner_for_episodes(config, runner, episodes), theta,
                              episodes, ev.num_episodes, seed=config.seed, chunk=ev.chunk)
        results.append(dict(learner=label or config.learner, dataset=dataset, loss=loss,
                            accuracy=acc, num_classes=episodes.dataset_classes))
    return results
