#!/usr/bin/env bash
# Submit N chained Slurm jobs of the same command; each resumes from the workdir.
#
# Usage: launchers/slurm/chain.sh N [sbatch options] -- [vsml-train flags...]
#   e.g. launchers/slurm/chain.sh 5 --nodes=4 --gpus-per-node=8 -- \
#            --config=configs/paper_es.py --workdir=/shared/runs/es
#
# Job k+1 starts when job k ends for any reason (afterany), so a run longer than the
# partition's time limit continues in the next job from the chief's last checkpoint.
#
# Environment (sbatch passes it on to every job):
#   PYTHON=python    the jobs' interpreter (train.sbatch): `python` from the compute
#                    nodes' PATH unless set; each job's log names the one it found
set -euo pipefail
if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2
fi
echo "chain.sh: the jobs run PYTHON=${PYTHON:-python} (from the compute nodes' PATH unless a path)" >&2
N=$1; shift
sbatch_args=()
while [[ $# -gt 0 && "$1" != "--" ]]; do sbatch_args+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
here=$(cd "$(dirname "$0")" && pwd)
dependency=()
for ((k = 0; k < N; k++)); do
  job=$(sbatch --parsable "${dependency[@]}" "${sbatch_args[@]}" "$here/train.sbatch" "$@")
  echo "submitted job $job ($((k + 1))/$N)"
  dependency=(--dependency="afterany:$job")
done
