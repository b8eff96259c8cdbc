"""The base configuration every config file extends, and its validation.

Config files (`configs/*.py`) define `get_config(arg=None)` that starts from
`base_config()` and changes values. Keys that the base does not define are rejected with
the closest valid names, both in files and in `--config.a.b=value` overrides.
Defaults here are the paper's scale; `configs/quickstart.py` shrinks them for a laptop.
"""

from __future__ import annotations

import difflib

import ml_collections

from vsml_tf import datasets
from vsml_tf.core.distribute import STRATEGIES
from vsml_tf.core.errors import UserError
from vsml_tf.datasets import images, preprocess
from vsml_tf.learners import network, registry
from vsml_tf.meta import cloning
from vsml_tf.meta.estimators import ESTIMATORS
from vsml_tf.meta.estimators.backprop import WINDOW_SAMPLINGS
from vsml_tf.meta.estimators.es import FITNESS_SHAPINGS
from vsml_tf.meta.runner import LOSS_TYPES
from vsml_tf.meta.trainer import LEARNING_RATE_DECAYS
from vsml_tf.runs import per_worker

# evaluation.preprocessing: what of config.data a meta-test applies (`builder.sampler`).
PREPROCESSING_SCOPES = ("shape", "none", "all")


# The sections of base_config, in one line each (`--help` lists them; every key with its
# default and meaning is in docs/reference/config.md).
SECTIONS = {
    "seed": "the seed of every random draw (episodes, ES noise, initial states)",
    "learner": "vsml, or a baseline: metarnn, fwmemory, hebbian, fwp, sgd",
    "model": "VSML's network: layers, sub-RNN state and message sizes, ticks",
    "baselines": "each baseline's settings, baselines.NAME.*",
    "data": "meta-training episodes: dataset, where it is read, preprocessing, variants",
    "training": "algorithm (es, gradient, clone), iterations, episode length, init_from",
    "es": "evolution strategies: pairs, sigma, Adam's learning rate, fitness shaping",
    "gradient": "backprop through episodes: meta-batch, learning rate, clipping",
    "clone": "cloning online SGD into the sub-RNNs: steps, gains, pool",
    "curriculum": "shorter episodes and another step size for the first iterations",
    "evaluation": "meta-test: datasets, episode length and count, compare, every",
    "distribution": "replicas: strategy, CPU devices, multi-worker, TPU",
    "logging": "summaries, TensorBoard, wandb, progress bar",
    "checkpoint": "how often checkpoints are written and how many are kept",
}


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0                     # keys every random draw: ES noise, episodes, initial states
    c.learner = "vsml"             # which learner: vsml (config.model) or a baseline
                                   # (config.baselines.NAME)

    # Each learner declares its settings next to it (`DEFAULTS`, see vsml_tf/core/registry.py):
    # VSML's are `model`, the baselines' `baselines.NAME` (metarnn, fwmemory, hebbian,
    # fwp, sgd; use_conv puts three 3x3 stride-2 convolutions in front, meta-learned).
    c.model = ml_collections.ConfigDict(registry.LEARNERS[registry.VSML].DEFAULTS)
    c.baselines = ml_collections.ConfigDict({
        name: dict(cls.DEFAULTS) for name, cls in registry.LEARNERS.items()
        if name != registry.VSML})

    # What the learners' keys mean where their DEFAULTS have no comment, or one that
    # needs its context (read by the config reference, vsml_tf/tools/config_reference.py):
    #   model.num_micro_ticks: sub-RNN updates (ticks) per step of the episode
    #   model.backward_pass: deliver the error by a reverse sweep within the same step
    #   model.separate_backward_rnn: with backward_pass, a second sub-RNN for that sweep
    #   model.layerwise_rnns: one sub-RNN per layer instead of one shared by all layers
    #   model.layer_norm: LayerNorm inside the sub-RNN (the authors' gradient setting)
    #   model.init_rand_proportion: fraction of each initial cell state c drawn at random
    #   baselines.*.use_conv: three 3x3 stride-2 convolutions (meta-learned) in front
    #   baselines.*.conv_channels: channels of each of those convolutions
    #   baselines.*.hidden_size: units of the learner's LSTM (sgd: of its tanh hidden layer)
    #   baselines.metarnn.num_micro_ticks: LSTM ticks per step of the episode
    #   baselines.fwmemory.memory_size: m of the [m, m*m] fast-weight memory
    #   baselines.fwp.fast_size: rows of the fast weight matrix [fast_size, classes]
    #   baselines.fwp.normalize_keys: L2-normalize keys and queries; False: the verbatim
    #     delta rule, which overflows within ~30 steps on standardized inputs
    #   baselines.hebbian.rule: the fast-weight rule, 'hebb' (with decay) or 'oja'
    #   model.authors_compat: conv layers exactly as the authors' released code (D2-D4 in
    #     docs/model.md)

    # Any value may be a vsml_tf.runs.per_worker.worker_split([...]): one option per worker.
    c.data = ml_collections.ConfigDict(dict(
        dataset="digits",          # meta-training dataset (see vsml_tf.datasets.LOADERS)
        batch_size=1,              # examples per step inside an episode
        # Where image datasets come from (digits, random and sum need nothing).
        source="auto",             # 'auto': data_dir/<name>/ if it exists, else TFDS;
                                   # 'files': only data_dir; 'tfds': only TFDS
        data_dir="",               # a directory with <name>/<official files> (may be gs://)
        tfds_data_dir="",          # TFDS data_dir (local or gs://); '' = TFDS's default
        tfds_download=True,        # let TFDS download a dataset it does not have
        # Preprocessing (paper defaults). Meta-test applies the first block, see
        # evaluation.preprocessing.
        normalize="dataset_standard",  # 'dataset_standard', per-image 'standard', 'identity'
        stats="paper",             # 'paper' (fashion_mnist uses MNIST's stats) or 'true'
        resize="",                 # 'HxW', e.g. '28x28'; '' keeps native size
        resize_method="bilinear",  # 'bilinear' or 'area' (block averages, for downsampling)
        pad_inputs="",             # 'HxWxC': zero-pad (centered) to this shape
        pad_classes=0,             # one-hot size; 0 = the dataset's number of classes
        # Task variants for meta-training (per worker).
        rand_proj=False,           # fixed Glorot-uniform DxD projection of the input
        episode_rand_proj=False,   # a fresh one per episode, from the episode's seed
        shuffle_pixels=False,      # fixed random permutation of the pixel positions
        crop_to_content=False,     # crop each image to the square around its ink before
                                   # resizing (digits fill the frame, as in UCI digits)
        filter_classes="",         # e.g. '3,5,7': keep these, relabel 0..k-1 in this order
        permute_labels=False,      # rename the classes by a random permutation per episode
        episode_pool=0,            # >0: each episode cycles through its own random subset
                                   # of this many examples (many passes); 0: whole split
        # Few-shot episodes: ways>0 gives N-way K-shot episodes of ways*shots+1 steps,
        # the last step an unseen query (use training.loss_type='last').
        ways=0,                    # classes per few-shot episode; 0: no few-shot episodes
        shots=1,                   # examples of each class per few-shot episode
    ))

    c.training = ml_collections.ConfigDict(dict(
        algorithm="es",            # ESTIMATORS ('es', 'gradient') or 'clone'
        init_from="",              # WORKDIR of another run or a shipped learner's name:
                                   # start from its meta-parameters (fresh optimizer,
                                   # iteration 0); 'clone': clone online SGD first
                                   # (config.clone; needs presets.CLONE_NETWORK)
        num_iterations=10_001,     # meta-training iterations (0: meta-test only)
        episode_length=500,        # steps per meta-training episode (a worker_split:
                                   # each shard its own length)
        loss_type="mean",          # 'mean' over all steps or 'last' step only
        learning_rate_decay="none",  # 'none', or 'cosine': Adam's rate (es. / gradient.
                                   # learning_rate) decays to 0 over num_iterations (after
                                   # a curriculum's iterations)
        jit_compile=True,          # compile episodes and steps with XLA
        remat=False,               # recompute activations when backpropagating episodes
        num_shards=0,              # the paper's "workers": shard i of the population /
                                   # meta-batch gets worker_split option i; theta depends
                                   # on the shards, not the replicas; 0 = automatic
                                   # (close to 8; builder.num_shards)
    ))

    c.es = ml_collections.ConfigDict(dict(
        population_size=1024,      # antithetic pairs (2x members)
        sigma=0.05,                # noise std: a pair's members are theta +- sigma * eps
        learning_rate=0.025,       # Adam's learning rate
        fitness_shaping="none",    # an es.FITNESS_SHAPINGS name: 'none', 'centered_rank',
        #   'shard_centered_rank' (ranks within each shard: every task an equal say)
        weight_decay=0.0,          # adds weight_decay * theta to the gradient estimate
        clip_norm=0.0,             # clip the estimate's global norm; 0 disables
    ))

    # The first iterations meta-train on shorter episodes with a larger step, which gets
    # ES off the ln(10) plateau sooner and at a lower cost per iteration (experiments/
    # docs/meta-training.md); then training.episode_length and the
    # estimator's learning rate take over.
    c.curriculum = ml_collections.ConfigDict(dict(
        iterations=0,              # 0: no curriculum
        episode_length=50,         # steps per episode during the curriculum
        learning_rate=0.0,         # Adam's during the curriculum; 0: the estimator's
    ))

    c.gradient = ml_collections.ConfigDict(dict(
        meta_batch_size=128,       # episodes per gradient step
        learning_rate=1e-3,        # Adam's learning rate
        clip_norm=25.0,            # clip the meta-gradient's global norm; 0 disables
        truncation=0,              # K > 0: backprop through one K-step window of each
                                   # episode, the steps before it forward only; 0: all
        window_sampling="uniform",  # truncation's windows: 'uniform', 'log' (P of a
                                    # window ~ its share of log(step): early ones more)
                                    # or 'mixed' (half each)
    ))

    # training.algorithm='clone': supervised learning-algorithm cloning of online SGD
    # (vsml_tf/meta/cloning.py; configs/clone_backprop.py).
    c.clone = ml_collections.ConfigDict(dict(
        kappa=600.0,               # weight w = kappa * c[..., 0] (keeps c in tanh's range)
        alpha=10.0,                # SGD step of the cloned network (per connection)
        alpha_bias=0.01,           # its bias step
        kappa_bias=1.0,            # bias share beta = kappa_bias * c[..., S/2]
        iterations=3000,           # Adam steps
        learning_rate=1e-2,        # cosine-decayed to 1% of it
        pool_size=2048,            # single connections in the rollout pool
        rollout_steps=4,           # forward + backward ticks per rollout
        state_weight=10.0,         # weight of the state read-out error vs the messages
        delta_range=1.0,           # half the large errors cloned over +-this (deep: > 1)
        max_minutes=12.0,          # stop cloning early after this long; 0: no limit
    ))

    c.evaluation = ml_collections.ConfigDict(dict(
        datasets="digits",         # comma-separated datasets to meta-test on
        episode_length=2000,       # steps per meta-test episode
        num_episodes=32,           # final meta-test (vsml-evaluate)
        every=100,                 # during training; 0 disables
        num_episodes_during_training=8,  # episodes of each meta-test during training
        chunk=16,                  # episodes per compiled call
        permute_labels=False,      # meta-test with classes renamed per episode: learning,
                                   # not a class -> label map remembered from meta-training
        filter_classes="",         # meta-test on these classes only, e.g. '5,8,1,4,2'
                                   # (relabeled 0..k-1 in this order; '' = all)
        compare="",                # learners to meta-test together (see vsml_tf/apps/evaluate.py):
                                   # comma-separated LABEL=WORKDIR or NAME (no meta-params)
        preprocessing="shape",     # 'shape': data.normalize/stats/resize/pad_* as in
                                   # meta-training; 'none': no resize (native size; pad_*
                                   # stay); 'all': also rand_proj/shuffle/filter (worker 0)
    ))

    c.distribution = ml_collections.ConfigDict(dict(
        strategy="auto",           # auto|default|one_device|mirrored|multi_worker|tpu|horovod
        cpu_devices=0,             # split the CPU into N logical devices (tests, laptops)
        tpu="",                    # TPU name for TPUClusterResolver ('' = local TPU VM)
        port_base=8888,            # Slurm multi-worker: task i of a node listens on base+i
        startup_timeout_s=300.0,   # multi-worker: exit non-zero if the cluster has not
                                   # formed by then (a worker died before joining)
    ))

    c.logging = ml_collections.ConfigDict(dict(
        summary_every=100,         # iterations between logged summaries
        progress_bar=True,         # a tqdm bar when stderr is a terminal (chief only)
        tensorboard=True,          # write scalars to WORKDIR/tensorboard
        wandb=ml_collections.ConfigDict(dict(  # Weights & Biases, in WORKDIR/wandb
            enabled=True,          # False: no wandb run
            mode="offline",        # WANDB_MODE in the environment wins
            project="vsml_tf",     # wandb project
            entity="",             # wandb entity (user or team); '' = wandb's default
            tags="",               # comma-separated
        )),
    ))

    c.checkpoint = ml_collections.ConfigDict(dict(
        every=500,                 # iterations between checkpoints (one more at the end)
        max_to_keep=3,             # newest checkpoints kept; older ones are deleted
    ))
    return c


def _keys(config, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in config.items():
        path = f"{prefix}{key}"
        keys.add(path)
        if isinstance(value, (ml_collections.ConfigDict, dict)):
            keys |= _keys(value, path + ".")
    return keys


class ConfigError(UserError):
    """A config names a key the base config does not define, or a bad value."""


def suggest(key: str, valid) -> str:
    """'did you mean ...?' from close full paths and keys with a close last component."""
    valid = sorted(valid)
    leaf = key.rsplit(".", 1)[-1]
    by_leaf = {v for v in valid
               if difflib.SequenceMatcher(None, leaf, v.rsplit(".", 1)[-1]).ratio() >= 0.8}
    close = list(dict.fromkeys(sorted(by_leaf) +
                               difflib.get_close_matches(key, valid, n=3, cutoff=0.6)))[:3]
    return f"did you mean {' or '.join(close)}?" if close else "see vsml_tf/runs/config.py"


def check_override(key: str) -> None:
    """Reject `--config.KEY=...` when KEY is not a key of the base config."""
    valid = _keys(base_config())
    if key not in valid:
        raise ConfigError(f"Unknown config key '{key}': {suggest(key, valid)}")


def validate(config: ml_collections.ConfigDict) -> None:
    """Raise ConfigError naming the first unknown key and the closest valid ones."""
    valid = _keys(base_config())
    for key in sorted(_keys(config) - valid):
        raise ConfigError(f"Unknown config key '{key}': {suggest(key, valid)}")
    try:
        per_worker.check_types(config, base_config())
    except ValueError as e:
        raise ConfigError(str(e)) from None
    for worker in range(per_worker.period(config)):
        resolved = per_worker.for_worker(config, worker)
        for key, choices in choices_by_key().items():
            value = resolved
            for part in key.split("."):
                value = value[part]
            if value not in choices:
                where = f" (worker {worker})" if per_worker.splits(config) else ""
                raise ConfigError(f"{key}={value!r}{where}: use one of "
                                  f"{', '.join(map(repr, choices))}.")
        check_values(resolved, f" (worker {worker})" if per_worker.splits(config) else "")


def choices_by_key() -> dict[str, tuple]:
    """Allowed values per config key, from the modules that define them (registries and
    constants), so that each list is written once."""
    registries = (registry.LEARNERS, FITNESS_SHAPINGS)
    return {**{r.config_key: tuple(r) for r in registries},
            "training.algorithm": tuple(ESTIMATORS) + (cloning.ALGORITHM,),
            "distribution.strategy": STRATEGIES,
            "data.source": images.SOURCES,
            "data.normalize": preprocess.NORMALIZATIONS,
            "data.resize_method": preprocess.RESIZE_METHODS,
            "data.stats": images.STATS,
            "evaluation.preprocessing": PREPROCESSING_SCOPES,
            "training.loss_type": LOSS_TYPES,
            "training.learning_rate_decay": LEARNING_RATE_DECAYS,
            "gradient.window_sampling": WINDOW_SAMPLINGS}


# (key, lowest allowed value, what the value means): checked by `check_values`.
MINIMUMS = (
    ("training.num_iterations", 0, "meta-training iterations (0: meta-test only)"),
    ("training.episode_length", 1, "steps per meta-training episode"),
    ("training.num_shards", 0, "population / meta-batch shards (0: automatic)"),
    ("es.population_size", 1, "antithetic ES pairs"),
    ("es.weight_decay", 0, "ES weight decay"),
    ("es.clip_norm", 0, "ES gradient clip (0 disables)"),
    ("gradient.meta_batch_size", 1, "episodes per gradient step"),
    ("gradient.clip_norm", 0, "gradient clip (0 disables)"),
    ("gradient.truncation", 0, "truncated-backprop window in steps (0: whole episodes)"),
    ("curriculum.iterations", 0, "first iterations on curriculum episodes (0: none)"),
    ("curriculum.episode_length", 1, "steps per curriculum episode"),
    ("curriculum.learning_rate", 0, "Adam learning rate of the curriculum (0: the "
                                    "estimator's)"),
    ("data.batch_size", 1, "examples per step inside an episode"),
    ("data.pad_classes", 0, "one-hot size (0: the dataset's classes)"),
    ("data.episode_pool", 0, "examples each episode cycles through (0: the whole split)"),
    ("data.ways", 0, "classes per few-shot episode (0: no few-shot)"),
    ("data.shots", 1, "examples per class in a few-shot episode"),
    ("model.state_size", 1, "LSTM state per connection"),
    ("model.msg_size", 2, "message size (channel 0: input, 1: prediction)"),
    ("model.num_micro_ticks", 1, "sub-RNN updates per step"),
    ("evaluation.episode_length", 1, "steps per meta-test episode"),
    ("evaluation.num_episodes", 1, "meta-test episodes"),
    ("evaluation.every", 0, "iterations between meta-tests during training (0: none)"),
    ("evaluation.num_episodes_during_training", 1, "meta-test episodes during training"),
    ("evaluation.chunk", 1, "meta-test episodes per compiled call"),
    ("distribution.cpu_devices", 0, "logical CPU devices (0: do not split the CPU)"),
    ("logging.summary_every", 1, "iterations between summaries"),
    ("checkpoint.every", 1, "iterations between checkpoints (one is also written at the "
                            "end)"),
    ("checkpoint.max_to_keep", 1, "checkpoints kept"),
)
POSITIVE = (  # must be > 0
    ("es.sigma", "ES noise std"),
    ("es.learning_rate", "ES Adam learning rate"),
    ("gradient.learning_rate", "gradient Adam learning rate"),
    ("distribution.startup_timeout_s", "seconds to wait for all multi-worker processes"),
)


def check_values(config: ml_collections.ConfigDict, where: str = "") -> None:
    """Raise ConfigError for the first value out of range in a worker-resolved config:
    every bad value is reported before any work, in one line, with what it means."""
    def get(key):
        section, name = key.split(".")
        return config[section][name]

    for key, lowest, meaning in MINIMUMS:
        value = get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < lowest:
            raise ConfigError(f"{key}={value!r}{where}: must be >= {lowest}: {meaning}.")
    for key, meaning in POSITIVE:
        value = get(key)
        if not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ConfigError(f"{key}={value!r}{where}: must be > 0: {meaning}.")
    if not 0 <= config.model.init_rand_proportion <= 1:
        raise ConfigError(f"model.init_rand_proportion={config.model.init_rand_proportion!r}"
                          f"{where}: must lie in [0, 1].")
    if not 0 <= config.model.output_idx < config.model.msg_size:
        raise ConfigError(f"model.output_idx={config.model.output_idx!r}{where}: must lie in "
                          f"0..model.msg_size-1={config.model.msg_size - 1}.")
    if not 1 <= config.distribution.port_base <= 65535:
        raise ConfigError(f"distribution.port_base={config.distribution.port_base!r}{where}: "
                          f"must be a TCP port (1..65535).")
    if config.learner == "vsml":
        _check_layers(config.model.layers, where)
    _check_datasets(config, where)

    for key in ("data.filter_classes", "evaluation.filter_classes"):
        try:
            classes = preprocess.parse_classes(get(key))
        except UserError:
            classes = None
        if classes is None or len(set(classes)) != len(classes) or any(c < 0 for c in classes):
            raise ConfigError(f"{key}={get(key)!r}{where}: write distinct class ids like "
                              f"'0,1,2'.")


def _check_layers(spec: str, where: str) -> None:
    try:
        network.check_layers(network.parse_layers(spec))
    except ValueError as e:
        message = str(e)
        if "model.layers" not in message:
            message = f"model.layers={spec!r}: {message} (e.g. 'conv8s2,dense')."
        raise ConfigError(message + where) from None


def _check_datasets(config, where: str) -> None:
    names = [("data.dataset", config.data.dataset)]
    names += [("evaluation.datasets", n) for n in split_list(config.evaluation.datasets)]
    if not split_list(config.evaluation.datasets):
        raise ConfigError(f"evaluation.datasets={config.evaluation.datasets!r}{where}: name "
                          f"at least one dataset to meta-test on.")
    for key, name in names:
        try:
            datasets.check_name(name)
        except ValueError as e:
            raise ConfigError(f"{key}: {e}{where}") from None


def split_list(value) -> list[str]:
    """'a,b' or ('a', 'b') -> ['a', 'b']."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


# Where this machine keeps the data: taken from the invoking config, not the learner's run.
DATA_SOURCE_KEYS = ("source", "data_dir", "tfds_data_dir", "tfds_download")


def with_episodes_of(learner_config, config) -> ml_collections.ConfigDict:
    """learner_config, meta-tested on the episodes of `config` (its evaluation section,
    seed and in-episode batch size), reading the data from where `config` says."""
    learner_config = ml_collections.ConfigDict(learner_config.to_dict())
    for key, value in config.evaluation.items():
        learner_config.evaluation[key] = value
    learner_config.evaluation.compare = ""
    learner_config.seed = config.seed
    learner_config.data.batch_size = config.data.batch_size
    for key in DATA_SOURCE_KEYS:
        learner_config.data[key] = config.data[key]
    return learner_config
