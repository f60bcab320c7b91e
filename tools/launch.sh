# The launch commands behind tools/dist_*.sh and tools/slurm_*.sh (sourced by them, with `root`
# set to the repository).  PYTHONPATH holds the checkout, as in MMSegmentation's scripts, so an
# environment without this package installed still imports it.  The Python: PYTHON, else this
# repository's .venv/bin/python where install.sh made one, else `python` from PATH.

# pick_python: the interpreter to launch with.
pick_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"
    elif [ -x "$root/.venv/bin/python" ]; then echo "$root/.venv/bin/python"
    else echo python
    fi
}

# check_batch PYTHON WORLD CONFIG TRAIN_ARGS...: a warning when WORLD processes x the config's
# batch per GPU (train_dataloader.batch_size, after --cfg-options) is not the batch its recipe
# is for (auto_scale_lr.base_batch_size), unless --auto-scale-lr rescales the lr.  Silent where
# the config cannot be read here (the job itself reports that).
check_batch() {
    [[ " $* " == *" --auto-scale-lr "* ]] && return 0
    "$1" - "$0" "${@:2}" >&2 2>/dev/null <<'PY' || true
import argparse
import sys

from mmengine.config import Config, DictAction

script, world, config = sys.argv[1], int(sys.argv[2]), sys.argv[3]
parser = argparse.ArgumentParser()
parser.add_argument('--cfg-options', nargs='+', action=DictAction)
args, _ = parser.parse_known_args(sys.argv[4:])
cfg = Config.fromfile(config, import_custom_modules=False)
if args.cfg_options:
    cfg.merge_from_dict(args.cfg_options)
per_gpu = cfg.train_dataloader.batch_size
recipe = cfg.get('auto_scale_lr', {}).get('base_batch_size')
if recipe and world * per_gpu != recipe:
    print(f'{script}: WARNING: {world} GPUs x {per_gpu} images per GPU = a batch of '
          f'{world * per_gpu}, but {config} is tuned for a batch of {recipe} '
          '(auto_scale_lr.base_batch_size): add --auto-scale-lr to scale the lr, or use '
          f'{recipe // per_gpu} GPUs')
PY
}

# torchrun_script GPUS SCRIPT ARGS...: GPUS processes on this node running SCRIPT; environment
# NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500), PYTHON.
torchrun_script() {
    local GPUS=$1 NNODES=${NNODES:-1} NODE_RANK=${NODE_RANK:-0} PORT=${PORT:-29500}
    local MASTER_ADDR=${MASTER_ADDR:-127.0.0.1} py var
    for var in GPUS NNODES NODE_RANK PORT; do
        [[ ${!var} =~ ^[0-9]+$ ]] || { echo "$0: $var must be a number, got '${!var}'" >&2; exit 2; }
    done
    if ((GPUS < 1 || NODE_RANK >= NNODES)); then
        echo "$0: need GPUS >= 1 and NODE_RANK < NNODES (GPUS=$GPUS NODE_RANK=$NODE_RANK NNODES=$NNODES)" >&2
        exit 2
    fi
    py=$(pick_python)
    command -v "$py" >/dev/null || {
        echo "$0: no Python at '$py' (set PYTHON, run install.sh, or put python on PATH)" >&2
        exit 2; }
    if [[ $2 == */train.py ]]; then check_batch "$py" $((GPUS * NNODES)) "${@:3}"; fi
    PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$py" -m torch.distributed.run \
        --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
        --master_port="$PORT" --nproc_per_node="$GPUS" "${@:2}"
}

# srun_script PARTITION JOB_NAME SCRIPT ARGS...: one srun task per GPU running SCRIPT;
# environment as MMSegmentation 1.2.2's: GPUS (4), GPUS_PER_NODE (4, or GPUS if fewer),
# CPUS_PER_TASK (5), SRUN_ARGS (split on spaces); and PYTHON, which runs on the compute nodes
# (the batch check runs it here too where it exists).
srun_script() {
    local GPUS=${GPUS:-4} CPUS_PER_TASK=${CPUS_PER_TASK:-5}
    local GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 4 ? GPUS : 4))} py srun_args var
    for var in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
        [[ ${!var} =~ ^[1-9][0-9]*$ ]] || {
            echo "$0: $var must be a positive number, got '${!var}'" >&2; exit 2; }
    done
    py=$(pick_python)
    read -r -a srun_args <<< "${SRUN_ARGS:-}"
    if [[ $3 == */train.py ]]; then check_batch "$py" "$GPUS" "${@:4}"; fi
    PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec srun -p "$1" \
        --job-name="$2" \
        --gres=gpu:"$GPUS_PER_NODE" \
        --ntasks="$GPUS" \
        --ntasks-per-node="$GPUS_PER_NODE" \
        --cpus-per-task="$CPUS_PER_TASK" \
        --kill-on-bad-exit=1 \
        "${srun_args[@]}" \
        "$py" -u "${@:3}"
}
