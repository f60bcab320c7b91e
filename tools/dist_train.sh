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
# (29500: a free port on node 0), PYTHON (this repository's .venv/bin/python).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py options...]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-$root/.venv/bin/python}
for var in GPUS NNODES NODE_RANK PORT; do
    [[ ${!var} =~ ^[0-9]+$ ]] || { echo "$0: $var must be a number, got '${!var}'" >&2; exit 2; }
done
if ((GPUS < 1 || NODE_RANK >= NNODES)); then
    echo "$0: need GPUS >= 1 and NODE_RANK < NNODES (GPUS=$GPUS NODE_RANK=$NODE_RANK NNODES=$NNODES)" >&2
    exit 2
fi
command -v "$PYTHON" >/dev/null || {
    echo "$0: no Python at '$PYTHON' (run install.sh, or set PYTHON)" >&2; exit 2; }

# PYTHONPATH: as MMSegmentation's scripts, so that an environment without this package
# installed still imports it from the checkout.
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" --nproc_per_node="$GPUS" \
    "$root/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
