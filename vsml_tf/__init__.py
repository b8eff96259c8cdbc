"""vsml_tf: Variable Shared Meta Learning (Kirsch & Schmidhuber, 2021) in TensorFlow/Keras."""

from vsml_tf._version import __version__
from vsml_tf.core import xla_defaults as _xla_defaults

_xla_defaults.apply()

__all__ = ["VSMLClassifier", "__version__"]


def __getattr__(name):
    # `from vsml_tf import VSMLClassifier` imports scikit-learn and TensorFlow only then.
    if name == "VSMLClassifier":
        from vsml_tf.apps.classifier import VSMLClassifier
        return VSMLClassifier
    raise AttributeError(f"module 'vsml_tf' has no attribute {name!r}")
