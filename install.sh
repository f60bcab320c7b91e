#!/usr/bin/env bash
# Idempotent installer: creates/updates .venv/ at the repo root with the full OpenMMLab stack
# (torch, torchvision, mmcv with ops, mmengine, mmseg, mmpretrain) and this package (editable).
# A second run on a ready machine only compares a stamp and exits within seconds.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
venv="$root/.venv"
py="$venv/bin/python"
cache=${MMSEG_VISIONGRU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmseg-visiongru}/mmcv-2.1.0-torch2.14.1-cp311

stamp="$venv/.install-stamp"
want=$(cat install.sh tools/build_mmcv.sh requirements/*.txt setup.py mmseg_visiongru/ops/csrc/* | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$py" -c "import mmseg_visiongru" 2>/dev/null; then
    exit 0
fi

start=$SECONDS
echo "[install] setting up $venv (a cold install builds mmcv once per machine, ~15 min)" >&2
[ -x "$py" ] || python3.11 -m venv "$venv"
pip() { "$py" -m pip --disable-pip-version-check --quiet "$@"; }
# pip 25.3: the venv's bundled pip (23.x) installs `-e .` via `setup.py develop`, which
# setuptools 80 re-runs in an isolated build without torch; pip 25 builds it in place (PEP 660).
pip install "pip==25.3"
pip install -r requirements/build.txt "torch==2.14.1" "torchvision==0.29.1"
wheel=$(tools/build_mmcv.sh "$py" "$cache")
pip install "$wheel" -r requirements/runtime.txt
pip install --no-deps --no-build-isolation -e .
"$py" -c "import mmcv.ops, mmseg.models, mmpretrain.models, mmseg_visiongru" \
    || { echo "[install] FAILED: the stack does not import" >&2; exit 1; }
echo "$want" > "$stamp"
echo "[install] done in $((SECONDS - start)) s" >&2
