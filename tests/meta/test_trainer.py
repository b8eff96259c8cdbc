"""The meta-trainer on small problems: curricula (and resuming mid-way), compiled ES and
gradient steps, shards and their compiled pieces, the learning-rate decay."""

import numpy as np
import pytest
import tensorflow as tf
from gradient_check import (
    loss_and_gradient,
)
from meta_trainers import digits_sampler, es_trainer, gradient_trainer

from vsml_tf.learners.network import VSMLNetwork
from vsml_tf.meta.estimators import AntitheticES
from vsml_tf.meta.runner import EpisodeRunner
from vsml_tf.meta.trainer import Curriculum, MetaTrainer, shard_pieces
from vsml_tf.runs import builder, loading, per_worker


def copy_state(source: MetaTrainer, target: MetaTrainer):
    """theta, the iteration and Adam's step count and moments of `source` into `target`."""
    target.theta.assign(source.theta)
    target.iteration.assign(source.iteration)
    moments = lambda t: [v for v in t.optimizer.variables if not v.path.endswith("iteration")
                         and v.path.split("/")[-1].split("_")[-1] in ("momentum", "velocity")]
    target.optimizer.iterations.assign(source.optimizer.iterations)
    for a, b in zip(moments(target), moments(source), strict=True):
        a.assign(b)


@pytest.mark.slow
def test_curriculum_iterations_use_its_episodes_and_step_then_the_main_ones():
    """A trainer with a 2-iteration curriculum (3-step episodes, lr 0.05) then 6-step
    episodes at lr 0.01 equals, bit for bit, a plain trainer on 3-step episodes at 0.05
    for 2 iterations, continued (same theta and Adam moments) by a plain trainer on
    6-step episodes at 0.01."""
    short, long = digits_sampler(3), digits_sampler(6)
    first = es_trainer(short, 4, 0.05, 0.05, seed=3, jit_compile=False)  # fast to build
    runner = first.runner
    staged = MetaTrainer(AntitheticES(runner, 4, 0.05), [long], first.theta.numpy(), 0.01,
                         seed=3, jit_compile=False,
                         curriculum=Curriculum(2, [short], 0.05))
    for _ in range(2):
        assert staged.in_curriculum()
        staged.step(), first.step()
    np.testing.assert_array_equal(staged.theta.numpy(), first.theta.numpy())
    assert not staged.in_curriculum()
    then = MetaTrainer(AntitheticES(runner, 4, 0.05), [long], first.theta.numpy(), 0.01,
                       seed=3, jit_compile=False)
    copy_state(first, then)
    for _ in range(2):
        staged.step(), then.step()
    np.testing.assert_array_equal(staged.theta.numpy(), then.theta.numpy())
    assert float(staged.optimizer.learning_rate) == pytest.approx(0.01)


@pytest.mark.slow
def test_curriculum_resumes_mid_way_as_the_uninterrupted_run():
    """State copied after iteration 1 of a 2-iteration curriculum (as a checkpoint
    restores it) continues with the curriculum's second iteration, then the main one."""
    short, long = digits_sampler(3), digits_sampler(6)
    make = lambda runner, theta: MetaTrainer(
        AntitheticES(runner, 4, 0.05), [long], theta, 0.01, seed=5, jit_compile=False,
        curriculum=Curriculum(2, [short], 0.05))
    runner = EpisodeRunner(VSMLNetwork(), jit_compile=False)
    theta = runner.layout.from_network()
    whole, resumed = make(runner, theta), make(runner, theta)
    whole.step()
    copy_state(whole, resumed)
    for _ in range(2):
        whole.step(), resumed.step()
    np.testing.assert_array_equal(whole.theta.numpy(), resumed.theta.numpy())


@pytest.mark.slow
def test_es_and_gradient_steps_run_compiled():
    trainer = es_trainer(digits_sampler(), population_size=2, sigma=0.05,
                         learning_rate=0.025, seed=0)
    before = trainer.theta.numpy()
    metrics = trainer.step()
    assert np.isfinite(metrics["meta_loss"]) and trainer.iteration.numpy() == 1
    assert not np.array_equal(before, trainer.theta.numpy())


@pytest.mark.slow
def test_gradient_meta_training_steps_lower_meta_loss():
    """Adam steps along the meta-gradient of fixed episodes lower their meta-loss."""
    trainer = gradient_trainer(digits_sampler(10), meta_batch_size=4, learning_rate=0.02,
                               seed=0)
    trainer.theta.assign(np.random.default_rng(4).normal(
        size=trainer.layout.size).astype(np.float32) * 0.3)
    fixed, ids = tf.constant(0, tf.int64), tf.range(4)
    compiled = tf.function(trainer.estimator.evaluate, jit_compile=True)
    before, grad = loss_and_gradient(trainer, fixed, ids, compiled)
    losses = [float(before)]
    for _ in range(15):
        trainer.optimizer.apply_gradients([(grad, trainer.theta)])
        after, grad = loss_and_gradient(trainer, fixed, ids, compiled)
        losses.append(float(after))
    # Float32 noise in these sums is ~1e-6; the descent is orders of magnitude larger.
    assert losses[-1] / 4 < losses[0] / 4 - 5e-4, [l / 4 for l in losses]


def test_shard_pieces_give_each_replica_whole_shards():
    assert shard_pieces(0, 1, 8, 1) == [(0, 0, 8)]
    assert shard_pieces(0, 1, 8, 4) == [(0, 0, 2), (1, 2, 4), (2, 4, 6), (3, 6, 8)]
    assert shard_pieces(1, 2, 8, 4) == [(2, 4, 6), (3, 6, 8)]
    assert shard_pieces(3, 4, 8, 4) == [(3, 6, 8)]
    with pytest.raises(ValueError, match="not a multiple of the 4 replicas"):
        shard_pieces(3, 4, 8, 2)  # a shard split over replicas would change the bits
    with pytest.raises(ValueError, match="cannot be split evenly into 3 shards"):
        shard_pieces(0, 1, 8, 3)


@pytest.mark.slow
def test_shards_with_the_same_episodes_share_one_compiled_piece(monkeypatch):
    """Shards whose episodes are equal (rand_proj off) share a sampler and so one
    compiled function; a per-worker random projection keeps its own. Theta is bit for bit
    the same as with one sampler and one function per shard."""
    from configs.testing import get_config

    config = get_config()
    config.training.num_shards = 4
    config.training.jit_compile = False  # fast to build; the sharing is the same
    with config.ignore_type():
        config.data.rand_proj = per_worker.worker_split([False, True])

    def theta_after_two(trainer):
        for _ in range(2):
            trainer.step()
        return trainer.theta.numpy()

    shared = builder.build_trainer(config)
    shared_theta = theta_after_two(shared)
    assert [shared.samplers[i] is shared.samplers[0] for i in range(4)] == [
        True, False, True, False]
    assert shared.samplers[1] is not shared.samplers[3]
    assert sum(key[0] == "evaluate" for key in shared._piece_fns) == 3

    monkeypatch.setattr(builder, "same_episodes_key", lambda config, shard: shard)
    separate = builder.build_trainer(config)
    np.testing.assert_array_equal(theta_after_two(separate), shared_theta)
    assert sum(key[0] == "evaluate" for key in separate._piece_fns) == 4


def test_each_shard_meta_trains_on_its_own_episode_length():
    """training.episode_length=worker_split([4, 6]): shard 0's ES losses are those of a
    run with 4-step episodes, shard 1's those of a run with 6-step episodes (same theta,
    seed and iteration), and the config's horizon is its longest length."""
    from configs.testing import get_config

    def config_with(length):
        config = get_config()
        config.training.num_shards = 2
        config.training.jit_compile = False
        with config.ignore_type():
            config.training.episode_length = length
        return config

    mixed = builder.build_trainer(config_with(per_worker.worker_split([4, 6])))
    assert [mixed.samplers[i].steps for i in range(2)] == [4, 6]
    pairs = [tf.range(0, 2), tf.range(2, 4)]  # 4 pairs in 2 shards
    for shard, length in enumerate([4, 6]):
        plain = builder.build_trainer(config_with(length))
        args = (mixed.theta, mixed.seed, tf.constant(0), pairs[shard])
        got, _ = mixed.estimator.evaluate(*args, mixed.samplers[shard])
        want, _ = plain.estimator.evaluate(*args, plain.samplers[shard])
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert loading.config_horizon(config_with(per_worker.worker_split([4, 60]))) == 60
    assert loading.config_horizon(config_with("worker_split([4, 6])")) == 12  # evaluation


def test_shard_ranks_weigh_each_shards_pairs_by_their_own_ranks():
    """es.fitness_shaping='shard_centered_rank' with 2 shards: the trainer's gradient is
    the ES estimate from each shard's losses ranked alone (computed here from the
    gathered losses in NumPy), and differs from global ranks."""
    from configs.testing import get_config

    config = get_config()
    config.training.num_shards = 2
    config.training.jit_compile = False
    config.es.fitness_shaping = "shard_centered_rank"
    trainer = builder.build_trainer(config)
    assert trainer.estimator.num_shards == 2
    est, theta = trainer.estimator, tf.convert_to_tensor(trainer.theta)
    seed, it = trainer.seed, tf.constant(0, tf.int64)
    p = est.num_members
    ids = [tf.range(0, p // 2), tf.range(p // 2, p)]
    losses = np.concatenate([est.evaluate(theta, seed, it, ids[s], trainer.samplers[s])[0]
                             for s in range(2)])
    ranked = []
    for block in np.split(losses, 2):
        r = np.argsort(np.argsort(block.reshape(-1), kind="stable"), kind="stable")
        ranked.append((r / (block.size - 1) - 0.5).reshape(block.shape))
    ranked = np.concatenate(ranked)
    eps = est.noise(seed, it, tf.range(p)).numpy()
    want = eps.T @ (ranked[:, 0] - ranked[:, 1]) / (2 * est.sigma) / p
    got = sum(est.gradient_sum(theta, seed, it, ids[s], tf.constant(losses), None)
              for s in range(2))
    np.testing.assert_allclose(est.finalize(got, theta), want, rtol=1e-4, atol=1e-6)
    est.fitness_shaping = "centered_rank"
    other = sum(est.gradient_sum(theta, seed, it, ids[s], tf.constant(losses), None)
                for s in range(2))
    assert not np.allclose(other, got)


@pytest.mark.slow
def test_cosine_decay_follows_the_curriculum_and_reaches_zero_at_the_end():
    """training.learning_rate_decay='cosine': the curriculum's rate for its iterations,
    then 0.5 rate (1 + cos(pi k / K)) for the K remaining iterations k = 0..K-1, read
    from the optimizer before each step (what Adam applies)."""
    from configs.testing import get_config

    config = get_config()
    config.training.jit_compile = False
    config.training.num_iterations = 6
    config.training.learning_rate_decay = "cosine"
    config.curriculum.iterations = 2
    config.curriculum.episode_length = 4
    config.curriculum.learning_rate = 0.05
    config.es.learning_rate = 0.01
    trainer = builder.build_trainer(config)
    applied = []
    for _ in range(6):
        applied.append(float(trainer.optimizer.learning_rate))
        trainer.step()
    cosine = [0.005 * (1 + np.cos(np.pi * k / 4)) for k in range(4)]
    np.testing.assert_allclose(applied, [0.05, 0.05] + cosine, rtol=1e-6)
    assert float(trainer.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
