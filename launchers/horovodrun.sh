#!/usr/bin/env bash
# Meta-train with Horovod: one process per GPU, on one or several hosts.
#
# Usage: launchers/horovodrun.sh NP [-H host1:4,host2:4] [vsml-train flags...]
#   e.g. launchers/horovodrun.sh 8 -H node1:4,node2:4 --config=configs/paper_es.py \
#            --workdir=/shared/runs/es
#
# Needs Horovod built against the installed TensorFlow: launchers/install_horovod.sh (see
# the README's Horovod section). Only Horovod's core collectives are used (allgather of
# fitnesses, allreduce of the meta-gradient); rank 0 logs and writes checkpoints, which
# must be on a file system every host can read.
#
# Environment:
#   PYTHON=python    the interpreter of every rank: `python` from PATH unless set (the
#                    script prints the one found here; other hosts resolve the same name
#                    on their own PATH)
set -euo pipefail
if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2
fi
NP=$1; shift
PYTHON=${PYTHON:-python}
command -v "$PYTHON" >/dev/null || {
  echo "error: PYTHON=$PYTHON: command not found; set PYTHON to the interpreter that has vsml_tf" >&2; exit 2; }
echo "horovodrun.sh: python $(command -v "$PYTHON") ($("$PYTHON" --version 2>&1)); PYTHON=... picks another" >&2
hosts=()
if [[ "${1:-}" == "-H" ]]; then hosts=(-H "$2"); shift 2; fi
command -v horovodrun >/dev/null || { echo "error: horovodrun not found: install Horovod" >&2; exit 2; }
exec horovodrun -np "$NP" "${hosts[@]}" "$PYTHON" -m vsml_tf.apps.train "$@" \
  --config.distribution.strategy=horovod
