#!/usr/bin/env bash
# Testing on a Slurm cluster, MMSegmentation 1.2.2's interface (one srun task per GPU):
#
#     tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py options (PY_ARGS)...]
#
# Environment as tools/slurm_train.sh: GPUS (4), GPUS_PER_NODE (4, or GPUS if fewer),
# CPUS_PER_TASK (5), SRUN_ARGS, PYTHON (.venv/bin/python if present, else python from PATH).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options...]" >&2
    exit 2
fi
source "$root/tools/launch.sh"
srun_script "$1" "$2" "$root/tools/test.py" "$3" "$4" --launcher=slurm "${@:5}"
