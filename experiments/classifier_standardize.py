"""VSMLClassifier's standardization on tabular data (issue 33, item 5): prequential and
fit/score accuracy of the shipped `quickstart_digits` learner with standardize='auto',
'global' and 'feature', and of SGDClassifier(loss='log_loss') on the same streams.

Prequential: the dataset shuffled (np.random.default_rng(seed).permutation), one
`partial_fit` over it, each example predicted before its label is learned
(`prequential_predictions_`); standardization statistics from the whole stream, as `fit`
takes them. SGD: the same stream z-scored per feature with the same statistics, each
example predicted (the first one counted wrong) before `partial_fit` on it.
Fit/score: train_test_split(test_size=0.3, stratify=y, random_state=seed), `fit` (one
pass) then `score`; SGD with a StandardScaler fitted on the training part, one pass
(`partial_fit` once) and `fit` (its default: epochs until it converges, up to 1,000).
Means over seeds 0-4. Run on the code before issue 33's change (no
prequential_predictions_), the prequential figures come from the learner's step logits.

    python experiments/classifier_standardize.py [DATASET...]   # ~3 min on 2 cores
"""
import sys

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vsml_tf import VSMLClassifier
from vsml_tf.apps import classifier

SEEDS = range(5)
MODES = ("auto", "global", "feature")
DATASETS = {
    "wine": lambda: load_wine(return_X_y=True),
    "iris": lambda: load_iris(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "make_classification": lambda: make_classification(
        n_samples=1000, n_features=20, n_informative=10, n_classes=3, random_state=0),
    "digits": lambda: load_digits(return_X_y=True),
    # vsml_tf.tools.classifier_bench's stream, features of one scale where 'global' wins.
    "make_classification_30": lambda: make_classification(
        n_samples=1000, n_features=30, n_informative=15, n_redundant=5, n_classes=5,
        n_clusters_per_class=1, random_state=0),
}


def prequential(mode, X, y):
    clf = VSMLClassifier(learner="quickstart_digits", standardize=mode)
    clf.partial_fit(X, y, classes=np.unique(y))
    if hasattr(clf, "prequential_predictions_"):
        return np.mean(clf.prequential_predictions_ == y)
    # The code before prequential_predictions_: the learner's step logits, by hand.
    clf = VSMLClassifier(learner="quickstart_digits", standardize=mode)
    X_, _ = clf._validate_X(X, y, reset=True)
    clf._start(X_, np.unique(y))
    clf._update_stats(X_)
    engine = classifier._engine(clf._source, True)
    ys = np.eye(len(clf.classes_), dtype=np.float32)[clf._encode(y)][:, None]
    _, logits = engine.learn(clf._carry, clf._prepare(X_)[:, None], ys)
    return np.mean(clf.classes_[np.argmax(logits[:, 0], 1)] == y)


def sgd_prequential(X, y, seed):
    X = StandardScaler().fit_transform(X)
    sgd = SGDClassifier(loss="log_loss", random_state=seed)
    correct = 0
    for i in range(len(X)):
        if i:
            correct += sgd.predict(X[i:i + 1])[0] == y[i]
        sgd.partial_fit(X[i:i + 1], y[i:i + 1], classes=np.unique(y))
    return correct / len(X)


def main(names):
    rows = []
    for name in names:
        X, y = DATASETS[name]()
        cells = {}
        for seed in SEEDS:
            order = np.random.default_rng(seed).permutation(len(X))
            Xs, ys = X[order], y[order]
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y,
                                                  random_state=seed)
            for mode in MODES:
                cells.setdefault(("preq", mode), []).append(prequential(mode, Xs, ys))
                clf = VSMLClassifier(learner="quickstart_digits", standardize=mode)
                cells.setdefault(("fit", mode), []).append(clf.fit(Xtr, ytr).score(Xte, yte))
            cells.setdefault(("preq", "sgd"), []).append(sgd_prequential(Xs, ys, seed))
            scaler = StandardScaler().fit(Xtr)
            sgd = SGDClassifier(loss="log_loss", random_state=seed)
            sgd.partial_fit(scaler.transform(Xtr), ytr, classes=np.unique(y))
            cells.setdefault(("fit", "sgd"), []).append(sgd.score(scaler.transform(Xte), yte))
            sgd = make_pipeline(StandardScaler(),
                                SGDClassifier(loss="log_loss", random_state=seed))
            cells.setdefault(("fit", "sgd_fit"), []).append(sgd.fit(Xtr, ytr).score(Xte, yte))
        auto = VSMLClassifier(learner="quickstart_digits").fit(X, y)
        resolved = getattr(auto, "standardize_", "global (before)")
        row = [name, f"{X.shape[0]}x{X.shape[1]}, {len(np.unique(y))}", resolved]
        row += [f"{np.mean(cells['preq', m]):.3f}" for m in MODES + ("sgd",)]
        row += [f"{np.mean(cells['fit', m]):.3f}" for m in MODES + ("sgd", "sgd_fit")]
        rows.append(row)
        print(" | ".join(row), flush=True)
    head = (["dataset", "n x d, classes", "'auto' is"]
            + [f"prequential {m}" for m in MODES + ("SGD",)]
            + [f"fit/score {m}" for m in MODES + ("SGD 1 pass", "SGD fit")])
    print("\n| " + " | ".join(head) + " |\n|" + " --- |" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:] or list(DATASETS))
