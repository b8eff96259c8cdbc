"""The conv layer of the authors' released code (louiskirsch/vsml-neurips2021,
vsml_layers.py: `conv`, `conv1d`, `conv2d`), ported line by line to NumPy: a 2D conv is a
conv over rows whose base function is a conv over columns of the dense rule, and the
backward message of each axis is gathered with the authors' index arithmetic (offset -1,
mask `idx0 < width // stride`). Shares no code with the package.
"""

import numpy as np
import numpy_reference as ref


def conv1d_backward(bwd_msg, width, stride):
    """The authors' `conv` backward for one axis. bwd_msg [width_out, k, ...] (window,
    kernel index) -> [width, ...]: the mean over k of the masked gathered messages."""
    kwidth = bwd_msg.shape[1]
    idx0 = np.arange(width)[:, None] + np.arange(kwidth)[None] - 1
    idx1 = np.broadcast_to(np.flip(np.arange(kwidth)[None, :]), (width, kwidth))
    msg = bwd_msg[(np.clip(idx0, 0, width - 1) // stride, idx1)]
    mask = np.logical_and(np.logical_and(idx0 >= 0, idx0 < width // stride),
                          idx0 % stride == 0).astype(np.int32)
    mask = mask.reshape(mask.shape + (1,) * (msg.ndim - 2))
    return np.mean(msg * mask, axis=1)


def conv2d_backward(per_element, height, width, stride):
    """per_element [H', W', k, k, Ci, M] (row window, column window, kernel row, kernel
    column) -> [H, W, Ci, M]: columns inside each (row window, kernel row), then rows."""
    Ho, Wo, k = per_element.shape[:3]
    rows = np.stack([np.stack([conv1d_backward(per_element[jr, :, tr], width, stride)
                               for tr in range(k)]) for jr in range(Ho)])  # [Ho, k, W, ..]
    return conv1d_backward(rows, height, stride)


def conv_tick(p, h, c, fwd, bwd, k, stride, ticks, layer_norm=False):
    """The authors' conv tick: as numpy_reference.conv_tick, but the backward messages
    go through `conv2d_backward`. Shapes as there."""
    H, W, Ci, M = fwd.shape
    Ho, Wo, Co, _ = bwd.shape
    h, c, per_pos = ref.conv_states(p, h, c, fwd, bwd, k, stride, ticks)
    per_element = np.zeros((Ho, Wo, k, k, Ci, M))
    for (i, j), (hp, _) in per_pos.items():
        for di in range(k):
            for dj in range(k):
                for ci in range(Ci):
                    per_element[i, j, di, dj, ci] = np.mean(
                        [ref.out_msg(p, hp[di * k + dj, ci, co], "bwd", layer_norm)
                         for co in range(Co)], axis=0)
    return h, c, conv2d_backward(per_element, H, W, stride)
