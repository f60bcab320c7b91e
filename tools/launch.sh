# The launch commands behind tools/dist_*.sh and tools/slurm_*.sh (sourced by them, with `root`
# set to the repository).  PYTHONPATH holds the checkout, as in MMSegmentation's scripts, so an
# environment without this package installed still imports it.

# torchrun_script GPUS SCRIPT ARGS...: GPUS processes on this node running SCRIPT; environment
# NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500), PYTHON (.venv/bin/python).
torchrun_script() {
    local GPUS=$1 NNODES=${NNODES:-1} NODE_RANK=${NODE_RANK:-0} PORT=${PORT:-29500}
    local MASTER_ADDR=${MASTER_ADDR:-127.0.0.1} PYTHON=${PYTHON:-$root/.venv/bin/python} var
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
        --master_port="$PORT" --nproc_per_node="$GPUS" "${@:2}"
}

# srun_script PARTITION JOB_NAME SCRIPT ARGS...: one srun task per GPU running SCRIPT;
# environment GPUS (8), GPUS_PER_NODE (8, or GPUS if fewer), CPUS_PER_TASK (5), SRUN_ARGS,
# PYTHON (.venv/bin/python).
srun_script() {
    local GPUS=${GPUS:-8} CPUS_PER_TASK=${CPUS_PER_TASK:-5}
    local GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
    local PYTHON=${PYTHON:-$root/.venv/bin/python} srun_args
    read -r -a srun_args <<< "${SRUN_ARGS:-}"
    PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec srun -p "$1" \
        --job-name="$2" \
        --gres=gpu:"$GPUS_PER_NODE" \
        --ntasks="$GPUS" \
        --ntasks-per-node="$GPUS_PER_NODE" \
        --cpus-per-task="$CPUS_PER_TASK" \
        --kill-on-bad-exit=1 \
        "${srun_args[@]}" \
        "$PYTHON" -u "${@:3}"
}
