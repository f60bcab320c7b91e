#!/usr/bin/env bash
# Every GPU check and measurement in one run: the CUDA tests of the ops and the backbone (against
# float64 references, no host synchronisation, bf16 at 1024, torch.compile), the scan benchmark
# (backends, the authors' log-space scan, flash-linear-attention's HGRN kernel), the step
# table (VisionGRU-Ti/-B, the authors' code, Swin-T, DeiT-S; eager and compiled), and the
# Triton kernels' compile report with this GPU's SM count and bandwidth (HBM_TBPS, default
# 3.0), to set its estimates beside the measured scan times.
#   bash tools/gpu_benchmark.sh [WHEEL_DIR]
# On a machine with torch + Triton but no OpenMMLab packages and no package index, pass the
# wheels that tools/gpu_wheels.sh downloads; they are installed with --no-index --no-deps.
# Reports go to $OUT (default work_dirs/gpu).  SMOKE=1 runs it all at tiny shapes on any
# device (CPU: the Triton kernels in the interpreter), to check the script itself.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=${PYTHON:-python}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && python=.venv/bin/python
out=${OUT:-work_dirs/gpu}
mkdir -p "$out"
if [ -n "${1:-}" ]; then
    "$python" -m pip install --quiet --no-index --no-deps "$1"/*.whl || exit 1
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
device=$("$python" -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
[ "$device" = cpu ] && export TRITON_INTERPRET=1
report=(--k 2 --launches)
if [ "$device" = cuda ]; then
    read -r arch sms name < <("$python" -c "import torch; p = torch.cuda.get_device_properties(0); \
print(p.major * 10 + p.minor, p.multi_processor_count, p.name.replace(' ', '_'))")
    case $arch in
        80 | 90) report+=(--arch "$arch" --sms "$sms" --name "$name"
                          --hbm-tbps "${HBM_TBPS:-3.0}") ;;
    esac
fi
if [ "${SMOKE:-0}" = 1 ]; then
    report+=(--dtype float32 --shape "512x512 b16 stage 1")
    [ "$device" = cpu ] && report+=(--arch 90)
    scan=(--smoke --repeats 1)
    steps=(--shapes 64x1 --repeats 1 --warmup 1)
    compiled=(--shapes 64x1 --repeats 1 --warmup 1 --models visiongru-ti)
    tests=(-k "not 65536 and not gradcheck")
else
    scan=()
    steps=()
    compiled=(--shapes 512x16 --models visiongru-ti swin-t)
    tests=()
fi
status=0
step() {  # step NAME COMMAND...: run, keep the log, remember a failure and go on
    local name=$1
    shift
    echo "== $name: $*" | tee "$out/$name.txt"
    "$@" 2>&1 | tee -a "$out/$name.txt"
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "== $name FAILED" | tee -a "$out/$name.txt"; status=1; }
}
step device "$python" -c "import torch, triton, platform; print(platform.python_version(), \
'torch', torch.__version__, 'CUDA', torch.version.cuda, 'triton', triton.__version__, \
torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
# The package runs from the source tree here; its CPU kernel is compiled on first use where a
# C++ compiler is found, else the op tests run the CPU cases on the torch backend.
step tests "$python" -m pytest tests/ops tests/models/test_cuda.py tests/models/test_compile.py \
    -q -p no:cacheprovider -s "${tests[@]}"
step kernel_report "$python" -m tools.analysis.kernel_report "${report[@]}"
step benchmark_scan "$python" -m tools.analysis.benchmark_scan --device "$device" "${scan[@]}"
step step_table "$python" -m tools.analysis.step_table --device "$device" \
    --out "$out/step_table" "${steps[@]}"
step step_table_compiled "$python" -m tools.analysis.step_table --device "$device" \
    --compile --out "$out/step_table_compiled" "${compiled[@]}"
exit $status
