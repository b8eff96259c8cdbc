"""vsml-train with training.algorithm='clone': learning-algorithm cloning of online SGD.

Clones config.clone's online SGD into the sub-RNNs (`vsml_tf.meta.cloning`), saves the
meta-parameters as a checkpoint, then meta-tests the clone next to the SGD it cloned.
"""

from __future__ import annotations

import os
import time

import tensorflow as tf

from vsml_tf.apps.interrupts import Interrupted, StopRequest
from vsml_tf.core.errors import UserError
from vsml_tf.meta import cloning
from vsml_tf.runs import builder, checkpoints, curves, loading
from vsml_tf.runs import workdir as workdir_lib
from vsml_tf.runs.config import split_list


def run(config, workdir: str) -> dict | None:
    """Clone (unless training.init_from gives a clone to start from and clone.iterations
    is 0), write a checkpoint of the meta-parameters, then meta-test the clone and its
    SGD on the same episodes into workdir/eval. A first SIGTERM / SIGINT while cloning
    saves the cloning state and returns None (a rerun resumes it); during the meta-test
    it returns at once (the clone is saved: vsml-evaluate meta-tests it)."""
    if config.data.batch_size != 1:
        raise UserError("Cloned online SGD takes one example per step: data.batch_size=1.")
    workdir_lib.check(config, workdir, allow_config_change=False)
    workdir_lib.claim(config, workdir)
    network, _ = builder.build_learner(config)
    layout = builder.runner(config, network).layout
    cloning.check_network(network)
    # What a checkpoint holds (meta-parameters, iteration, seed), as a meta-trainer's.
    theta = tf.Variable(layout.from_network(), name="meta_params")
    items = {"meta_params": theta, "iteration": tf.Variable(0, dtype=tf.int64),
             "seed": tf.Variable(config.seed, dtype=tf.int64)}
    if config.training.init_from:
        loading.init_from(theta, config.training.init_from)
        layout.assign_to_network(theta)
    started = time.time()
    rows, done, stopped = [], 0, False
    if config.clone.iterations:
        with StopRequest("this cloning step") as stop:
            rows, done, stopped = builder.clone(config, network, workdir=workdir,
                                                should_stop=lambda: stop.requested)
    clone_seconds = time.time() - started
    log_path = os.path.join(workdir, "clone_loss.csv")
    new = not os.path.exists(log_path)
    with open(log_path, "a") as f:  # a resumed cloning appends its rows
        if new:
            f.write("iteration,message_loss,state_loss,seconds\n")
        f.writelines(f"{i},{m:.6g},{s:.6g},{t:.1f}\n" for i, m, s, t in rows)
    if stopped:
        print(f"Cloning stopped at iteration {done}, saved in {workdir}: re-run the same "
              f"command to resume.", flush=True)
        return None
    theta.assign(layout.from_network())
    cloning.save_params(os.path.join(workdir, "clone_params.npz"), network)
    items["iteration"].assign(done)
    checkpoints.manager(items, workdir).save(
        checkpoint_number=int(items["iteration"].numpy()))

    with StopRequest("the meta-test", raise_at_once=True):
        try:
            return meta_test(config, workdir, network, theta, clone_seconds)
        except Interrupted:
            print(f"Meta-test interrupted; the clone is saved in {workdir}: "
                  f"vsml-evaluate --workdir={workdir} meta-tests it.", flush=True)
            return None


def meta_test(config, workdir: str, network, theta, clone_seconds: float) -> dict:
    """The clone and the online SGD it cloned on the same episodes, into WORKDIR/eval."""
    ev = config.evaluation
    target = cloning.SGDCloneTarget(network, builder.clone_spec(config))
    results, summary = [], {"clone_seconds": clone_seconds}
    started = time.time()
    for dataset in split_list(ev.datasets):
        sampler = builder.sampler(config, network, dataset, "test", ev.episode_length)
        out = cloning.compare(network, target, theta, sampler, ev.num_episodes, config.seed,
                      chunk=ev.chunk, jit_compile=config.training.jit_compile)
        steps = ev.episode_length
        wins = sorted(set(curves.windows(steps) + [(0, min(100, steps))] +
                          ([(1000, steps)] if steps > 1000 else [])))
        for name, (loss, acc, _) in out.items():
            results.append(dict(learner=name, dataset=dataset, loss=loss, accuracy=acc))
            for a, b in wins:
                summary[f"{dataset}/{name}/accuracy_{a}_{b}"] = float(acc[:, a:b].mean())
        summary.update({f"{dataset}/{k}": v for k, v in cloning.agreement(out, wins).items()})
    summary["meta_test_seconds"] = time.time() - started
    table = curves.write_outputs(results, os.path.join(workdir, "eval"))
    lines = [f"{k}: {v:.4f}" for k, v in summary.items()]
    with open(os.path.join(workdir, "eval", "summary.txt"), "a") as f:
        f.write("\n".join(lines) + "\n")
    print(f"\nMeta-test ({ev.num_episodes} episodes of {ev.episode_length} steps), outputs in "
          f"{os.path.join(workdir, 'eval')}:\n{table}\n" + "\n".join(lines), flush=True)
    return summary
