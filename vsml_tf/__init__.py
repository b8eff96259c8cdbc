"""vsml_tf: Variable Shared Meta Learning (Kirsch & Schmidhuber, 2021) in TensorFlow/Keras."""

# The one version source: pyproject.toml reads it ([tool.setuptools.dynamic]), and so does
# shipped-learner metadata (vsml_tf.runs.pretrained.export).
__version__ = "0.2.0"

from vsml_tf.core import xla_defaults as _xla_defaults

_xla_defaults.apply()


def __getattr__(name):
    # `from vsml_tf import VSMLClassifier` imports scikit-learn and TensorFlow only then.
    if name == "VSMLClassifier":
        from vsml_tf.apps.classifier import VSMLClassifier
        return VSMLClassifier
    raise AttributeError(f"module 'vsml_tf' has no attribute {name!r}")
