#!/usr/bin/env bash
# Distributed training: tools/dist_train.sh CONFIG NPROC [train.py args...]
# (torchrun; on a CPU-only machine the processes talk over gloo.)
CONFIG=$1
NPROC=$2
cd "$(dirname "$0")/.." || exit 1
exec .venv/bin/python -m torch.distributed.run --nproc_per_node="$NPROC" \
    --master_port="${PORT:-29500}" tools/train.py "$CONFIG" --launcher pytorch "${@:3}"
