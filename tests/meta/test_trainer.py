"""ES estimator against closed forms, and the meta-trainers on small problems."""

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf
from gradient_check import (
    assert_meta_gradient_matches_finite_differences,
    loss_and_gradient,
)

from vsml_tf import datasets
from vsml_tf.core import rng
from vsml_tf.datasets.episodes import EpisodeSampler
from vsml_tf.learners.network import VSMLNetwork
from vsml_tf.meta.estimators import AntitheticES, Backprop, es
from vsml_tf.meta.runner import EpisodeRunner
from vsml_tf.meta.trainer import Curriculum, MetaTrainer, shard_pieces
from vsml_tf.runs import builder, per_worker
from vsml_tf.runs.config import base_config


def quadratic(theta, a, Q):
    d = theta - a
    return 0.5 * tf.reduce_sum(tf.linalg.matvec(Q, d, transpose_a=False) * d, axis=-1)


def test_antithetic_estimate_on_quadratic_matches_closed_form():
    """For a quadratic L, (L(t+se) - L(t-se)) / 2s = e . grad L exactly, so the estimator
    equals (1/P) E^T E grad L for the drawn noise E, and approaches grad L for large P."""
    D, P, sigma = 6, 4000, 0.05
    g = np.random.default_rng(0)
    a = g.normal(size=D).astype(np.float32)
    B = g.normal(size=(D, D))
    Q = (B @ B.T / D + np.eye(D)).astype(np.float32)
    theta = g.normal(size=D).astype(np.float32)
    seeds = rng.member_seeds(7, 3, rng.Purpose.NOISE, tf.range(P))
    eps = rng.normal(seeds, D)
    members = es.antithetic_population(theta, eps, sigma)
    losses = quadratic(members, a, Q)
    fitness = tf.stack([losses[:P], losses[P:]], axis=1)
    estimate = es.finalize_gradient(es.gradient_sum(eps, fitness, sigma), P, theta).numpy()
    true_grad = Q @ (theta - a)
    E = eps.numpy().astype(np.float64)
    np.testing.assert_allclose(estimate, E.T @ E @ true_grad / P, rtol=1e-4, atol=1e-4)
    # Monte Carlo error of E^T E / P is O(sqrt(D / P)) ~ 4%.
    assert np.linalg.norm(estimate - true_grad) < 0.15 * np.linalg.norm(true_grad)


def test_gradient_sum_is_additive_over_shards():
    g = np.random.default_rng(1)
    eps = g.normal(size=(10, 5)).astype(np.float32)
    fit = g.normal(size=(10, 2)).astype(np.float32)
    whole = es.gradient_sum(eps, fit, 0.1)
    parts = es.gradient_sum(eps[:3], fit[:3], 0.1) + es.gradient_sum(eps[3:], fit[3:], 0.1)
    np.testing.assert_allclose(whole, parts, rtol=1e-5, atol=1e-6)


def test_centered_ranks_match_scipy():
    x = np.random.default_rng(2).normal(size=(7, 2)).astype(np.float32)
    expected = (scipy.stats.rankdata(x.reshape(-1)) - 1) / (x.size - 1) - 0.5
    np.testing.assert_allclose(es.centered_ranks(x).numpy().reshape(-1), expected, atol=1e-6)
    assert es.shape_fitness(x, "none") is x
    with pytest.raises(ValueError, match="centered_rank"):
        es.shape_fitness(x, "rank")


def test_weight_decay_and_clipping():
    theta = tf.constant([3.0, 4.0])
    grad = es.finalize_gradient(tf.constant([2.0, 0.0]), 2, theta, weight_decay=0.1)
    np.testing.assert_allclose(grad, [1.3, 0.4], rtol=1e-6)
    clipped = es.finalize_gradient(tf.constant([30.0, 40.0]), 1, theta, clip_norm=5.0)
    np.testing.assert_allclose(clipped, [3.0, 4.0], rtol=1e-6)


def test_member_seeds_depend_only_on_their_keys():
    all_seeds = rng.member_seeds(1, 5, rng.Purpose.DATA, tf.range(8)).numpy()
    some = rng.member_seeds(1, 5, rng.Purpose.DATA, tf.constant([3, 6])).numpy()
    np.testing.assert_array_equal(all_seeds[[3, 6]], some)
    assert len({tuple(s) for s in all_seeds}) == 8
    other = rng.member_seeds(1, 6, rng.Purpose.DATA, tf.range(8)).numpy()
    assert not (other == all_seeds).all(axis=1).any()


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


def copy_state(source: MetaTrainer, target: MetaTrainer):
    """theta, the iteration and Adam's step count and moments of `source` into `target`."""
    target.theta.assign(source.theta)
    target.iteration.assign(source.iteration)
    moments = lambda t: [v for v in t.optimizer.variables if not v.path.endswith("iteration")
                         and v.path.split("/")[-1].split("_")[-1] in ("momentum", "velocity")]
    target.optimizer.iterations.assign(source.optimizer.iterations)
    for a, b in zip(moments(target), moments(source), strict=True):
        a.assign(b)


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


def test_es_trainer_gradient_matches_explicit_pairs():
    """The compiled ES step equals the estimator computed from explicitly run members."""
    trainer = es_trainer(digits_sampler(), population_size=3, sigma=0.05,
                         learning_rate=0.0, seed=4, jit_compile=False)
    runner, sampler, estimator = trainer.runner, trainer.samplers[0], trainer.estimator
    theta0 = trainer.theta.numpy()
    ids, it, seed = tf.range(3), tf.constant(0, tf.int64), tf.constant(4, tf.int64)
    losses, none = estimator.evaluate(tf.constant(theta0), seed, it, ids, sampler)
    assert none is None  # ES's gradient needs every member's loss first
    losses = losses.numpy()
    eps = estimator.noise(seed, it, ids).numpy()
    # Recompute each member's loss one at a time through the public runner.
    data_seeds = rng.member_seeds(4, 0, rng.Purpose.DATA, ids)
    state_seeds = rng.member_seeds(4, 0, rng.Purpose.STATE, ids)
    xs, ys = sampler.sample(data_seeds)
    for j in range(3):
        for col, sign in enumerate((1.0, -1.0)):
            theta = (theta0 + sign * 0.05 * eps[j])[None]
            step_loss, _ = runner.run(tf.constant(theta), xs[:, j:j + 1], ys[:, j:j + 1],
                                      state_seeds[j:j + 1])
            np.testing.assert_allclose(losses[j, col], np.mean(step_loss), rtol=1e-5)
    expected = eps.T @ (losses[:, 0] - losses[:, 1]) / (2 * 0.05) / 3
    grad_sum = estimator.gradient_sum(tf.constant(theta0), seed, it, ids, tf.constant(losses),
                                      None)
    grad = estimator.finalize(grad_sum, tf.constant(theta0)).numpy()
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
    # and the trainer's whole step takes exactly this gradient (plain SGD-like check on
    # Adam's first step: theta moves against the sign of each component).
    trainer.optimizer.learning_rate.assign(1e-3)
    trainer.step()
    moved = trainer.theta.numpy() - theta0
    significant = np.abs(expected) > 1e-3 * np.abs(expected).max()
    np.testing.assert_array_equal(np.sign(moved[significant]), -np.sign(expected[significant]))


def test_es_and_gradient_steps_run_compiled():
    trainer = es_trainer(digits_sampler(), population_size=2, sigma=0.05,
                         learning_rate=0.025, seed=0)
    before = trainer.theta.numpy()
    metrics = trainer.step()
    assert np.isfinite(metrics["meta_loss"]) and trainer.iteration.numpy() == 1
    assert not np.array_equal(before, trainer.theta.numpy())


def test_meta_gradient_matches_finite_differences():
    trainer = gradient_trainer(digits_sampler(5), meta_batch_size=2, learning_rate=0.0,
                               seed=2, jit_compile=False)
    g = np.random.default_rng(3)
    trainer.theta.assign(g.normal(size=trainer.layout.size).astype(np.float32) * 0.3)
    assert_meta_gradient_matches_finite_differences(trainer, g, atol=1e-4)


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


def test_remat_gives_the_same_gradient():
    plain = gradient_trainer(digits_sampler(), meta_batch_size=2, learning_rate=0.0, seed=1,
                             jit_compile=False)
    remat = gradient_trainer(digits_sampler(), meta_batch_size=2, learning_rate=0.0, seed=1,
                             jit_compile=False, remat=True)
    remat.theta.assign(plain.theta)
    ids, it = tf.range(2), tf.constant(0, tf.int64)
    loss_a, grad_a = loss_and_gradient(plain, it, ids)
    loss_b, grad_b = loss_and_gradient(remat, it, ids)
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-6)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-4, atol=1e-7)


def test_shard_pieces_give_each_replica_whole_shards():
    assert shard_pieces(0, 1, 8, 1) == [(0, 0, 8)]
    assert shard_pieces(0, 1, 8, 4) == [(0, 0, 2), (1, 2, 4), (2, 4, 6), (3, 6, 8)]
    assert shard_pieces(1, 2, 8, 4) == [(2, 4, 6), (3, 6, 8)]
    assert shard_pieces(3, 4, 8, 4) == [(3, 6, 8)]
    with pytest.raises(ValueError, match="not a multiple of the 4 replicas"):
        shard_pieces(3, 4, 8, 2)  # a shard split over replicas would change the bits
    with pytest.raises(ValueError, match="cannot be split evenly into 3 shards"):
        shard_pieces(0, 1, 8, 3)


@pytest.mark.parametrize("members, replicas, shards", [
    (32, 1, 8), (32, 2, 8), (32, 8, 8), (32, 16, 16), (1024, 4, 8), (4, 1, 4), (4, 2, 4),
    (12, 1, 12)])
def test_default_shards_do_not_depend_on_up_to_eight_replicas(members, replicas, shards):
    config = base_config()
    config.es.population_size = members
    assert builder.num_shards(config, replicas) == shards


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


def test_bad_learning_rate_decay_is_rejected_with_the_choices():
    from vsml_tf.runs.config import ConfigError, validate

    config = base_config()
    config.training.learning_rate_decay = "linear"
    with pytest.raises(ConfigError, match="learning_rate_decay='linear': use one of 'none', "
                                          "'cosine'"):
        validate(config)
