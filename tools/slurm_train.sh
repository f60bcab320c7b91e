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
source "$root/tools/launch.sh"
srun_script "$1" "$2" "$root/tools/train.py" "$3" --work-dir="$4" --launcher=slurm "${@:5}"
