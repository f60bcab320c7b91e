#!/usr/bin/env bash
# Training on a Slurm cluster, MMSegmentation 1.2.2's interface (one srun task per GPU):
#
#     tools/slurm_train.sh PARTITION JOB_NAME CONFIG [tools/train.py options (PY_ARGS)...]
#
# Environment: GPUS (4: tasks in all), GPUS_PER_NODE (4, or GPUS if fewer), CPUS_PER_TASK (5),
# SRUN_ARGS (more srun options, split on spaces, e.g. "--time=2-00:00:00 --exclusive"), PYTHON
# (default: this repository's .venv/bin/python if present, else python from PATH; it must be
# visible on the compute nodes).  The configs' batch of 16 is 8 GPUs x 2 images: with another
# GPU count a warning says so (add --auto-scale-lr, or set GPUS=8).  The work dir is
# train.py's: work_dirs/CONFIG_NAME, or --work-dir DIR.  Rank 0 listens on MASTER_PORT (29500)
# of the first node of the allocation.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [train.py options...]" >&2
    exit 2
fi
source "$root/tools/launch.sh"
srun_script "$1" "$2" "$root/tools/train.py" "$3" --launcher=slurm "${@:4}"
