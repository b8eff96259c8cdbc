"""VSMLClassifier against scikit-learn's online learners, and its speed.

    python -m vsml_tf.tools.classifier_bench --compare [--learner=NAME | --workdir=DIR]
    python -m vsml_tf.tools.classifier_bench --bench   [--learner=NAME | --workdir=DIR]

--compare: every learner sees the same stream and predicts each example before learning
from it (prequential accuracy over the first 50, 100 and 500 examples), then is scored on
a held-out test set after the one pass (`--orders=N`: the mean and standard deviation
over N orders of each stream, the first the fixed one; over 100 examples one order's
accuracy has a binomial spread of about 0.05, too wide to rank learners that are close).
Streams: scikit-learn's 8x8 digits (a fixed shuffle; the quickstart learner was
meta-trained on 1,400 of these images in other episodes, never with this stream's order)
and make_classification (data no learner saw).
Standardization: each sklearn learner gets a StandardScaler fitted on the first 50
examples (it cannot be fitted on the stream it has not seen yet); VSML standardizes as
it was meta-trained, online.

--bench: examples/s of partial_fit (one call over N examples) and predict on MNIST-sized
inputs (784 features, 10 classes), after a warm-up call that compiles.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from vsml_tf.apps.classifier import VSMLClassifier
from vsml_tf.runs import pretrained

WINDOWS = (50, 100, 500)


def streams():
    from sklearn.datasets import load_digits, make_classification

    X, y = load_digits(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(y))
    X, y = X[order], y[order]
    yield "digits (1,397 stream / 400 test)", X[:-400], y[:-400], X[-400:], y[-400:]
    X, y = make_classification(n_samples=2500, n_features=30, n_informative=15,
                               n_redundant=5, n_classes=5, n_clusters_per_class=1,
                               random_state=0)
    yield "make_classification (30 features, 5 classes; 2,000 / 500)", X[:2000], y[:2000], \
        X[2000:], y[2000:]


def sklearn_learners():
    from sklearn.linear_model import (
        PassiveAggressiveClassifier,
        Perceptron,
        SGDClassifier,
    )
    from sklearn.neural_network import MLPClassifier

    return {
        "SGDClassifier (hinge)": lambda: SGDClassifier(random_state=0),
        "SGDClassifier (log_loss)": lambda: SGDClassifier(loss="log_loss", random_state=0),
        "Perceptron": lambda: Perceptron(random_state=0),
        "PassiveAggressive": lambda: PassiveAggressiveClassifier(random_state=0),
        "MLPClassifier (100, adam)": lambda: MLPClassifier(random_state=0),
    }


def prequential(make, X, y, Xt, yt, scale: bool):
    """(accuracy over the first WINDOWS examples predicted before learning them, test
    accuracy after the pass, seconds)."""
    from sklearn.preprocessing import StandardScaler

    classes = np.unique(y)
    if scale:
        scaler = StandardScaler().fit(X[:50])
        X, Xt = scaler.transform(X), scaler.transform(Xt)
    clf = make()
    started = time.time()
    correct = np.zeros(len(y), bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X[:1], y[:1], classes=classes)  # nothing to predict with yet
        for i in range(1, len(y)):
            correct[i] = clf.predict(X[i:i + 1])[0] == y[i]
            clf.partial_fit(X[i:i + 1], y[i:i + 1])
        test = clf.score(Xt, yt)
    return [correct[:w].mean() for w in WINDOWS], test, time.time() - started


def reorder(X, y, order: int):
    """The stream in its `order`-th order: 0 is the stream as given, k > 0 a permutation
    drawn with seed k (examples keep their labels; the test set is not touched)."""
    if order == 0:
        return X, y
    perm = np.random.RandomState(order).permutation(len(y))
    return X[perm], y[perm]


def over_orders(make, X, y, Xt, yt, scale: bool, orders: int = 1):
    """`prequential` over `orders` orders of the stream: (mean and std of each window's
    accuracy and of the test accuracy [len(WINDOWS) + 1 each], summed seconds)."""
    results, seconds = [], 0.0
    for order in range(orders):
        windows, test, s = prequential(make, *reorder(X, y, order), Xt, yt, scale)
        results.append(windows + [test])
        seconds += s
    results = np.asarray(results)
    return results.mean(axis=0), results.std(axis=0), seconds


def compare(learner: str, workdir: str | None, vsml: bool = True, orders: int = 1) -> None:

    name = f"VSML ({workdir or learner})"
    rows = {name: (lambda: VSMLClassifier(learner=learner, workdir=workdir), False)} \
        if vsml else {}
    rows.update({k: (v, True) for k, v in sklearn_learners().items()})
    for title, X, y, Xt, yt in streams():
        over = f"; mean ± std over {orders} orders" if orders > 1 else ""
        print(f"\n{title}; prequential accuracy over the first n examples, test accuracy "
              f"after one pass{over}\n")
        print("| learner | " + " | ".join(f"first {w}" for w in WINDOWS) +
              " | test after one pass | s |")
        print("| --- |" + " --- |" * (len(WINDOWS) + 2))
        for label, (make, scale) in rows.items():
            mean, std, seconds = over_orders(make, X, y, Xt, yt, scale, orders)
            cells = [f"{m:.3f}" + (f" ± {s:.3f}" if orders > 1 else "")
                     for m, s in zip(mean, std)]
            print(f"| {label} | " + " | ".join(cells) + f" | {seconds:.1f} |", flush=True)


def bench(learner: str, workdir: str | None, n: int = 2000, repeats: int = 3) -> None:

    rng = np.random.default_rng(0)
    X, y = rng.random((n, 784)), rng.integers(0, 10, n)
    clf = VSMLClassifier(learner=learner, workdir=workdir)
    clf.partial_fit(X[:10], y[:10], classes=range(10))  # compiles the step
    clf.predict(X[:n])                                    # compiles the batch sizes
    fit_s, pred_s = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        clf.partial_fit(X, y)
        fit_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        clf.predict(X)
        pred_s.append(time.perf_counter() - started)
    print(f"784 features, 10 classes, {n} examples per call, median of {repeats}:")
    print(f"  partial_fit: {n / np.median(fit_s):,.0f} examples/s")
    print(f"  predict:     {n / np.median(pred_s):,.0f} examples/s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vsml_tf.tools.classifier_bench")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--learner", default=pretrained.DEFAULT)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--skip_vsml", action="store_true", help="scikit-learn rows only")
    parser.add_argument("--orders", type=int, default=1,
                        help="--compare over this many orders of each stream (mean ± std)")
    args = parser.parse_args(argv)
    if not (args.compare or args.bench):
        parser.error("pass --compare and/or --bench")
    if args.bench:
        bench(args.learner, args.workdir)
    if args.compare:
        if args.orders < 1:
            parser.error(f"--orders={args.orders}: use 1 or more")
        compare(args.learner, args.workdir, vsml=not args.skip_vsml, orders=args.orders)


if __name__ == "__main__":
    main()
