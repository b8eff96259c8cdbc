"""Validation streams for choosing between checkpoints without meta-test data.

Two 10,000-step streams (8 episodes, seed 0, window means over 1,000 steps), both from
MNIST's *train* split (images 50,000-59,999; meta-test uses the test split):
  mnist    the 10,000 images at native size (28x28), each seen about once;
  renders  400 of them rendered like UCI digits (cropped to the square around the ink,
           binarized, 8x8 block averages), seen 25 times: the stream that slides.
And two short-horizon streams (`--streams=sum,tabular`; 32 episodes of 100 steps, seed 0;
printed: accuracy over steps 0-19 and 0-99):
  sum      the `sum` task's *train* pool (meta-test uses its test pool);
  tabular  make_classification tasks like classifier_bench's stream but with
           random_state 1-4 (classifier_bench uses 0), 30 features, 5 classes.

    python experiments/long_horizon/validate.py --data_dir=DIR LEARNER [LEARNER ...]

LEARNER is a shipped learner's name or a workdir. Prints one row per learner and stream
with the ten window means and the largest drop between consecutive windows.
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from vsml_tf.apps.learner import load_learner  # noqa: E402
from vsml_tf.datasets.official_files import mnist_format  # noqa: E402


def crop_to_ink(image):
    """The square around the pixels above 0.5, the ink centered in it."""
    rows, cols = np.where(image.max(1) > 0.5)[0], np.where(image.max(0) > 0.5)[0]
    ink = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    side = max(h, w)
    out = np.zeros((side, side), np.float32)
    out[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = ink
    return out


def render(image):
    big = tf.image.resize(crop_to_ink(image)[..., None], (32, 32), "bilinear").numpy()
    return tf.image.resize((big > 0.5).astype(np.float32), (8, 8), "area").numpy().ravel()


def streams(data_dir):
    images, labels = mnist_format("mnist", os.path.join(data_dir, "mnist"), "train")
    images = images[50_000:, ..., 0].astype(np.float32) / 255
    labels = labels[50_000:]
    pool = np.random.default_rng(1).permutation(len(images))[:400]
    return {"mnist": (images.reshape(len(images), -1), labels),
            "renders": (np.stack([render(im) for im in images[pool]]), labels[pool])}


def short_streams():
    from sklearn.datasets import make_classification

    from vsml_tf.datasets.synthetic import sum_sign

    train = sum_sign("train")
    tables = [make_classification(n_samples=500, n_features=30, n_informative=15,
                                  n_redundant=5, n_classes=5, n_clusters_per_class=1,
                                  random_state=seed) for seed in range(1, 5)]
    return {"sum": [(train.images.reshape(len(train.images), -1), train.labels)],
            "tabular": [(X.astype(np.float32), y) for X, y in tables]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("learners", nargs="+")
    parser.add_argument("--data_dir", default="../shared/data")
    parser.add_argument("--streams", default="mnist,renders")
    args = parser.parse_args()
    wanted = args.streams.split(",")
    short = {"sum", "tabular"}
    data = streams(args.data_dir) if set(wanted) - short else {}
    data.update(short_streams() if short & set(wanted) else {})
    for name in args.learners:
        learner = load_learner(name)
        for stream in wanted:
            if stream in short:
                curve = np.mean([learner.meta_test(d, episodes=32 // len(data[stream]),
                                                   steps=100, seed=0).curve
                                 for d in data[stream]], axis=0)
                print(f"{name} {stream:8s} 0-19 {curve[:20].mean():.3f} "
                      f"0-99 {curve.mean():.3f}", flush=True)
                continue
            curve = learner.meta_test(data[stream], episodes=8, steps=10_000, seed=0).curve
            windows = curve.reshape(10, 1000).mean(1)
            drop = max(0.0, float(np.max(windows[:-1] - windows[1:])))
            print(f"{name} {stream:8s}", " ".join(f"{w:.3f}" for w in windows),
                  f"largest drop {drop:.3f}", flush=True)


if __name__ == "__main__":
    main()
