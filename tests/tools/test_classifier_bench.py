"""classifier_bench's prequential protocol against closed forms (no VSML learner run)."""

import numpy as np
import pytest

from vsml_tf.tools import classifier_bench as cb


class LastLabel:
    """Predicts the label it learned last: its prequential accuracy is the fraction of
    examples whose label repeats the previous one's, a closed form to test against."""

    def partial_fit(self, X, y, classes=None):
        self.last = y[-1]
        return self

    def predict(self, X):
        return np.full(len(X), self.last)

    def score(self, X, y):
        return float(np.mean(self.predict(X) == y))


def closed_form(y, Xt_labels):
    repeats = np.concatenate([[False], y[1:] == y[:-1]])  # example 0: nothing learned yet
    return [repeats[:w].mean() for w in cb.WINDOWS], np.mean(Xt_labels == y[-1])


def stream(n=600, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 3, n)
    X = np.column_stack([np.arange(n), y]).astype(float)  # each row names its example
    return X, y, X[:40], y[:40]


def test_prequential_predicts_each_example_before_learning_it():
    X, y, Xt, yt = stream()
    windows, test, _ = cb.prequential(LastLabel, X, y, Xt, yt, scale=False)
    want_windows, want_test = closed_form(y, yt)
    np.testing.assert_allclose(windows, want_windows)
    assert test == pytest.approx(want_test)


def test_reorder_keeps_pairs_and_order_zero_is_the_given_stream():
    X, y, _, _ = stream()
    X0, y0 = cb.reorder(X, y, 0)
    assert X0 is X and y0 is y
    X3, y3 = cb.reorder(X, y, 3)
    assert not np.array_equal(X3, X)
    np.testing.assert_array_equal(np.sort(X3[:, 0]), X[:, 0])   # a permutation ...
    np.testing.assert_array_equal(y[X3[:, 0].astype(int)], y3)  # ... of (x, y) pairs
    np.testing.assert_array_equal(cb.reorder(X, y, 3)[0], X3)   # seeded


def test_over_orders_is_mean_and_std_of_each_order():
    X, y, Xt, yt = stream()
    mean, std, _ = cb.over_orders(LastLabel, X, y, Xt, yt, scale=False, orders=3)
    per_order = []
    for order in range(3):
        Xo, yo = cb.reorder(X, y, order)
        windows, test = closed_form(yo, yt)
        per_order.append(windows + [test])
    np.testing.assert_allclose(mean, np.mean(per_order, axis=0))
    np.testing.assert_allclose(std, np.std(per_order, axis=0))
    assert std[0] > 0  # the orders differ


def test_orders_below_one_is_refused():
    with pytest.raises(SystemExit):
        cb.main(["--compare", "--orders=0", "--skip_vsml"])
