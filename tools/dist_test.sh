#!/usr/bin/env bash
# Distributed testing with torchrun, MMSegmentation's interface:
#
#     tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py options...]
#
# GPUS processes on this node (GPUs, or CPU processes over gloo without CUDA); each evaluates
# its share of the test set and rank 0 reports the metrics.  Environment as tools/dist_train.sh:
# NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500), PYTHON (.venv/bin/python).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py options...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
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

PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" --nproc_per_node="$GPUS" \
    "$root/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
