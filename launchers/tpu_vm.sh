#!/usr/bin/env bash
# Meta-train on a Cloud TPU VM (one host or a pod slice), data and outputs in GCS.
#
# Usage: [TPU_VERSION=IMAGE] launchers/tpu_vm.sh NAME ZONE ACCELERATOR [vsml-train flags...]
#   e.g. TPU_VERSION=tpu-vm-tf-X.Y.Z-pod-pjrt launchers/tpu_vm.sh vsml-v4 us-central2-b \
#            v4-32 --config=configs/paper_es.py --workdir=gs://BUCKET/runs/es \
#            --config.data.data_dir=gs://BUCKET/data
#
# Creates the TPU VM if it does not exist, installs this package on every worker
# (VSML_PIP_SPEC, default: the current checkout copied with scp), and runs the same
# vsml-train command on all workers with --config.distribution.strategy=tpu. Checkpoints
# in GCS make re-running resume.
#
# Environment:
#   TPU_VERSION      the TPU software version (image) to create the VM with; required
#                    when NAME does not exist yet. No default: the image must have
#                    Python >= 3.11 (vsml-tf's minimum) and a TensorFlow >= 2.16 that
#                    drives TPUs (vsml-tf is tested with TF 2.21, on CPUs and GPUs only),
#                    and which image names offer that could not be checked here (no
#                    network, no gcloud). TensorFlow images are named
#                    tpu-vm-tf-X.Y.Z[-pod]-pjrt (-pod for multi-host slices); see
#                    https://cloud.google.com/tpu/docs/runtimes. The former default,
#                    tpu-vm-tf-2.16.1-pjrt, names TF 2.16, older than the tested 2.21.
#   TPU_PYTHON=python3  the interpreter on the workers; checked to be >= 3.11 before
#                    installing (printed)
#   VSML_PIP_SPEC    what pip installs on the workers (default: this checkout)
set -euo pipefail
if [[ $# -lt 3 ]]; then sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2; fi
NAME=$1; ZONE=$2; ACCEL=$3; shift 3
TPU_PYTHON=${TPU_PYTHON:-python3}
tpu=(gcloud compute tpus tpu-vm)
command -v gcloud >/dev/null || { echo "error: gcloud not found: install the Google Cloud CLI" >&2; exit 2; }
if ! "${tpu[@]}" describe "$NAME" --zone="$ZONE" >/dev/null 2>&1; then
  if [[ -z "${TPU_VERSION:-}" ]]; then
    echo "error: TPU VM $NAME does not exist and TPU_VERSION is not set: set it to a TPU" \
         "software version with Python >= 3.11 and TensorFlow >= 2.16 (see the usage:" \
         "launchers/tpu_vm.sh with no arguments)" >&2
    exit 2
  fi
  "${tpu[@]}" create "$NAME" --zone="$ZONE" --accelerator-type="$ACCEL" --version="$TPU_VERSION"
fi
echo "tpu_vm.sh: python on the workers: $TPU_PYTHON; TPU_PYTHON=... picks another" >&2
if [[ -n "${VSML_PIP_SPEC:-}" ]]; then
  spec=$VSML_PIP_SPEC
else
  root=$(cd "$(dirname "$0")/.." && pwd)
  tar -C "$root" --exclude=.git --exclude=vsml_runs -czf /tmp/vsml_tf.tgz .
  "${tpu[@]}" scp /tmp/vsml_tf.tgz "$NAME":~/ --zone="$ZONE" --worker=all
  spec="./vsml_tf_src"
  "${tpu[@]}" ssh "$NAME" --zone="$ZONE" --worker=all \
    --command="mkdir -p vsml_tf_src && tar -xzf vsml_tf.tgz -C vsml_tf_src"
fi
check_python="$TPU_PYTHON -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo \
\"error: \$($TPU_PYTHON --version 2>&1) on the TPU VM; vsml-tf needs Python >= 3.11: \
recreate the VM with another TPU_VERSION, or set TPU_PYTHON\" >&2; exit 2; }"
"${tpu[@]}" ssh "$NAME" --zone="$ZONE" --worker=all \
  --command="$check_python && $TPU_PYTHON -m pip install -q '$spec'"
printf -v flags '%q ' "$@"
"${tpu[@]}" ssh "$NAME" --zone="$ZONE" --worker=all \
  --command="$TPU_PYTHON -m vsml_tf.apps.train $flags --config.distribution.strategy=tpu"
