#!/usr/bin/env bash
# Distributed testing: tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
cd "$(dirname "$0")/.." || exit 1
exec .venv/bin/python -m torch.distributed.run --nproc_per_node="$NPROC" \
    --master_port="${PORT:-29500}" tools/test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
