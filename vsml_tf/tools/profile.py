"""Where a workload's meta-training iteration spends its time, per compiled operation.

    vsml-bench --profile --workloads=grad_digits [--impls=fast] [--repeats=3] [--num_shards=8]

traces a few iterations of a `vsml-bench` workload with the TensorFlow profiler
(`TRACE_FLAG` makes XLA:CPU record one event per executed HLO instruction) and attributes
each event to its instruction in the HLO modules the trace carries: in which loop it ran
(the episode's forward loop, the backward loop of backprop through the episode, or
outside both) and what it is (a matmul of the forward kind, recomputed or not, or a
gradient matmul; an element-wise fusion; a reduction; a push onto a loop's stack, which
the backward loop reads; a copy).

The profiler adds a fixed cost per event, so small operations look larger than they are:
read the groups' shares. XLA reads its flags once, at its first compilation, so the
trace runs in a process of its own that starts with `TRACE_FLAG` in XLA_FLAGS.
"""

from __future__ import annotations

import collections
import glob
import os
import tempfile
import time

TRACE_FLAG = "--xla_cpu_enable_xprof_traceme=true"  # XLA:CPU: an event per instruction

LOOPS = ("forward loop", "backward loop", "outside loops")
CONTAINER = "container"  # a while loop or call: not counted (its body is)


def _dims(shape) -> str:
    if shape.tuple_shapes:
        return "(" + ", ".join(_dims(s) for s in shape.tuple_shapes) + ")"
    return "[" + ",".join(str(d) for d in shape.dimensions) + "]"


def classify_module(module) -> dict:
    """{instruction name: (loop, kind, shape, TF op name)} for an `HloModuleProto`."""
    computations = {c.id: c for c in module.computations}
    loop_of = {}  # computation id -> loop, from the while instruction whose body it is
    for computation in module.computations:
        for inst in computation.instructions:
            if inst.opcode == "while":
                backward = "_grad" in inst.metadata.op_name
                for called in inst.called_computation_ids:
                    loop_of[called] = LOOPS[1] if backward else LOOPS[0]
    out = {}
    for computation in module.computations:
        loop = loop_of.get(computation.id, LOOPS[2])
        for inst in computation.instructions:
            if inst.opcode == "dot":
                attrs = inst.frontend_attributes.map
                gradient = "true" in (attrs.get("grad_x"), attrs.get("grad_y"))
                kind = ("matmul, gradient" if gradient else "matmul, recomputed forward"
                        if loop == LOOPS[1] else "matmul, forward")
            elif inst.opcode == "fusion":
                called = [computations[c] for c in inst.called_computation_ids]
                inner = {i.opcode for c in called for i in c.instructions}
                roots = {i.opcode for c in called for i in c.instructions
                         if i.id == c.root_id}
                kind = ("loop stack push" if "dynamic-update-slice" in roots
                        else "reduction" if "reduce" in inner else "element-wise")
            elif inst.opcode == "copy":
                kind = "copy"
            elif inst.opcode in ("while", "call", "conditional"):
                kind = CONTAINER
            else:
                kind = "other"
            out[inst.name] = (loop, kind, _dims(inst.shape), inst.metadata.op_name)
    return out


def profile_space(space, iterations: int) -> dict:
    """Milliseconds per iteration by (loop, kind) and by operation, from an XSpace."""
    from tensorflow.compiler.xla.service import hlo_pb2

    instructions = {}  # module name -> classify_module(...)
    for plane in space.planes:
        for meta in plane.event_metadata.values():
            for stat in meta.stats:
                if plane.stat_metadata[stat.metadata_id].name == "Hlo Proto":
                    proto = hlo_pb2.HloProto()
                    proto.ParseFromString(stat.bytes_value)
                    instructions[proto.hlo_module.name] = classify_module(proto.hlo_module)
    groups, ops = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = {k: v.name for k, v in plane.stat_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                stats = {names[s.metadata_id]: names.get(s.ref_value, s.str_value)
                         for s in event.stats}
                module = instructions.get(stats.get("hlo_module"))
                if module is None or stats.get("hlo_op") not in module:
                    continue
                loop, kind, shape, op_name = module[stats["hlo_op"]]
                if kind == CONTAINER:
                    continue  # its body's instructions have events of their own
                ms = event.duration_ps / 1e9 / iterations
                groups[(loop, kind)] += ms
                ops[(stats["hlo_op"], loop, kind, shape, op_name)] += ms
    return {"groups": groups, "ops": ops}


def run_profile(trainer, iterations: int) -> dict:
    """Profile of `iterations` of `trainer.step()` (compiled first, untraced)."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    if TRACE_FLAG not in os.environ.get("XLA_FLAGS", ""):
        raise RuntimeError(f"Start the process with {TRACE_FLAG} in XLA_FLAGS "
                           f"(vsml-bench --profile does).")
    trainer.step()  # compiles
    t0 = time.perf_counter()
    for _ in range(iterations):
        trainer.step()
    untraced = (time.perf_counter() - t0) / iterations
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        t0 = time.perf_counter()
        for _ in range(iterations):
            trainer.step()
        traced = (time.perf_counter() - t0) / iterations
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        path, = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
    result = profile_space(space, iterations)
    result.update(seconds_per_iteration=untraced, seconds_per_iteration_traced=traced)
    return result


def to_json(result: dict, top: int) -> dict:
    return {**{k: v for k, v in result.items() if k not in ("groups", "ops")},
            "groups": [[loop, kind, ms] for (loop, kind), ms in result["groups"].items()],
            "ops": [[*key, ms] for key, ms in result["ops"].most_common(top)]}


def from_json(data: dict) -> dict:
    return {**data, "groups": collections.Counter({(l, k): ms for l, k, ms in data["groups"]}),
            "ops": collections.Counter({tuple(op[:-1]): op[-1] for op in data["ops"]})}


def table(result: dict, top: int) -> str:
    total = sum(result["groups"].values())
    lines = [f"{result['workload']}: {result['seconds_per_iteration']:.3f} s/iteration "
             f"({result['seconds_per_iteration_traced']:.3f} traced); operations "
             f"{total:.1f} ms/iteration in all (summed over threads)", "",
             f"{'loop':<14} {'kind':<27} {'ms/it':>8} {'share':>6}"]
    for (loop, kind), ms in sorted(result["groups"].items(), key=lambda kv: -kv[1]):
        lines.append(f"{loop:<14} {kind:<27} {ms:>8.1f} {100 * ms / total:>5.1f}%")
    lines += ["", f"{'operation':<34} {'loop':<14} {'kind':<27} {'ms/it':>7}  shape, TF op"]
    for (name, loop, kind, shape, op_name), ms in result["ops"].most_common(top):
        lines.append(f"{name[:34]:<34} {loop:<14} {kind:<27} {ms:>7.1f}  {shape} "
                     f"{op_name[-60:]}")
    return "\n".join(lines)
