"""vsml_tf: Variable Shared Meta Learning (Kirsch & Schmidhuber, 2021) in TensorFlow/Keras."""

from vsml_tf import xla_defaults as _xla_defaults

_xla_defaults.apply()
