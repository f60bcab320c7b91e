"""tools/deployment: the trained UperNet + VisionGRU-Ti exported once with dynamic shapes,
checked, compared with PyTorch at several sizes, evaluated in ONNX Runtime, and the bad inputs
that must fail with a message naming the fix."""
import json
import os.path as osp
import re
import sys
from glob import glob

import numpy as np
import onnx
import pytest
import torch

from mmseg_visiongru.deploy import OnnxModel, check_model, compare, export_module, load_model

from ..helpers import CONFIG, PYTHON, run, small_run_options

# (B, H, W) other than the traced (2, 64, 96), that no stride (4-32) or pooling bin (2, 3, 6)
# divides.
SIZES = [(1, 75, 101), (3, 47, 130)]


@pytest.fixture(scope='module')
def checkpoint(trained):
    return osp.join(trained, 'iter_24.pth')


def call_tool(monkeypatch, module, *args):
    """Run a tool's main() in this process (no second import of torch and mmseg)."""
    monkeypatch.setattr(sys, 'argv', [module.__file__, *args])
    module.main()


@pytest.fixture(scope='module')
def onnx_file(checkpoint, tmp_path_factory):
    """The trained segmentor exported by the tool with dynamic batch, height and width."""
    from tools.deployment import pytorch2onnx
    path = str(tmp_path_factory.mktemp('onnx') / 'upernet.onnx')
    with pytest.MonkeyPatch.context() as monkeypatch:
        call_tool(monkeypatch, pytorch2onnx, CONFIG, checkpoint, '--output-file', path,
                  '--shape', '64', '96', '--dynamic-export')
    return path


@pytest.fixture(scope='module')
def session(onnx_file):
    return OnnxModel(onnx_file)


@pytest.fixture(scope='module')
def segmentor(checkpoint):
    _, model = load_model(CONFIG, checkpoint)
    return export_module(model)[0]


def test_export_is_standard_onnx_with_dynamic_shapes(onnx_file):
    check_model(onnx_file)
    model = onnx.load(onnx_file, load_external_data=False)
    assert not osp.exists(onnx_file + '.data')  # one self-contained file
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1] == 3 and all(isinstance(d, str) for d in (dims[0], dims[2], dims[3])), dims
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta['mean']) == [123.675, 116.28, 103.53] and meta['output'] == 'logits'


def test_equals_pytorch_at_sizes_it_was_not_traced_at(session, segmentor):
    for batch, height, width in SIZES:
        images = torch.randn(batch, 3, height, width)
        with torch.no_grad():
            expected = segmentor(images)
        stats = compare([expected], session(images), labels=True)
        assert stats['max_rel_error'] <= 1e-4, (height, width, stats)
        assert stats['label_agreement'] >= 0.9999, (height, width, stats)


def read_miou(text):
    values = re.findall(r'mIoU: ([0-9.]+)', text)
    assert values, text[-3000:]
    return float(values[-1])


def always_wall_miou(ade_sample):
    """mIoU of predicting "wall" (label 0 after reduce_zero_label) everywhere on the
    validation split, as mmseg's IoUMetric averages it (classes absent from both: left out)."""
    from PIL import Image
    labels = np.concatenate([
        np.array(Image.open(f)).ravel().astype(np.int64) - 1
        for f in sorted(glob(osp.join(ade_sample, 'annotations', 'validation', '*.png')))])
    labels = labels[(labels >= 0) & (labels < 150)]
    present = np.unique(labels)
    wall = (labels == 0).mean()  # IoU of wall: its pixels over all pixels; the others are 0
    return 100 * wall / len(present)


def test_onnx_miou_equals_pytorch(onnx_file, trained, ade_sample, tmp_path):
    """The test split through the exported file in ONNX Runtime gives PyTorch's mIoU (logged by
    the training run's final validation, on the same split and pipeline)."""
    out = run(PYTHON, 'tools/deployment/test_onnx.py', CONFIG, onnx_file, '--work-dir',
              str(tmp_path), '--cfg-options', *small_run_options(ade_sample, 24))
    assert 'per class results' in out
    with open(sorted(glob(osp.join(trained, '*', 'vis_data', 'scalars.json')))[-1]) as f:
        pytorch = [r['mIoU'] for r in map(json.loads, f) if 'mIoU' in r][-1]
    onnx_miou, wall = read_miou(out), always_wall_miou(ade_sample)
    print(f'mIoU: PyTorch {pytorch}, ONNX Runtime {onnx_miou}, always "wall" {wall:.2f}')
    assert pytorch >= 2 * wall  # a model that learned something, so that equality means much
    assert abs(onnx_miou - pytorch) <= 0.05


def test_opset_too_old_is_refused(monkeypatch, checkpoint, tmp_path):
    from tools.deployment import pytorch2onnx
    with pytest.raises(ValueError, match=r'opset 11 is too old.*--opset-version 18'):
        call_tool(monkeypatch, pytorch2onnx, CONFIG, checkpoint, '--output-file',
                  str(tmp_path / 'x.onnx'), '--opset-version', '11')
    assert not osp.exists(tmp_path / 'x.onnx')


def test_checkpoint_that_does_not_fit_the_config_is_refused(monkeypatch, checkpoint, tmp_path):
    from tools.deployment import pytorch2onnx
    with pytest.raises(ValueError, match='does not match'):
        call_tool(monkeypatch, pytorch2onnx, CONFIG, checkpoint, '--output-file',
                  str(tmp_path / 'x.onnx'), '--cfg-options', 'model.decode_head.channels=256')
    assert not osp.exists(tmp_path / 'x.onnx')


def test_wrong_images_at_inference_name_the_fix(session):
    with pytest.raises(ValueError, match=r'float32 .* got uint8.*astype\(np.float32\)'):
        session(np.zeros((1, 3, 64, 64), np.uint8))
    with pytest.raises(ValueError, match=r'3-channel images .* got \(1, 4, 64, 64\)'):
        session(np.zeros((1, 4, 64, 64), np.float32))
    with pytest.raises(ValueError, match=r'add the batch dimension'):
        session(np.zeros((3, 64, 64), np.float32))


@pytest.mark.slow
def test_equals_pytorch_at_ade20k_test_sizes(session, segmentor):
    """The sizes ADE20K's test pipeline gives (short side 512, long side up to 2048), from the
    one file traced at 64 x 96."""
    for height, width in [(512, 512), (512, 683), (384, 1024)]:
        images = torch.randn(1, 3, height, width)
        with torch.no_grad():
            expected = segmentor(images)
        stats = compare([expected], session(images), labels=True)
        print(f'{height}x{width}: {stats}')
        assert stats['max_rel_error'] <= 1e-4, (height, width, stats)
        assert stats['label_agreement'] >= 0.9999, (height, width, stats)
