#!/usr/bin/env bash
# Run N meta-training processes on this machine with MultiWorkerMirroredStrategy.
#
# Usage: launchers/local_multiworker.sh N [vsml-train flags...]
#   e.g. launchers/local_multiworker.sh 2 --config=configs/quickstart.py --workdir=runs/mw
#
# Each process gets a TF_CONFIG naming N localhost ports (free ones, or VSML_BASE_PORT,
# VSML_BASE_PORT+1, ...) and --config.distribution.strategy=multi_worker. Worker 0 is the
# chief: it logs and writes checkpoints. SIGTERM/SIGINT are forwarded to every worker,
# which stop together after the current iteration; the launcher waits for all of them
# and exits with the first non-zero status among them (0 when all exit 0).
#
# Environment:
#   PYTHON=python    the interpreter of every worker: `python` from PATH unless set (the
#                    script prints which one it runs)
set -euo pipefail
if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2
fi
N=$1; shift
PYTHON=${PYTHON:-python}
command -v "$PYTHON" >/dev/null || {
  echo "error: PYTHON=$PYTHON: command not found; set PYTHON to the interpreter that has vsml_tf" >&2; exit 2; }
echo "local_multiworker.sh: python $(command -v "$PYTHON") ($("$PYTHON" --version 2>&1)); PYTHON=... picks another" >&2
if [[ -n "${VSML_BASE_PORT:-}" ]]; then
  ports=$(seq "$VSML_BASE_PORT" $((VSML_BASE_PORT + N - 1)))
else
  ports=$("$PYTHON" - "$N" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("localhost", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
)
fi
workers=$(printf '"localhost:%s",' $ports); workers="[${workers%,}]"
pids=()
signalled=0
forward() { signalled=1; kill -"$1" "${pids[@]}" 2>/dev/null || true; }
trap 'forward TERM' TERM
trap 'forward INT' INT
for ((i = 0; i < N; i++)); do
  TF_CONFIG="{\"cluster\": {\"worker\": $workers}, \"task\": {\"type\": \"worker\", \"index\": $i}}" \
    "$PYTHON" -m vsml_tf.apps.train "$@" --config.distribution.strategy=multi_worker &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  while true; do
    signalled=0
    s=0; wait "$pid" || s=$?
    # A trapped signal interrupts `wait` (status > 128) while the worker still runs:
    # wait again for its own exit status.
    if [[ $signalled -eq 1 && $s -gt 128 ]]; then continue; fi
    break
  done
  if [[ $s -ne 0 && $status -eq 0 ]]; then status=$s; fi
done
exit $status
