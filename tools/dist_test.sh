#!/usr/bin/env bash
# Distributed testing with torchrun, MMSegmentation's interface:
#
#     tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py options...]
#
# GPUS processes on this node (GPUs, or CPU processes over gloo without CUDA); each evaluates
# its share of the test set and rank 0 reports the metrics.  Environment as tools/dist_train.sh:
# NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500), PYTHON (.venv/bin/python if
# present, else python from PATH).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py options...]" >&2
    exit 2
fi
source "$root/tools/launch.sh"
torchrun_script "$3" "$root/tools/test.py" "$1" "$2" --launcher pytorch "${@:4}"
