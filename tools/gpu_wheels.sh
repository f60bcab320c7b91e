#!/usr/bin/env bash
# Downloads, on a machine with PyPI, the wheels that tools/gpu_benchmark.sh installs on a GPU
# machine without a package index (Python 3.12, x86-64, which already has torch, Triton and
# timm): the pure-Python OpenMMLab stack (mmcv-lite: mmpretrain's backbones need no compiled
# mmcv ops), flash-linear-attention for the scan baseline, pytest, and their small dependencies.
#   bash tools/gpu_wheels.sh [DIR]        (default work_dirs/gpu_wheels, about 11 MB)
set -euo pipefail
dir=${1:-work_dirs/gpu_wheels}
python=${PYTHON:-python3}
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version "${PY_VERSION:-3.12}" \
    --platform manylinux2014_x86_64 --implementation cp -d "$dir" \
    mmengine==0.10.7 mmcv-lite==2.1.0 mmpretrain==1.2.0 mmsegmentation==1.2.2 fla-core==0.6.0 \
    addict yapf platformdirs termcolor importlib-metadata==8.5.0 zipp model-index ordered-set \
    mat4py prettytable ftfy wcwidth regex einops rich markdown-it-py mdurl pygments \
    pytest pluggy iniconfig
ls "$dir"
