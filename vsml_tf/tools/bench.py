"""vsml-bench: meta-training throughput of the package against the straightforward VSML.

    vsml-bench                      # every workload, table + one JSON line each
    vsml-bench --workloads=es_digits,grad_digits --repeats=5
    vsml-bench --workloads=es_digits --rounds=5   # interleaved rounds: speedup and spread
    vsml-bench --workloads=es_deep4,es_deep --num_shards=8   # members in shards, as in training
    vsml-bench --profile --workloads=grad_digits --impls=fast   # time per operation

Each (workload, implementation) runs in a fresh subprocess, so that compile caches and
peak memory do not leak between them. Unit: connection-ticks/s -- one sub-RNN update of
one connection (an episode of T steps on an A->B dense layer with 2 micro ticks is
A*B*T*2 connection-ticks per member). The speedup column compares `fast` (vsml_tf.learners.layers)
with `reference` (vsml_tf.learners.reference) measured in the same run.

`--episode_only` times just the population's episodes (`VSMLNetwork.unroll`, what ES and
meta-test spend their time in) on whatever Keras backend is set, without TensorFlow: the
way to measure the learner on a GPU or TPU machine that has only JAX:

    KERAS_BACKEND=jax vsml-bench --episode_only --workloads=es_digits,es_mnist
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

_WORKLOADS = flags.DEFINE_list("workloads", None, "Workloads to run (default: all).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed repeats per workload (median).")
_ROUNDS = flags.DEFINE_integer("rounds", 1, "Fresh-process rounds per workload, the "
                               "implementations interleaved (fast, reference, fast, ...); "
                               "the speedup is the median of the per-round ratios.")
_IMPLS = flags.DEFINE_list("impls", ["fast", "reference"], "Implementations to compare.")
_CHILD = flags.DEFINE_string("child", None, "Internal: run one 'workload:impl' and print "
                             "its JSON.")
_EPISODE_ONLY = flags.DEFINE_bool("episode_only", False, "Time only the ES workloads' "
                                  "episodes (network.unroll) on the current Keras backend.")
_SHARDS = flags.DEFINE_integer("num_shards", 1, "Shards the members are cut into, as "
                                "training.num_shards (meta-training's default is ~8).")
_PROFILE = flags.DEFINE_bool("profile", False, "Instead of timing, profile each of "
                              "--impls: time per compiled operation, grouped by loop and "
                              "kind (vsml_tf/tools/profile.py); --repeats iterations are "
                              "traced.")
_TOP = flags.DEFINE_integer("top", 15, "With --profile: operations listed one by one.")
_DTYPE = flags.DEFINE_string("dtype", "float32", "Compute dtype of the fast implementation "
                             "(float32 or bfloat16).")


@dataclasses.dataclass(frozen=True)
class Workload:
    kind: str                 # 'es' or 'gradient'
    layers: str
    input_shape: tuple
    members: int              # ES pairs, or the meta-batch
    steps: int
    backward_pass: bool = False
    remat: bool = False
    note: str = ""


WORKLOADS = {
    "es_digits": Workload("es", "dense", (8, 8, 1), 32, 100, note="64->10, 32 pairs, T=100"),
    "es_mnist": Workload("es", "dense", (28, 28, 1), 8, 50, note="784->10, 8 pairs, T=50"),
    "es_deep": Workload("es", "dense32,dense", (28, 28, 1), 8, 50, backward_pass=True,
                        note="784->32->10 + backward pass, 8 pairs, T=50"),
    # es_deep with a 4-unit hidden layer: the same sweeps on a state 8x smaller, which
    # shows how much of es_deep's time is its state's size (docs/performance.md).
    "es_deep4": Workload("es", "dense4,dense", (28, 28, 1), 8, 50, backward_pass=True,
                         note="784->4->10 + backward pass, 8 pairs, T=50"),
    "es_conv": Workload("es", "conv8s2,dense", (28, 28, 1), 4, 20,
                        note="conv 3x3/2 x8 -> dense, 4 pairs, T=20"),
    "grad_digits": Workload("gradient", "dense", (8, 8, 1), 16, 100, remat=True,
                            note="backprop+remat (as configs/gradient.py), 64->10, "
                                 "meta-batch 16, T=100"),
    "grad_mnist_500": Workload("gradient", "dense", (28, 28, 1), 8, 500, remat=True,
                               note="memory check: backprop+remat, 784->10, meta-batch 8, "
                                    "T=500 (fast only, 1 repeat)"),
    "es_paper": Workload("es", "dense", (28, 28, 1), 1024, 500,
                         note="the paper's ES iteration: 784->10, 1024 pairs, T=500 "
                              "(accelerators; run only when named)"),
}
MEMORY_ONLY = {"grad_mnist_500"}
NAMED_ONLY = {"es_paper"}  # too large for a default run on a laptop CPU
NUM_CLASSES = 10


def connection_ticks(network, workload: Workload) -> int:
    """Sub-RNN connection updates in one meta-training iteration (forward only)."""
    flat = (int(np.prod(workload.input_shape)),)
    shapes = network.shapes(workload.input_shape if "conv" in workload.layers else flat,
                            NUM_CLASSES)
    per_step = 0
    for layer, (in_shape, out_shape) in zip(network.vsml_layers, shapes):
        conns = int(np.prod(layer.connection_shape(in_shape, NUM_CLASSES)))
        if len(out_shape) == 3:  # conv: every output position updates every connection
            conns *= out_shape[0] * out_shape[1]
        per_step += conns
    sweeps = 2 if workload.backward_pass else 1
    members = 2 * workload.members if workload.kind == "es" else workload.members
    return members * per_step * workload.steps * network.num_micro_ticks * sweeps


def compile_fn(fn):
    """fn compiled with XLA on the current Keras backend (jax.jit / tf.function)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf
        return tf.function(fn, jit_compile=True)
    return fn


def matmul_gflops(size: int = 1024) -> float:
    """float32 matmul rate of this process (XLA, size^2), the machine's practical peak."""
    from keras import ops

    a = ops.convert_to_tensor(np.random.default_rng(0).normal(size=(size, size)),
                              "float32")
    f = compile_fn(lambda x: ops.sum(ops.matmul(x, x)))  # a scalar: no transfer timed
    np.asarray(f(a))
    reps, t0 = 20, time.perf_counter()
    for _ in range(reps):
        np.asarray(f(a))
    return 2 * size ** 3 * reps / (time.perf_counter() - t0) / 1e9


def run_episode_child(name: str, impl: str, repeats: int, dtype: str) -> dict:
    """Seconds for one ES iteration's episodes (2 x pairs members, own parameters each)."""
    from keras import ops

    from vsml_tf.learners import reference
    from vsml_tf.learners.meta_params import ParamLayout
    from vsml_tf.learners.network import VSMLNetwork

    workload = WORKLOADS[name]
    if workload.kind != "es":
        raise app.UsageError(f"--episode_only times ES workloads; {name} is not one.")
    network = VSMLNetwork(layers=workload.layers, backward_pass=workload.backward_pass,
                          compute_dtype=dtype if impl == "fast" else "float32")
    if impl == "reference":
        network.vsml_layers = reference.reference_layers(network)
    rng = np.random.default_rng(0)
    members, layout = 2 * workload.members, ParamLayout(network)
    shape = workload.input_shape if "conv" in workload.layers else (
        int(np.prod(workload.input_shape)),)
    f32 = lambda x: ops.convert_to_tensor(np.asarray(x, np.float32))
    theta = f32(layout.from_network()[None] + 0.05 * rng.normal(size=(members, layout.size)))
    xs = f32(rng.normal(size=(workload.steps, members, 1) + shape))
    ys = f32(np.eye(NUM_CLASSES)[rng.integers(0, NUM_CLASSES, (workload.steps, members, 1))])
    state = network.initial_state(lambda s: f32(rng.normal(size=(members,) + tuple(s))),
                                  shape, NUM_CLASSES, 1)
    episode = compile_fn(lambda t, x, y, s: network.unroll(layout.unflatten(t), x, y, s))
    t0 = time.perf_counter()
    np.asarray(episode(theta, xs, ys, state))
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.asarray(episode(theta, xs, ys, state))
        times.append(time.perf_counter() - t0)
    return dict(_figures(network, workload, times, compile_s,
                         matmul_size=4096 if _on_accelerator() else 1024),
                workload=name, impl=impl, dtype=dtype, episode_only=True,
                backend=_backend_device())


def _backend_device() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        return f"jax:{jax.devices()[0].device_kind}"
    return backend


def _on_accelerator() -> bool:
    import keras

    if keras.backend.backend() == "jax":
        import jax
        return jax.devices()[0].platform != "cpu"
    return False


def make_trainer(name: str, impl: str, dtype: str, num_shards: int = 1):
    """The `MetaTrainer` of workload `name` ('fast' or 'reference' layers), its network
    and the workload."""
    import keras

    from vsml_tf import datasets
    from vsml_tf.datasets.base import ArrayDataset
    from vsml_tf.datasets.episodes import EpisodeSampler
    from vsml_tf.learners import reference
    from vsml_tf.learners.network import VSMLNetwork
    from vsml_tf.meta.estimators import AntitheticES, Backprop
    from vsml_tf.meta.runner import EpisodeRunner
    from vsml_tf.meta.trainer import MetaTrainer

    workload = WORKLOADS[name]
    keras.utils.set_random_seed(0)
    if workload.input_shape == (8, 8, 1):
        data = datasets.load("digits", "train")
    else:
        rng = np.random.default_rng(0)
        data = ArrayDataset("random", rng.integers(0, 256, (2000,) + workload.input_shape,
                                                   dtype=np.uint8),
                            rng.integers(0, NUM_CLASSES, 2000), NUM_CLASSES, mean=0.5,
                            std=0.3)
    network = VSMLNetwork(layers=workload.layers, backward_pass=workload.backward_pass,
                          compute_dtype=dtype if impl == "fast" else "float32")
    if impl == "reference":
        network.vsml_layers = reference.reference_layers(network)
    sampler = EpisodeSampler(data, workload.steps, flatten="conv" not in workload.layers)
    runner = EpisodeRunner(network, remat=workload.remat)
    if workload.kind == "es":
        estimator, learning_rate = AntitheticES(runner, workload.members, sigma=0.05), 0.025
    else:
        estimator, learning_rate = Backprop(runner, workload.members), 1e-3
    trainer = MetaTrainer(estimator, [sampler] * num_shards, runner.layout.from_network(),
                          learning_rate=learning_rate, seed=0)
    return trainer, network, workload


def run_child(name: str, impl: str, repeats: int, dtype: str) -> dict:
    trainer, network, workload = make_trainer(name, impl, dtype, _SHARDS.value)
    t0 = time.perf_counter()
    trainer.step()
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        trainer.step()
        times.append(time.perf_counter() - t0)
    return dict(_figures(network, workload, times, compile_s), workload=name, impl=impl,
                dtype=dtype)


def profile_child(name: str, impl: str, repeats: int, dtype: str) -> dict:
    from vsml_tf.tools import profile

    trainer, _, _ = make_trainer(name, impl, dtype, _SHARDS.value)
    return dict(profile.to_json(profile.run_profile(trainer, repeats), _TOP.value),
                workload=f"{name} ({impl}, {_SHARDS.value} shard(s))")


def _figures(network, workload: Workload, times: list, compile_s: float,
             matmul_size: int = 1024) -> dict:
    """The printed figures of one run: median time, rates, memory, fraction of peak."""
    import resource

    seconds = statistics.median(times)
    ticks = connection_ticks(network, workload)
    peak = matmul_gflops(matmul_size)
    # FLOPs of the straightforward gate matmul, 2 * (2M + S) * 4S per connection-tick.
    gate_flops = 2 * (2 * network.msg_size + network.state_size) * 4 * network.state_size
    return dict(seconds_per_iteration=seconds, compile_seconds=compile_s,
                connection_ticks_per_s=ticks / seconds,
                peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                matmul_gflops=peak,
                fraction_of_matmul_peak=ticks / seconds * gate_flops / 1e9 / peak,
                repeats=len(times), note=workload.note)


# A speedup whose per-round ratios spread more than this (max - min, relative to their
# median) is reported as inconclusive: the machine's noise is larger than the effect.
MAX_SPREAD = 0.25


def run_one(name: str, impl: str, repeats: int, dtype: str) -> dict | None:
    cmd = [sys.executable, "-m", "vsml_tf.tools.bench", f"--child={name}:{impl}",
           f"--repeats={1 if name in MEMORY_ONLY else repeats}", f"--dtype={dtype}",
           f"--episode_only={_EPISODE_ONLY.value}", f"--num_shards={_SHARDS.value}",
           f"--profile={_PROFILE.value}", f"--top={_TOP.value}"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if _PROFILE.value:
        from vsml_tf.tools.profile import TRACE_FLAG
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {TRACE_FLAG}".strip()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        print(f"{name}:{impl} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    result = json.loads(lines[-1])
    print(json.dumps(result), flush=True)
    return result


def speedups(fast: list, reference: list) -> dict:
    """Median and range of the per-round ratios reference / fast (same round = same
    machine load), and whether their spread allows a conclusion."""
    ratios = [r["seconds_per_iteration"] / f["seconds_per_iteration"]
              for f, r in zip(fast, reference)]
    median = statistics.median(ratios)
    spread = (max(ratios) - min(ratios)) / median
    return dict(speedup=median, speedup_min=min(ratios), speedup_max=max(ratios),
                speedup_rounds=len(ratios), conclusive=spread <= MAX_SPREAD)


def run_parent(names, impls, repeats, dtype, rounds: int = 1) -> list[dict]:
    """Per workload and implementation, the round with the median time; the fast
    implementation's row also carries the speedup over the reference's rounds."""
    results = []
    for name in names:
        runs = {impl: [] for impl in impls if impl == "fast" or name not in MEMORY_ONLY}
        for _ in range(rounds):
            for impl in runs:  # interleaved, so both see the same stretch of noise
                result = run_one(name, impl, repeats, dtype)
                if result is not None:
                    runs[impl].append(result)
        for impl, done in runs.items():
            if not done:
                continue
            row = dict(sorted(done, key=lambda r: r["seconds_per_iteration"])[len(done) // 2])
            if impl != "reference" and len(runs.get("reference", [])) == len(done):
                row.update(speedups(done, runs["reference"]))
            results.append(row)
    return results


def table(results: list[dict]) -> str:
    lines = [f"{'workload':<15} {'impl':<10} {'s/iter':>8} {'Mconn-ticks/s':>14} "
             f"{'%peak':>6} {'RSS MiB':>8} {'speedup':>8}  rounds (range)"]
    for r in results:
        speedup, rounds = "", ""
        if "speedup" in r:
            speedup = f"{r['speedup']:.2f}x"
            if r["speedup_rounds"] > 1:
                rounds = (f"{r['speedup_rounds']} ({r['speedup_min']:.2f}-"
                          f"{r['speedup_max']:.2f})"
                          + ("" if r["conclusive"] else " spread too large to conclude"))
        lines.append(f"{r['workload']:<15} {r['impl']:<10} {r['seconds_per_iteration']:>8.3f} "
                     f"{r['connection_ticks_per_s'] / 1e6:>14.1f} "
                     f"{100 * r['fraction_of_matmul_peak']:>5.1f}% "
                     f"{r['peak_rss_mib']:>8.0f} {speedup:>8}  {rounds}")
    return "\n".join(lines)


def main(argv):
    del argv
    if _CHILD.value:
        name, impl = _CHILD.value.split(":")
        if _PROFILE.value:
            print(json.dumps(profile_child(name, impl, _REPEATS.value, _DTYPE.value)))
            return
        child = run_episode_child if _EPISODE_ONLY.value else run_child
        print(json.dumps(child(name, impl, _REPEATS.value, _DTYPE.value)))
        return
    names = _WORKLOADS.value or [n for n, w in WORKLOADS.items() if n not in NAMED_ONLY
                                 and (w.kind == "es" or not _EPISODE_ONLY.value)]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise app.UsageError(f"Unknown workloads {unknown}; choose from {list(WORKLOADS)}.")
    if _PROFILE.value:
        from vsml_tf.tools import profile
        for name in names:
            for impl in _IMPLS.value:
                result = run_one(name, impl, _REPEATS.value, _DTYPE.value)
                if result is not None:
                    print()
                    print(profile.table(profile.from_json(result), _TOP.value))
        return
    results = run_parent(names, _IMPLS.value, _REPEATS.value, _DTYPE.value,
                         _ROUNDS.value)
    print()
    print(table(results))


def run():
    app.run(main)


if __name__ == "__main__":
    run()
