#!/usr/bin/env bash
# Training on a Slurm cluster, MMSegmentation's interface (one srun task per GPU):
#
#     tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py options...]
#
# Environment: GPUS (8: tasks in all; the configs' batch of 16 is 8 GPUs x 2 images),
# GPUS_PER_NODE (8, or GPUS if fewer), CPUS_PER_TASK (5), SRUN_ARGS (more srun options, split
# on spaces, e.g. "--time=2-00:00:00 --exclusive"), PYTHON (this repository's .venv/bin/python,
# which must be visible on the compute nodes).  Rank 0 listens on MASTER_PORT (29500) of the
# first node of the allocation.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
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
    "$PYTHON" -u "$root/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher=slurm "${@:5}"
