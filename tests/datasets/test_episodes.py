"""Episodes: determinism per (seed, iteration, member), shuffling without replacement,
repetition, shapes inside XLA, and the few-shot structure."""

import numpy as np
import pytest
import tensorflow as tf

from vsml_tf import datasets
from vsml_tf.core import rng
from vsml_tf.datasets.base import ArrayDataset
from vsml_tf.datasets.episodes import EpisodeSampler, FewShotSampler


def seeds(iteration, members, seed=0):
    return rng.member_seeds(seed, iteration, rng.Purpose.DATA, tf.constant(members))


def test_episodes_are_a_pure_function_of_seed_iteration_and_member():
    sampler = EpisodeSampler(datasets.load("digits", "train"), steps=30, batch_size=2)
    sample = tf.function(sampler.sample, jit_compile=True)
    xs, ys = sample(seeds(7, [0, 1, 2, 3]))
    assert xs.shape == (30, 4, 2, 64) and ys.shape == (30, 4, 2, 10)
    again_x, again_y = sample(seeds(7, [0, 1, 2, 3]))
    np.testing.assert_array_equal(xs, again_x)
    np.testing.assert_array_equal(ys, again_y)
    # Member 2's episode does not depend on which other members are drawn with it.
    alone_x, _ = sample(seeds(7, [2]))
    np.testing.assert_array_equal(alone_x[:, 0], xs[:, 2])
    # Another iteration or member: another episode.
    other_x, _ = sample(seeds(8, [0, 1, 2, 3]))
    assert not np.allclose(other_x, xs)
    assert not np.allclose(xs[:, 0], xs[:, 1])
    d = sampler.dataset
    index, labels = tf.function(sampler.episode_indices, jit_compile=True)(
        seeds(7, [0, 1, 2, 3]))
    np.testing.assert_array_equal(labels, d.labels[index.numpy()])
    np.testing.assert_array_equal(np.argmax(ys, -1), labels)
    np.testing.assert_allclose(xs, ((d.images[index.numpy()] / 16.0 - d.mean) / d.std)
                               .reshape(30, 4, 2, 64), rtol=1e-5, atol=1e-5)


def test_shuffled_without_replacement_then_repeated():
    test = datasets.load("digits", "test")                   # 397 examples
    sampler = EpisodeSampler(test, steps=400, batch_size=2)  # 800 = 2 passes + 6
    index, _ = sampler.episode_indices(seeds(0, [0, 1]))
    for member in range(2):
        order = index.numpy()[:, member].reshape(-1)          # time-major: step, batch
        np.testing.assert_array_equal(np.sort(order[:397]), np.arange(397))
        np.testing.assert_array_equal(np.sort(order[397:794]), np.arange(397))
        assert len(set(order[794:])) == 6
        assert not np.array_equal(order[:397], order[397:794])  # a new order per pass
        assert not np.array_equal(order[:397], np.arange(397))


def test_pad_classes_and_flatten():
    train = datasets.load("digits", "train")
    sampler = EpisodeSampler(train, steps=3, flatten=False, num_classes=62)
    xs, ys = sampler.sample(seeds(0, [0]))
    assert xs.shape == (3, 1, 1, 8, 8, 1) and ys.shape == (3, 1, 1, 62)
    with pytest.raises(ValueError, match="fewer than the 10 classes"):
        EpisodeSampler(train, steps=3, num_classes=5)


def few_shot_dataset(classes=12, per_class=(4, 9)):
    g = np.random.default_rng(0)
    counts = g.integers(*per_class, size=classes)
    labels = np.repeat(np.arange(classes), counts)
    g.shuffle(labels)
    images = np.arange(len(labels), dtype=np.float32)[:, None, None, None] * np.ones(
        (1, 2, 2, 1), np.float32)                                # image i holds value i
    return ArrayDataset("toy", images, labels, classes, scale=1.0)


@pytest.mark.slow
def test_few_shot_episode_structure():
    d = few_shot_dataset()
    ways, shots, members = 5, 3, 64
    sampler = FewShotSampler(d, ways, shots, steps=16)
    indices = tf.function(sampler.episode_indices, jit_compile=True)
    index, labels = (t.numpy()[..., 0] for t in indices(seeds(3, list(range(members)))))
    assert index.shape == (16, members)
    mappings = set()
    for m in range(members):
        support, query = index[:-1, m], index[-1, m]
        support_labels, query_label = labels[:-1, m], labels[-1, m]
        classes = d.labels[support]
        # N classes, K shots each, relabeled 0..N-1 consistently.
        assert np.array_equal(np.bincount(support_labels, minlength=ways), [shots] * ways)
        mapping = {int(l): int(c) for l, c in zip(support_labels, classes)}
        assert len(mapping) == ways and len(set(mapping.values())) == ways
        assert all(mapping[int(l)] == c for l, c in zip(support_labels, classes))
        # The query: one of the N classes, its episode label, an example not shown before.
        assert 0 <= query_label < ways and d.labels[query] == mapping[int(query_label)]
        assert query not in support and len(set(support)) == len(support)
        mappings.add(tuple(sorted(mapping.items())))
    assert len(mappings) > members // 2          # classes and labels vary per episode
    query_labels = labels[-1]
    assert len(set(query_labels)) == ways        # every episode label is a query sometime
    xs, ys = tf.function(sampler.sample, jit_compile=True)(seeds(3, list(range(members))))
    assert xs.shape == (16, members, 1, 4) and ys.shape == (16, members, 1, 5)
    np.testing.assert_array_equal(xs[..., 0, 0], index)   # image i holds value i
    np.testing.assert_array_equal(np.argmax(ys[:, :, 0], -1), labels)


def test_few_shot_errors():
    d = few_shot_dataset(classes=6, per_class=(2, 3))          # 2 examples per class
    with pytest.raises(ValueError, match="ways\\*shots\\+1 = 6 steps, not 10"):
        FewShotSampler(few_shot_dataset(), 5, 1, steps=10)
    with pytest.raises(ValueError, match="5 classes with >= 3 examples; toy has 0"):
        FewShotSampler(d, 5, 2)
    with pytest.raises(ValueError, match="batch_size=1"):
        FewShotSampler(few_shot_dataset(), 5, 1, batch_size=2)


def test_permute_labels_renames_classes_per_episode():
    from vsml_tf import datasets
    from vsml_tf.core import rng
    from vsml_tf.datasets.episodes import EpisodeSampler

    data = datasets.load("digits", "train")
    plain = EpisodeSampler(data, 300)
    permuted = EpisodeSampler(data, 300, permute_labels=True)
    seeds = rng.member_seeds(0, 0, rng.Purpose.DATA, tf.range(3))
    xs, ys = plain.sample(seeds)
    xs_p, ys_p = permuted.sample(seeds)
    np.testing.assert_array_equal(xs, xs_p)  # same examples, renamed classes
    a, b = np.argmax(ys, -1), np.argmax(ys_p, -1)
    maps = []
    for m in range(3):  # one bijection per member, applied consistently in the episode
        pairs = set(zip(a[:, m].ravel().tolist(), b[:, m].ravel().tolist()))
        mapping = dict(pairs)
        assert len(mapping) == len(pairs) == 10 and sorted(mapping.values()) == list(range(10))
        maps.append(tuple(mapping[c] for c in range(10)))
    assert len(set(maps)) == 3 and maps[0] != tuple(range(10))


def test_episode_rand_proj_is_a_fresh_glorot_projection_per_episode():
    train = datasets.load("clusters", "train")               # 32 features, none constant
    plain = EpisodeSampler(train, steps=200)
    projected = EpisodeSampler(train, steps=200, episode_rand_proj=True)
    sample = tf.function(projected.sample, jit_compile=True)
    xs, ys = plain.sample(seeds(3, [0, 1]))
    pxs, pys = sample(seeds(3, [0, 1]))
    np.testing.assert_array_equal(ys, pys)              # the same examples and labels
    limit = np.sqrt(6 / (32 + 32))
    matrices = []
    for m in range(2):
        # 200 examples of 32 features determine the 32x32 map.
        inputs, outputs = xs.numpy()[:, m, 0], pxs.numpy()[:, m, 0]
        matrix = np.linalg.lstsq(inputs, outputs, rcond=None)[0]
        np.testing.assert_allclose(inputs @ matrix, outputs, atol=1e-4)
        assert np.abs(matrix).max() <= limit + 1e-4
        assert abs(matrix.std() - limit / np.sqrt(3)) < 0.1 * limit   # U(-l, l)
        matrices.append(matrix)
    assert not np.allclose(matrices[0], matrices[1], atol=1e-2)
    alone, _ = sample(seeds(3, [1]))                     # independent of the other members
    np.testing.assert_array_equal(alone[:, 0], pxs[:, 1])


def test_episode_pool_cycles_through_its_own_subset():
    train = datasets.load("digits", "train")                  # 1,397 examples
    whole = EpisodeSampler(train, steps=400)
    pooled = EpisodeSampler(train, steps=400, pool=50)
    indices = tf.function(pooled.episode_indices, jit_compile=True)
    index = indices(seeds(5, [0, 1, 2]))[0].numpy()[:, :, 0]    # [T, p]
    pools = []
    for member in range(3):
        order = index[:, member]
        pool = np.sort(order[:50])
        assert len(set(pool)) == 50                            # 50 distinct examples
        for start in range(0, 400, 50):                        # each pass: the pool, reordered
            np.testing.assert_array_equal(np.sort(order[start:start + 50]), pool)
        assert not np.array_equal(order[:50], order[50:100])
        pools.append(pool)
    assert not np.array_equal(pools[0], pools[1])             # a pool per episode
    alone = indices(seeds(5, [1]))[0].numpy()[:, 0, 0]
    np.testing.assert_array_equal(alone, index[:, 1])
    # The whole-split episodes are untouched by the option's existence.
    np.testing.assert_array_equal(whole.episode_indices(seeds(5, [0]))[0],
                                  EpisodeSampler(train, steps=400, pool=0)
                                  .episode_indices(seeds(5, [0]))[0])
    with pytest.raises(ValueError, match="episode_pool=-1"):
        EpisodeSampler(train, steps=4, pool=-1)
