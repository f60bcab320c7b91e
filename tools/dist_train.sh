#!/usr/bin/env bash
# Distributed training with torchrun, MMSegmentation's interface:
#
#     tools/dist_train.sh CONFIG GPUS [tools/train.py options...]
#
# GPUS is the number of processes on this node: one per GPU (NCCL), or, on a machine without
# CUDA, CPU processes (gloo).  Several nodes: run the same command on every node, each with its
# own NODE_RANK; e.g. two nodes of 8 GPUs, node 0 at 10.1.1.1:
#
#     NNODES=2 NODE_RANK=0 MASTER_ADDR=10.1.1.1 tools/dist_train.sh CONFIG 8   # on 10.1.1.1
#     NNODES=2 NODE_RANK=1 MASTER_ADDR=10.1.1.1 tools/dist_train.sh CONFIG 8   # on the other
#
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1: node 0's address), PORT
# (29500: a free port on node 0), PYTHON (default: this repository's .venv/bin/python if
# present, else python from PATH).  With a batch other than the config's (GPUS x NNODES x
# train_dataloader.batch_size against auto_scale_lr.base_batch_size) a warning says so.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py options...]" >&2
    exit 2
fi
source "$root/tools/launch.sh"
torchrun_script "$2" "$root/tools/train.py" "$1" --launcher pytorch "${@:3}"
