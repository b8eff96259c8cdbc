"""Where meta-training runs: one factory for tf.distribute strategies and Horovod.

    config.distribution.strategy = auto | default | one_device | mirrored | multi_worker
                                   | tpu | horovod

Meta-trainers see only `Replicas` (how many, which one am I, is this the chief, run a
step) and, inside a step, `Collectives` (all-gather, all-reduce) -- so the ES and gradient
steps read the same on one CPU, several GPUs, several hosts, TPUs and Horovod. Only the
meta-gradient (a few thousand floats) and the population's fitnesses cross the wire.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import tensorflow as tf
from absl import logging

from vsml_tf.core.errors import UserError

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu", "horovod")


def configure_cpu_devices(count: int) -> None:
    """Split the CPU into `count` logical devices (tests, laptops). Call before TF runs."""
    if count and count > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])


class Collectives:
    """Cross-replica operations inside one replica's step."""

    def __init__(self, index, count: int, context=None, horovod=None):
        self.index = index        # global replica index (Python int where static)
        self.count = count
        self._context = context
        self._hvd = horovod

    def all_gather(self, x):
        """Concatenate x over replicas along axis 0, in replica order."""
        if self.count == 1:
            return x
        if self._hvd is not None:
            return self._hvd.allgather(x)
        return self._context.all_gather(x, axis=0)

    def all_sum(self, x):
        if self.count == 1:
            return x
        if self._hvd is not None:
            return self._hvd.allreduce(x, op=self._hvd.Sum)
        # tf.identity places a step argument on this replica's device: all_reduce needs one.
        return self._context.all_reduce(tf.distribute.ReduceOp.SUM, tf.identity(x))


class Replicas:
    """The replicas of this run: a tf.distribute strategy or Horovod processes."""

    def __init__(self, strategy: tf.distribute.Strategy | None = None, horovod=None):
        self.strategy = strategy or tf.distribute.get_strategy()
        self.horovod = horovod

    @property
    def count(self) -> int:
        if self.horovod is not None:
            return self.horovod.size()
        return self.strategy.num_replicas_in_sync

    @property
    def is_default(self) -> bool:
        """A single replica in this process, no collectives between processes."""
        return self.horovod is None and self.count == 1 and not isinstance(
            self.strategy, (tf.distribute.MultiWorkerMirroredStrategy,
                            tf.distribute.TPUStrategy))

    @property
    def is_chief(self) -> bool:
        """The one process that logs and writes checkpoints."""
        if self.horovod is not None:
            return self.horovod.rank() == 0
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy) or \
                resolver is None:
            return True
        task_type, task_id = resolver.task_type, resolver.task_id
        has_chief = "chief" in resolver.cluster_spec().as_dict()
        return task_type == "chief" or (not has_chief and task_type in (None, "worker")
                                        and (task_id or 0) == 0)

    def scope(self):
        return self.strategy.scope()

    def run(self, fn, args=()):
        """Run fn(collectives, *args) on every replica; returns replica 0's (identical)
        result -- fn must all-reduce what it returns."""
        if self.horovod is not None:
            return fn(Collectives(self.horovod.rank(), self.count, horovod=self.horovod),
                      *args)

        def replica_fn(*replica_args):
            ctx = tf.distribute.get_replica_context()
            index = tf.get_static_value(ctx.replica_id_in_sync_group)
            index = int(index) if index is not None else ctx.replica_id_in_sync_group
            return fn(Collectives(index, ctx.num_replicas_in_sync, context=ctx),
                      *replica_args)

        result = self.strategy.run(replica_fn, args=args)
        return tf.nest.map_structure(
            lambda v: self.strategy.experimental_local_results(v)[0], result)

    def broadcast_from_chief(self, variables) -> None:
        """Make every process start from the chief's values (Horovod only; tf.distribute
        mirrors variables itself)."""
        if self.horovod is not None:
            for v in variables:
                v.assign(self.horovod.broadcast(v, root_rank=0))


def _tpu_available() -> bool:
    return bool(os.environ.get("TPU_NAME")) or os.path.exists("/dev/accel0") or \
        os.path.exists("/dev/vfio/0")


def _multi_worker_resolver(port_base: int):
    """TF_CONFIG if set, else Slurm's environment (one task per node or per GPU)."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if os.environ.get("SLURM_JOB_ID"):
        if tf.config.list_physical_devices("GPU"):  # tasks share out the node's GPUs
            return tf.distribute.cluster_resolver.SlurmClusterResolver(port_base=port_base)
        # CPU nodes: the resolver allots tasks along GPUs, so give it one slot per task.
        return tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=port_base, gpus_per_node=1024, gpus_per_task=1, auto_set_gpu=False)
    raise UserError("distribution.strategy='multi_worker' needs TF_CONFIG (see "
                    "launchers/local_multiworker.sh) or a Slurm job (launchers/slurm/).")


def _join_cluster(resolver, seconds: float) -> tf.distribute.MultiWorkerMirroredStrategy:
    """MultiWorkerMirroredStrategy, once every worker has joined, or ValueError after
    `seconds`. Joining blocks inside TensorFlow (holding the GIL, deaf to Python signal
    handlers), so the deadline is TensorFlow's own first-barrier timeout, and SIGTERM /
    SIGINT keep their default action meanwhile: they end the process (nothing to save)."""
    from tensorflow.python.distribute import collective_all_reduce_strategy as cars

    extended = cars.CollectiveAllReduceExtended
    previous_timeout = getattr(extended, "_check_health_initial_timeout", None)
    extended._check_health_initial_timeout = int(max(1, round(seconds)))
    previous = {sig: signal.signal(sig, signal.SIG_DFL)
                for sig in (signal.SIGTERM, signal.SIGINT)}
    workers = sum(len(t) for t in resolver.cluster_spec().as_dict().values())
    message = (f"error: multi-worker startup: the {workers} processes of the cluster did "
               f"not all join within {seconds:g} s (distribution.startup_timeout_s); a "
               f"worker probably died or never started: see its log.")
    # TensorFlow's coordination service may wait for the peers before that barrier, with
    # the GIL held and SIGTERM caught: a separate process enforces the deadline.
    # Its own process group, so that ending it also ends its `sleep`, which would otherwise
    # outlive it holding this process's stderr open (a reader of our output would wait).
    watchdog = subprocess.Popen(
        ["sh", "-c", 'sleep "$2"; kill -0 "$1" 2>/dev/null && echo "$3" >&2 && '
         'kill -KILL "$1"', "vsml-startup-deadline", str(os.getpid()),
         str(max(1, round(seconds)) + 5), message],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    except (RuntimeError, tf.errors.DeadlineExceededError) as e:
        raise UserError(f"{message[len('error: '):]} ({' '.join(str(e).split())[:200]})") \
            from None
    finally:
        try:
            os.killpg(watchdog.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        watchdog.wait()
        extended._check_health_initial_timeout = previous_timeout
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def make_replicas(strategy: str = "auto", cpu_devices: int = 0, port_base: int = 8888,
                  startup_timeout_s: float = 300.0, tpu: str = "") -> Replicas:
    """Replicas for a strategy (the arguments are config.distribution's keys)."""
    name = strategy
    configure_cpu_devices(cpu_devices)
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        name = ("tpu" if _tpu_available() else "mirrored" if len(gpus) > 1 or
                cpu_devices > 1 else "one_device" if gpus else "default")
    if name == "default":
        return Replicas()
    if name == "one_device":
        return Replicas(tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0"))
    if name == "mirrored":
        devices = None
        if not gpus and cpu_devices > 1:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return Replicas(tf.distribute.MirroredStrategy(devices=devices))
    if name == "multi_worker":
        resolver = _multi_worker_resolver(port_base)
        strategy = _join_cluster(resolver, startup_timeout_s)
        logging.info("Multi-worker: %s", json.dumps(resolver.cluster_spec().as_dict()))
        return Replicas(strategy)
    if name == "tpu":
        if not tpu and not _tpu_available():
            raise UserError("distribution.strategy='tpu' but this machine has no TPU (no "
                            "TPU_NAME, /dev/accel*, /dev/vfio/*): run on a TPU VM, name a "
                            "remote one with --config.distribution.tpu=NAME, or use "
                            "strategy 'auto'.")
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
            tpu=tpu or "local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return Replicas(tf.distribute.TPUStrategy(resolver))
    if name == "horovod":
        try:
            import horovod.tensorflow as hvd
        except ImportError as e:
            raise UserError(
                "distribution.strategy='horovod' needs Horovod built for this TensorFlow: "
                "launchers/install_horovod.sh builds it (see docs/distributed.md), or use "
                f"'multi_worker'. ({e})") from e
        hvd.init()
        if gpus:
            tf.config.set_visible_devices(gpus[hvd.local_rank()], "GPU")
        return Replicas(horovod=hvd)
    raise UserError(f"Unknown distribution.strategy {name!r}; use auto, default, "
                    f"one_device, mirrored, multi_worker, tpu or horovod.")
