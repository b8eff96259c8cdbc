"""vsml_tf: Variable Shared Meta Learning (Kirsch & Schmidhuber, 2021) in TensorFlow/Keras.

The Python API (docs/reference/api/public.md):

    learner = vsml_tf.load_learner("quickstart_digits")   # a shipped learner or a workdir
    learner.meta_test("digits")                           # Curves: accuracy per step
    learner.run_episode(X, y)                             # one episode on your arrays
    learner.classifier()                                  # a VSMLClassifier
    learner.keras_model()                                 # the network, theta assigned
"""

from vsml_tf._version import __version__
from vsml_tf.core import xla_defaults as _xla_defaults

_xla_defaults.apply()

__all__ = ["Curves", "Learner", "VSMLClassifier", "__version__", "load_learner"]


def __getattr__(name):
    # `from vsml_tf import VSMLClassifier` (or load_learner, Learner, Curves) imports
    # scikit-learn and TensorFlow only then: `import vsml_tf` stays cheap.
    if name == "VSMLClassifier":
        from vsml_tf.apps.classifier import VSMLClassifier
        return VSMLClassifier
    if name in ("load_learner", "Learner", "Curves"):
        from vsml_tf.apps import learner
        return getattr(learner, name)
    raise AttributeError(f"module 'vsml_tf' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
