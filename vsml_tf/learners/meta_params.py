"""Meta-parameters as one flat vector.

ES perturbs, and optimizers update, one float vector theta (about 2.4k numbers for the
default sub-RNN). `ParamLayout` maps it to and from the network's per-sub-RNN parameters;
a leading member axis turns one vector into a population.
"""

from __future__ import annotations

import numpy as np
from keras import ops


class ParamLayout:
    """Order and shapes of the meta-parameters of a `VSMLNetwork` (or any model whose
    `meta_params()` returns {group: {name: tensor [1, ...]}})."""

    def __init__(self, network):
        self.network = network
        self.entries = [(group, name, tuple(value.shape[1:]))
                        for group, params in network.meta_params().items()
                        for name, value in params.items()]
        self.sizes = [int(np.prod(shape)) for _, _, shape in self.entries]
        self.size = int(sum(self.sizes))

    def names(self) -> list[str]:
        return [f"{group}/{name}" for group, name, _ in self.entries]

    def flatten(self, params: dict):
        """{group: {name: [p, ...]}} -> [p, size]."""
        parts = [ops.reshape(params[g][n], (ops.shape(params[g][n])[0], -1))
                 for g, n, _ in self.entries]
        return ops.concatenate(parts, axis=-1)

    def unflatten(self, theta):
        """[p, size] -> {group: {name: [p, ...]}}."""
        members = ops.shape(theta)[0]
        out, start = {}, 0
        for (group, name, shape), size in zip(self.entries, self.sizes):
            out.setdefault(group, {})[name] = ops.reshape(theta[:, start:start + size],
                                                          (members,) + shape)
            start += size
        return out

    def from_network(self) -> np.ndarray:
        """The network's own weights as a flat float32 vector [size]."""
        if not self.entries:  # a learner without meta-parameters (e.g. online SGD)
            return np.zeros([0], np.float32)
        return np.asarray(ops.convert_to_numpy(self.flatten(self.network.meta_params()))[0])

    def assign_to_network(self, theta) -> None:
        """Write a flat vector [size] into the network's Keras weights."""
        params = self.unflatten(ops.expand_dims(ops.convert_to_tensor(theta), 0))
        for rnn in self.network.sub_rnns:
            for name, value in params[rnn.name].items():
                getattr(rnn, name).assign(value[0])
