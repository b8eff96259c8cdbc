"""The VSML layers' ticks and conv windows against the naive NumPy reference and the
authors' conv."""

import numpy as np
import numpy_reference as ref
import pytest
from keras import ops
from network_params import ATOL, RTOL, M, S, numpy_params, random_params, random_state

from vsml_tf.learners.layers import VSMLConv2D, VSMLDense, conv_window_indices
from vsml_tf.learners.network import VSMLNetwork


@pytest.mark.parametrize("layer_norm", [False, True])
def test_dense_tick_matches_reference(layer_norm):
    rng = np.random.default_rng(0)
    net = VSMLNetwork(layer_norm=layer_norm)
    params, _, _ = random_params(net, 2, rng)
    A, B, n = 5, 3, 2
    h, c = random_state(rng, (2, n, A, B, S))
    fwd = rng.normal(size=(2, n, A, M))
    bwd = rng.normal(size=(2, n, B, M))
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    (h2, c2), fwd_out, bwd_out = VSMLDense().tick(
        params["sub_rnn"], (f32(h), f32(c)), f32(fwd), f32(bwd), 2, layer_norm)
    for p in range(2):
        for e in range(n):
            rh, rc, rf, rb = ref.dense_tick(numpy_params(params, p)["sub_rnn"], h[p, e],
                                            c[p, e], fwd[p, e], bwd[p, e], 2, layer_norm)
            np.testing.assert_allclose(np.asarray(h2)[p, e], rh, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(np.asarray(c2)[p, e], rc, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(np.asarray(fwd_out)[p, e], rf, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(np.asarray(bwd_out)[p, e], rb, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("size,stride,kernel,layer_norm",
                         [((5, 5), 2, 3, False), ((4, 3), 1, 3, False), ((6, 5), 2, 3, True),
                          ((5, 4), 3, 5, False)])
def test_conv_tick_matches_reference(size, stride, kernel, layer_norm):
    rng = np.random.default_rng(1)
    net = VSMLNetwork(layer_norm=layer_norm)
    params, _, _ = random_params(net, 2, rng)
    (H, W), Ci, Co, n = size, 2, 3, 1
    Ho, Wo = -(-H // stride), -(-W // stride)
    h, c = random_state(rng, (2, n, kernel * kernel, Ci, Co, S))
    fwd = rng.normal(size=(2, n, H, W, Ci, M))
    bwd = rng.normal(size=(2, n, Ho, Wo, Co, M))
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    layer = VSMLConv2D(Co, kernel, stride)
    assert layer.output_shape_for((H, W, Ci), 10) == (Ho, Wo, Co)
    (h2, c2), fwd_out, bwd_out = layer.tick(params["sub_rnn"], (f32(h), f32(c)), f32(fwd),
                                            f32(bwd), 2, layer_norm)
    for p in range(2):
        rh, rc, rf, rb = ref.conv_tick(numpy_params(params, p)["sub_rnn"], h[p, 0], c[p, 0],
                                       fwd[p, 0], bwd[p, 0], kernel, stride, 2, layer_norm)
        np.testing.assert_allclose(np.asarray(h2)[p, 0], rh, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(np.asarray(c2)[p, 0], rc, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(np.asarray(fwd_out)[p, 0], rf, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(np.asarray(bwd_out)[p, 0], rb, rtol=RTOL, atol=ATOL)


def test_conv_windows_are_centered():
    index = conv_window_indices(4, 4, 3, 2)
    assert index.shape == (4, 9)
    # Output (0, 0) is centered on input (0, 0): its top-left neighbours are padding (16).
    assert list(index[0]) == [16, 16, 16, 16, 0, 1, 16, 4, 5]
    # Output (1, 1) is centered on input (2, 2).
    assert list(index[3]) == [5, 6, 7, 9, 10, 11, 13, 14, 15]


@pytest.mark.parametrize("size,stride,kernel", [((5, 5), 2, 3), ((8, 6), 2, 3),
                                                ((6, 7), 3, 3), ((5, 4), 1, 5),
                                                ((7, 6), 2, 5), ((4, 4), 1, 3)])
def test_authors_compat_conv_matches_the_authors_scatter(size, stride, kernel):
    """model.authors_compat (D2, D3): the conv backward message of the authors' code."""
    import numpy_authors_conv as authors

    rng = np.random.default_rng(2)
    net = VSMLNetwork()
    params, _, _ = random_params(net, 1, rng)
    (H, W), Ci, Co = size, 2, 3
    Ho, Wo = -(-H // stride), -(-W // stride)
    h, c = random_state(rng, (1, 1, kernel * kernel, Ci, Co, S))
    fwd = rng.normal(size=(1, 1, H, W, Ci, M))
    bwd = rng.normal(size=(1, 1, Ho, Wo, Co, M))
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    args = (params["sub_rnn"], (f32(h), f32(c)), f32(fwd), f32(bwd), 2)
    (h2, c2), fwd_out, bwd_out = VSMLConv2D(Co, kernel, stride, authors_compat=True).tick(*args)
    rh, rc, rb = authors.conv_tick(numpy_params(params, 0)["sub_rnn"], h[0, 0], c[0, 0],
                                   fwd[0, 0], bwd[0, 0], kernel, stride, 2)
    np.testing.assert_allclose(np.asarray(h2)[0, 0], rh, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(c2)[0, 0], rc, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(bwd_out)[0, 0], rb, rtol=RTOL, atol=ATOL)
    # Forward messages and states do not depend on the switch; the backward message does
    # exactly where the authors' index arithmetic differs (stride > 1 or k != 3).
    (h3, _), fwd_default, bwd_default = VSMLConv2D(Co, kernel, stride).tick(*args)
    np.testing.assert_array_equal(np.asarray(h3), np.asarray(h2))
    np.testing.assert_array_equal(np.asarray(fwd_default), np.asarray(fwd_out))
    differs = np.abs(np.asarray(bwd_default) - np.asarray(bwd_out)).max() > 1e-3
    assert differs == (stride > 1 or kernel != 3)


def test_authors_compat_conv_scatter_omits_windows_past_floor_size_over_stride():
    """D2 on its own: 8x8, stride 2 -- windows centred at 4 or 6 on either axis reach no
    input."""
    from vsml_tf.learners.layers import conv_backward_scatter

    scatter = conv_backward_scatter(8, 8, 3, 2, authors_compat=True).reshape(4, 4, 9, 64)
    reached = scatter.sum(axis=(2, 3)) > 0  # per output window (row, column)
    np.testing.assert_array_equal(reached, np.outer([1, 1, 0, 0], [1, 1, 0, 0]) > 0)
    default = conv_backward_scatter(8, 8, 3, 2).reshape(4, 4, 9, 64)
    assert (default.sum(axis=(2, 3)) > 0).all()


def test_authors_compat_conv_initial_state_std_is_one_over_sqrt_k():
    """D4: the authors scale the conv state (k, k, Ci, Co) by 1/sqrt(k)."""
    ones = lambda shape: ops.ones((1,) + tuple(shape))
    for compat, std in ((False, 1 / np.sqrt(25 * 2)), (True, 1 / np.sqrt(5))):
        net = VSMLNetwork(layers="conv3k5s2,dense", authors_compat=compat)
        (_, c), _ = net.initial_state(ones, (6, 6, 2), 4, 1)
        np.testing.assert_allclose(np.asarray(c)[..., :S // 2], std, rtol=1e-6)
        np.testing.assert_array_equal(np.asarray(c)[..., S // 2:], 0.0)
