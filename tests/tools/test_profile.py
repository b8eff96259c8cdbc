"""`vsml_tf.tools.profile`: per-operation time of a meta-training iteration, attributed
to the loop it ran in and to what it is."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from vsml_tf.tools import profile


def _optimized_module(fn, *args):
    from tensorflow.compiler.xla.service import hlo_pb2

    proto = hlo_pb2.HloProto()
    proto.ParseFromString(fn.experimental_get_compiler_ir(*args)(
        stage="optimized_hlo_proto_serialized"))
    return proto.hlo_module


def test_classifies_forward_loop_backward_loop_and_gradient_matmuls():
    """Backprop through a tf.while_loop of matmuls: the gradient loop's matmuls w.r.t.
    the weight are gradient matmuls in the backward loop; the loop's own are forward."""
    w0 = tf.constant(np.random.default_rng(0).normal(size=(32, 32)) / 6, tf.float32)
    x0 = tf.ones((64, 32))

    @tf.function(jit_compile=True, autograph=False)
    def loss_and_grad(w, x):
        with tf.GradientTape() as tape:
            tape.watch(w)
            _, h = tf.while_loop(lambda t, h: t < 5,
                                 lambda t, h: (t + 1, tf.tanh(tf.matmul(h, w))), (0, x),
                                 maximum_iterations=5)
            loss = tf.reduce_sum(h)
        return loss, tape.gradient(loss, w)

    ops = profile.classify_module(_optimized_module(loss_and_grad, w0, x0)).values()
    dots = {(loop, kind) for loop, kind, _, _ in ops if kind.startswith("matmul")}
    assert ("forward loop", "matmul, forward") in dots
    assert ("backward loop", "matmul, gradient") in dots
    assert all(loop != "outside loops" for loop, _ in dots)


@pytest.mark.slow
def test_profile_attributes_a_gradient_iteration():
    """`vsml-bench --profile` end to end (the trace runs in its own process: XLA reads
    its flags once): a backprop workload spends time in both loops, gradient matmuls
    included; every traced operation is accounted to one group."""
    out = subprocess.run(
        [sys.executable, "-m", "vsml_tf.tools.bench", "--profile", "--workloads=grad_digits",
         "--impls=fast", "--repeats=1", "--top=100000"],
        capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])
    groups = {(loop, kind): ms for loop, kind, ms in result["groups"]}
    assert groups[("backward loop", "matmul, gradient")] > 0
    assert groups[("forward loop", "matmul, forward")] > 0
    assert groups[("backward loop", "element-wise")] > 0
    assert {loop for loop, _ in groups} <= set(profile.LOOPS)
    assert np.isclose(sum(groups.values()), sum(op[-1] for op in result["ops"]))
    assert result["seconds_per_iteration"] > 0
    assert "backward loop" in out.stdout and "matmul, gradient" in out.stdout  # the table
