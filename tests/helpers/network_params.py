"""Random per-member meta-parameters and states for the VSML network tests."""

import numpy as np
from keras import ops

from vsml_tf.learners.meta_params import ParamLayout

ATOL = RTOL = 1e-5
S, M = 16, 8


def random_params(network, members, rng, scale=0.5):
    """Distinct random meta-parameters per member: {group: {name: [members, ...]}}."""
    layout = ParamLayout(network)
    theta = rng.normal(size=(members, layout.size)).astype(np.float32) * scale
    return layout.unflatten(ops.convert_to_tensor(theta)), theta, layout


def numpy_params(params, member):
    return {g: {k: np.asarray(v[member], np.float64) for k, v in d.items()}
            for g, d in params.items()}


def random_state(rng, shape):
    return (rng.normal(size=shape) * 0.5, rng.normal(size=shape) * 0.5)
