#!/usr/bin/env bash
# Testing on a Slurm cluster, MMSegmentation's interface (one srun task per GPU):
#
#     tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py options...]
#
# Environment as tools/slurm_train.sh: GPUS (8), GPUS_PER_NODE (8, or GPUS if fewer),
# CPUS_PER_TASK (5), SRUN_ARGS, PYTHON (this repository's .venv/bin/python).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
PYTHON=${PYTHON:-$root/.venv/bin/python}
read -r -a srun_args <<< "${SRUN_ARGS:-}"

PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    "${srun_args[@]}" \
    "$PYTHON" -u "$root/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher=slurm "${@:5}"
