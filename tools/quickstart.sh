#!/usr/bin/env bash
# The main job, end to end on generated sample data (a few minutes on 2 CPU cores):
# make an ADE20K-layout sample dataset, train UperNet + VisionGRU-Ti on it, evaluate the
# checkpoint (per-class IoU table and mIoU), and write prediction overlays to look at.
# For the real ADE20K, see README.md ("ADE20K segmentation").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=.venv/bin/python
config=configs/quickstart_upernet_visiongru_ti_sample.py
data=data/sample_ade20k
work=work_dirs/quickstart
export PYTHONWARNINGS=ignore

"$py" tools/make_sample_data.py --kind ade20k --out "$data"
"$py" tools/train.py "$config" --work-dir "$work"
"$py" tools/test.py "$config" "$work/iter_600.pth" --work-dir "$work/test" \
    --show-dir "$work/overlays" | tee "$work/test.log"
"$py" tools/infer.py "$data/images/validation" --config "$config" \
    --checkpoint "$work/iter_600.pth" --out "$work/predictions"
echo
grep -o 'mIoU: [0-9.]*' "$work/test.log" | tail -n 1 | sed 's/^/quickstart result: /'
echo "overlays (image | ground truth | prediction): $work/overlays/vis_data/vis_image/"
echo "overlays and label maps from tools/infer.py:   $work/predictions/"
