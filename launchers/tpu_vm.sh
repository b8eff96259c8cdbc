#!/usr/bin/env bash
# Meta-train on a Cloud TPU VM (one host or a pod slice), data and outputs in GCS.
#
# Usage: launchers/tpu_vm.sh NAME ZONE ACCELERATOR [vsml-train flags...]
#   e.g. launchers/tpu_vm.sh vsml-v4 us-central2-b v4-32 --config=configs/paper_es.py \
#            --workdir=gs://BUCKET/runs/es --config.data.data_dir=gs://BUCKET/data
#
# Creates the TPU VM if it does not exist (TPU_VERSION, default tpu-vm-tf-2.16.1-pjrt),
# installs this package on every worker (VSML_PIP_SPEC, default: the current checkout
# copied with scp), and runs the same vsml-train command on all workers with
# --config.distribution.strategy=tpu. Checkpoints in GCS make re-running resume.
set -euo pipefail
if [[ $# -lt 3 ]]; then sed -n '2,12p' "$0"; exit 2; fi
NAME=$1; ZONE=$2; ACCEL=$3; shift 3
VERSION=${TPU_VERSION:-tpu-vm-tf-2.16.1-pjrt}
tpu=(gcloud compute tpus tpu-vm)
if ! "${tpu[@]}" describe "$NAME" --zone="$ZONE" >/dev/null 2>&1; then
  "${tpu[@]}" create "$NAME" --zone="$ZONE" --accelerator-type="$ACCEL" --version="$VERSION"
fi
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
"${tpu[@]}" ssh "$NAME" --zone="$ZONE" --worker=all --command="pip install -q '$spec'"
printf -v flags '%q ' "$@"
"${tpu[@]}" ssh "$NAME" --zone="$ZONE" --worker=all \
  --command="vsml-train $flags --config.distribution.strategy=tpu"
