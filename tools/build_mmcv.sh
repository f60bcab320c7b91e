#!/usr/bin/env bash
# Build the full mmcv 2.1.0 (with mmcv.ops) as a wheel against the venv's torch, once per machine.
#
# Why this exists: mmseg 1.2.2 accepts mmcv < 2.2.0, and mmcv 2.1.0 ships on PyPI only as a source
# distribution.  Its setup.py hard-codes `-std=c++14`/`-std=c++17`, but the headers of torch 2.14
# need C++20, so the only patch we make is that flag.  The build imports torch (and pkg_resources),
# hence `--no-build-isolation` inside a venv that already has torch and setuptools<81.
#
# Usage: tools/build_mmcv.sh PYTHON CACHE_DIR   -> prints the path of the cached wheel
# MAX_JOBS: parallel compile jobs (default: the number of cores).
set -euo pipefail
py=$1
cache=$2
mkdir -p "$cache"
wheel=$(ls "$cache"/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1 || true)
if [ -n "$wheel" ]; then echo "$wheel"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation \
    -d "$work" mmcv==2.1.0 >&2
tar -xzf "$work"/mmcv-2.1.0.tar.gz -C "$work"
sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$work/mmcv-2.1.0/setup.py"
jobs=${MAX_JOBS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}
echo "building mmcv 2.1.0 (CPU ops, $jobs parallel jobs; about 10 minutes with 2) ..." >&2
# FORCE_CUDA=0: ops are built for the CPU, so the wheel is the same on machines with or without a GPU.
(cd "$work/mmcv-2.1.0" && MAX_JOBS=$jobs FORCE_CUDA=0 MMCV_WITH_OPS=1 \
    "$py" -m pip wheel --quiet --no-build-isolation --no-deps -w "$work/dist" . >&2)
built=$(ls "$work"/dist/mmcv-2.1.0-*.whl)
# Atomic publish: a concurrent or interrupted build never leaves a half-written wheel in the cache.
cp "$built" "$cache/.tmp.$(basename "$built")"
mv "$cache/.tmp.$(basename "$built")" "$cache/$(basename "$built")"
echo "$cache/$(basename "$built")"
