#!/usr/bin/env bash
# Idempotent installer: creates/updates .venv/ at the repo root with the full OpenMMLab stack
# (torch, torchvision, mmcv with ops, mmengine, mmseg, mmpretrain) and this package (editable),
# and compiles the package's CPU kernel into its per-machine cache (otherwise done on first use).
# A second run on a ready machine only compares a stamp and exits within seconds.
# Into an environment of your own: `pip install .` instead (docs/install.md).
#
#     bash install.sh [--dry-run]
#
# Environment:
#   PYTHON    the interpreter that creates .venv: any Python >= 3.11 (default: python3.11, else
#             python3).  To switch an existing .venv to another Python, remove .venv first.
#   MAX_JOBS  parallel compile jobs for mmcv's ops and this package's kernels (default: the
#             number of cores).
#   MMSEG_VISIONGRU_CACHE  where the built mmcv wheel and CPU kernel are kept (default
#             ~/.cache/mmseg-visiongru).
# --dry-run prints what would be used (Python, jobs, mmcv wheel cache) and installs nothing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
venv="$root/.venv"
py="$venv/bin/python"

dry_run=0
case "${1:-}" in
    --dry-run) dry_run=1 ;;
    '') ;;
    *) echo "usage: bash install.sh [--dry-run]" >&2; exit 2 ;;
esac
die() { echo "[install] $*" >&2; exit 1; }

# "MAJOR.MINOR" of a Python, or nothing if it does not run.
python_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }

if [ -x "$py" ]; then
    base=$py
    version=$(python_version "$py")
    [ -n "$version" ] || die "$venv exists but its Python does not run: remove $venv and re-run"
    if [ -n "${PYTHON:-}" ]; then
        wanted=$(python_version "$PYTHON")
        [ "$wanted" = "$version" ] || die "$venv was made with Python $version; PYTHON=$PYTHON is" \
            "${wanted:-not a working Python}.  Remove $venv to rebuild it with PYTHON."
    fi
else
    base=${PYTHON:-$(command -v python3.11 || command -v python3 || true)}
    [ -n "$base" ] || die "no python3.11 or python3 on PATH: set PYTHON=/path/to/python (>= 3.11)"
    version=$(python_version "$base")
    [ -n "$version" ] || die "PYTHON=$base is not a working Python"
fi
IFS=. read -r major minor <<< "$version"
if ((major < 3 || (major == 3 && minor < 11))); then
    die "Python >= 3.11 is needed; $base is $version (set PYTHON=/path/to/python3.11 or newer)"
fi
# (nproc without the OpenMP variables, which it would otherwise honour)
export MAX_JOBS=${MAX_JOBS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}
[[ $MAX_JOBS =~ ^[1-9][0-9]*$ ]] || die "MAX_JOBS must be a positive number, got '$MAX_JOBS'"
cache=${MMSEG_VISIONGRU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmseg-visiongru}
cache=$cache/mmcv-2.1.0-torch2.14.1-cp${major}${minor}

stamp="$venv/.install-stamp"
want=$( (echo "python $version"
         cat install.sh tools/build_mmcv.sh requirements/*.txt pyproject.toml \
             mmseg_visiongru/ops/csrc/*.{cpp,h,py}) \
        | sha256sum | cut -d' ' -f1)
up_to_date() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$py" -c "import mmseg_visiongru" 2>/dev/null
}

if ((dry_run)); then
    wheel=$(ls "$cache"/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1 || true)
    echo "venv:       $venv ($([ -x "$py" ] && echo exists || echo 'to be created'))"
    echo "python:     $base (Python $version)"
    echo "MAX_JOBS:   $MAX_JOBS"
    echo "mmcv wheel: ${wheel:-to be built into $cache}"
    echo "state:      $(up_to_date && echo 'up to date' || echo 'would install')"
    exit 0
fi
up_to_date && exit 0

start=$SECONDS
echo "[install] setting up $venv with Python $version, MAX_JOBS=$MAX_JOBS" \
    "(a cold install builds mmcv once per machine: ~15 min on 2 cores)" >&2
[ -x "$py" ] || "$base" -m venv "$venv"
pip() { "$py" -m pip --disable-pip-version-check --quiet "$@"; }
pip install "pip==25.3"
pip install -r requirements/build.txt "torch==2.14.1" "torchvision==0.29.1"
wheel=$(tools/build_mmcv.sh "$py" "$cache")
pip install "$wheel" -r requirements/runtime.txt -r requirements/deploy.txt
pip install --no-deps --no-build-isolation -e .
"$py" -c "import mmcv.ops, mmseg.models, mmpretrain.models, mmseg_visiongru" \
    || die "FAILED: the stack does not import"
"$py" -c "from mmseg_visiongru.ops.csrc import kernels; assert kernels() is not None" \
    || die "FAILED: the CPU kernel does not build (the warning above names why)"
echo "$want" > "$stamp"
# What this machine got: torch's build and whether it sees a GPU (README: "On a GPU machine").
"$py" -c "import torch; print(f'[install] torch {torch.__version__}, CUDA build ' \
f'{torch.version.cuda or \"none\"}, GPU visible: {torch.cuda.is_available()}; mmcv ops: CPU only')" >&2
echo "[install] done in $((SECONDS - start)) s" >&2
