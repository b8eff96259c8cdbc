"""The clone-ranges tool's vectorized SGD target equals the per-connection loops of the
NumPy oracle (oracles/numpy_sgd.py)."""

import numpy as np
from numpy_sgd import numpy_sgd_episode, random_episode


def test_clone_ranges_episode_is_the_loop_reference():
    """The ranges tool's vectorized SGD target equals the per-connection loops above."""
    from vsml_tf.tools import clone_ranges

    xs, ys = random_episode(10, 6, 3, seed=3)
    r = np.random.default_rng(0)
    init = [(r.normal(size=(6, 4)) * 3, r.normal(size=(6, 4)) * 0.1),
            (r.normal(size=(4, 3)) * 3, np.zeros((4, 3)))]
    expected = numpy_sgd_episode(init, xs.astype(np.float64), ys, 0.7, 0.05)
    weights = [(w.copy(), b.copy()) for w, b in init]
    logits, recorded = clone_ranges.episode(xs.astype(np.float64), ys, weights, 0.7, 0.05,
                                            record_every=5)
    np.testing.assert_allclose(logits, expected, rtol=1e-10, atol=1e-12)
    assert len(recorded["w"][0]) == 2 and recorded["w"][0][0].shape == (24,)
