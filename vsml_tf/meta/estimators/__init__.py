"""Meta-gradient estimators, one per module, registered by `training.algorithm`.

See `base.Estimator` for the protocol; a new estimator is a module here and one line
in `ESTIMATORS` (and its config section and arguments in `vsml_tf.runs.builder`)."""

from vsml_tf.core.registry import Registry
from vsml_tf.meta.estimators.backprop import Backprop
from vsml_tf.meta.estimators.base import Estimator
from vsml_tf.meta.estimators.es import AntitheticES

ESTIMATORS = Registry("training.algorithm", {
    "es": AntitheticES,
    "gradient": Backprop,
})

__all__ = ["ESTIMATORS", "Estimator", "AntitheticES", "Backprop"]
