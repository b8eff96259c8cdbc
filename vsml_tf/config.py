"""The base configuration every config file extends, and its validation.

Config files (`configs/*.py`) define `get_config(arg=None)` that starts from
`base_config()` and changes values. Keys that the base does not define are rejected with
the closest valid names, both in files and in `--config.a.b=value` overrides.
Defaults here are the paper's scale; `configs/quickstart.py` shrinks them for a laptop.
"""

from __future__ import annotations

import difflib

import ml_collections

from vsml_tf import workers
from vsml_tf.errors import UserError


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.learner = "vsml"

    # Each learner declares its settings next to it (`DEFAULTS`, see vsml_tf/learners.py):
    # VSML's are `model`, the baselines' `baselines.NAME` (metarnn, fwmemory, hebbian,
    # fwp, sgd; use_conv puts three 3x3 stride-2 convolutions in front, meta-learned).
    from vsml_tf import learners
    c.model = ml_collections.ConfigDict(learners.LEARNERS[learners.VSML].DEFAULTS)
    c.baselines = ml_collections.ConfigDict({
        name: dict(cls.DEFAULTS) for name, cls in learners.LEARNERS.items()
        if name != learners.VSML})

    # Any value may be a vsml_tf.workers.worker_split([...]): one option per worker.
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
        resize="",                 # 'HxW' (bilinear), e.g. '28x28'; '' keeps native size
        pad_inputs="",             # 'HxWxC': zero-pad (centered) to this shape
        pad_classes=0,             # one-hot size; 0 = the dataset's number of classes
        # Task variants for meta-training (per worker).
        rand_proj=False,           # fixed Glorot-uniform DxD projection of the input
        shuffle_pixels=False,      # fixed random permutation of the pixel positions
        filter_classes="",         # e.g. '3,5,7': keep these, relabel 0..k-1 in this order
        permute_labels=False,      # rename the classes by a random permutation per episode
        # Few-shot episodes: ways>0 gives N-way K-shot episodes of ways*shots+1 steps,
        # the last step an unseen query (use training.loss_type='last').
        ways=0,
        shots=1,
    ))

    c.training = ml_collections.ConfigDict(dict(
        algorithm="es",            # ESTIMATORS ('es', 'gradient') or SUPERVISED ('clone')
        init_from="",              # WORKDIR of another run or a shipped learner's name:
                                   # start from its meta-parameters (fresh optimizer,
                                   # iteration 0); 'clone': clone online SGD first
                                   # (config.clone; needs CLONE_NETWORK's settings)
        num_iterations=10_001,
        episode_length=500,
        loss_type="mean",          # 'mean' over all steps or 'last' step only
        learning_rate_decay="none",  # 'none', or 'cosine': Adam's rate (es. / gradient.
                                   # learning_rate) decays to 0 over num_iterations (after
                                   # a curriculum's iterations)
        jit_compile=True,
        remat=False,               # recompute activations when backpropagating episodes
        num_shards=0,              # the paper's "workers": shard i of the population /
                                   # meta-batch gets worker_split option i; theta depends
                                   # on the shards, not the replicas; 0 = automatic
                                   # (close to 8; experiment.num_shards)
    ))

    c.es = ml_collections.ConfigDict(dict(
        population_size=1024,      # antithetic pairs (2x members)
        sigma=0.05,
        learning_rate=0.025,
        fitness_shaping="none",    # an es.FITNESS_SHAPINGS name: 'none', 'centered_rank'
        weight_decay=0.0,
        clip_norm=0.0,             # 0 disables
    ))

    # The first iterations meta-train on shorter episodes with a larger step, which gets
    # ES off the ln(10) plateau sooner and at a lower cost per iteration (README,
    # "Time to a working learner"); then training.episode_length and the estimator's
    # learning rate take over.
    c.curriculum = ml_collections.ConfigDict(dict(
        iterations=0,              # 0: no curriculum
        episode_length=50,
        learning_rate=0.0,         # Adam's during the curriculum; 0: the estimator's
    ))

    c.gradient = ml_collections.ConfigDict(dict(
        meta_batch_size=128,
        learning_rate=1e-3,
        clip_norm=25.0,
    ))

    # training.algorithm='clone': supervised learning-algorithm cloning of online SGD
    # (vsml_tf/cloning.py; configs/clone_backprop.py).
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
        episode_length=2000,
        num_episodes=32,           # final meta-test (vsml-evaluate)
        every=100,                 # during training; 0 disables
        num_episodes_during_training=8,
        chunk=16,                  # episodes per compiled call
        permute_labels=False,      # meta-test with classes renamed per episode: learning,
                                   # not a class -> label map remembered from meta-training
        filter_classes="",         # meta-test on these classes only, e.g. '5,8,1,4,2'
                                   # (relabeled 0..k-1 in this order; '' = all)
        compare="",                # learners to meta-test together (see vsml_tf/evaluate.py):
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
        summary_every=100,
        progress_bar=True,
        tensorboard=True,
        wandb=ml_collections.ConfigDict(dict(
            enabled=True,
            mode="offline",        # WANDB_MODE in the environment wins
            project="vsml_tf",
            entity="",
            tags="",               # comma-separated
        )),
    ))

    c.checkpoint = ml_collections.ConfigDict(dict(
        every=500,
        max_to_keep=3,
    ))
    return c


def digits_run(config: ml_collections.ConfigDict, learner: str = "vsml",
               algorithm: str = "es") -> ml_collections.ConfigDict:
    """Laptop scale on 8x8 digits, shared by the quickstart and the baseline configs so
    that their results compare: 1,000 iterations of 100-step episodes (32 ES pairs or 16
    episodes per gradient step), meta-test on 64 held-out episodes of 400 steps."""
    config.learner = learner
    config.data.dataset = "digits"
    config.training.algorithm = algorithm
    config.training.num_iterations = 1000
    config.training.episode_length = 100
    config.es.population_size = 32
    config.gradient.meta_batch_size = 16
    config.evaluation.datasets = "digits"
    config.evaluation.episode_length = 400
    config.evaluation.num_episodes = 64
    config.evaluation.every = 250
    config.evaluation.num_episodes_during_training = 16
    config.evaluation.chunk = 32
    config.logging.summary_every = 50
    config.checkpoint.every = 250
    return config


# The network a clone of online SGD runs in (vsml_tf/cloning.py): forward-then-backward
# sweep, a separate backward sub-RNN, logits in channel 0. Shared by the cloning config
# and by meta-training that starts from a clone.
CLONE_NETWORK = {"model.backward_pass": True, "model.separate_backward_rnn": True,
                 "model.output_idx": 0}

# Gradient meta-training from a clone of online SGD made first, in the same run
# (configs/gradient.py:clone_first; time_to_quality's `grad_clone`): from the clone the
# meta-gradient is informative at once, so a short cloning (1,000 Adam steps instead of
# 3,000) and 8 episodes per step at Adam 3e-3 suffice (README, "Gradient meta-training").
GRADIENT_FROM_CLONE = {"training.algorithm": "gradient", "training.remat": True,
                       "training.init_from": "clone", "clone.iterations": 1000,
                       "gradient.meta_batch_size": 8, "gradient.learning_rate": 3e-3,
                       **CLONE_NETWORK}


# The quickstart (configs/quickstart.py): GRADIENT_FROM_CLONE with half the cloning, a
# 3x larger meta-gradient step that decays to 0 (the large step leaves the clone fast;
# the decay keeps the late-episode accuracy it swings at full step), 300 iterations.
# README, "Time to a working learner", has the probes and the A/B against ES.
CLONE_THEN_GRADIENT = {**GRADIENT_FROM_CLONE, "clone.iterations": 500,
                       "gradient.learning_rate": 1e-2,
                       "training.learning_rate_decay": "cosine",
                       "training.num_iterations": 300}


def mnist_laptop_run(config: ml_collections.ConfigDict, num_iterations: int,
                     init_from: str = "quickstart_digits") -> ml_collections.ConfigDict:
    """Laptop scale on MNIST, shared by configs/rand_proj.py:laptop and
    configs/invariances.py:laptop: ES with 32 pairs on 100-step episodes, starting from a
    shipped learner (a curriculum that skips the ES plateau); meta-test at native size on
    32 episodes of 2,000 steps."""
    config.training.init_from = init_from
    config.training.num_iterations = num_iterations
    config.training.episode_length = 100
    config.es.population_size = 32
    config.evaluation.preprocessing = "none"   # native sizes
    config.evaluation.episode_length = 2000
    config.evaluation.num_episodes = 32
    config.evaluation.every = 250
    config.evaluation.num_episodes_during_training = 8
    config.evaluation.chunk = 8
    config.logging.summary_every = 50
    config.checkpoint.every = 100
    return config


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
    return f"did you mean {' or '.join(close)}?" if close else "see vsml_tf/config.py"


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
        workers.check_types(config, base_config())
    except ValueError as e:
        raise ConfigError(str(e)) from None
    for worker in range(workers.period(config)):
        resolved = workers.for_worker(config, worker)
        for key, choices in choices_by_key().items():
            value = resolved
            for part in key.split("."):
                value = value[part]
            if value not in choices:
                where = f" (worker {worker})" if workers.splits(config) else ""
                raise ConfigError(f"{key}={value!r}{where}: use one of "
                                  f"{', '.join(map(repr, choices))}.")
        check_values(resolved, f" (worker {worker})" if workers.splits(config) else "")


def choices_by_key() -> dict[str, tuple]:
    """Allowed values per config key, from the modules that define them (registries and
    constants), so that each list is written once."""
    from vsml_tf import distribute, es, estimators, experiment, learners, runner, trainers
    from vsml_tf.datasets import images, preprocess
    registries = (learners.LEARNERS, es.FITNESS_SHAPINGS)
    return {**{r.config_key: tuple(r) for r in registries},
            "training.algorithm": tuple(estimators.ESTIMATORS) + tuple(estimators.SUPERVISED),
            "distribution.strategy": distribute.STRATEGIES,
            "data.source": images.SOURCES,
            "data.normalize": preprocess.NORMALIZATIONS,
            "data.stats": images.STATS,
            "evaluation.preprocessing": experiment.PREPROCESSING_SCOPES,
            "training.loss_type": runner.LOSS_TYPES,
            "training.learning_rate_decay": trainers.LEARNING_RATE_DECAYS}


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
    ("curriculum.iterations", 0, "first iterations on curriculum episodes (0: none)"),
    ("curriculum.episode_length", 1, "steps per curriculum episode"),
    ("curriculum.learning_rate", 0, "Adam learning rate of the curriculum (0: the "
                                    "estimator's)"),
    ("data.batch_size", 1, "examples per step inside an episode"),
    ("data.pad_classes", 0, "one-hot size (0: the dataset's classes)"),
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
    from vsml_tf.datasets import preprocess

    for key in ("data.filter_classes", "evaluation.filter_classes"):
        try:
            classes = preprocess.parse_classes(get(key))
        except UserError:
            classes = None
        if classes is None or len(set(classes)) != len(classes) or any(c < 0 for c in classes):
            raise ConfigError(f"{key}={get(key)!r}{where}: write distinct class ids like "
                              f"'0,1,2'.")


def _check_layers(spec: str, where: str) -> None:
    from vsml_tf import network  # imports Keras: only once a config is otherwise valid

    try:
        parsed = network.parse_layers(spec)
        for layer in parsed:
            for name in ("units", "filters", "kernel_size", "strides"):
                if layer.get(name) is not None and layer[name] < 1:
                    raise ValueError(f"{layer['type']} {name} must be >= 1, got "
                                     f"{layer[name]}")
        network.layers_from_spec(parsed)
    except ValueError as e:
        message = str(e)
        if "model.layers" not in message:
            message = f"model.layers={spec!r}: {message} (e.g. 'conv8s2,dense')."
        raise ConfigError(message + where) from None


def _check_datasets(config, where: str) -> None:
    from vsml_tf import datasets

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
