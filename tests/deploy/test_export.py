"""Exporting the segmentor (logits and labels), the classifier and the bare backbone of small
VisionGRU models, each against PyTorch at sizes other than the traced one (slow: a dynamic
export takes 10-20 s on two cores; the trained segmentor's is in tests/tools/test_deployment.py);
the opset range."""
import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope

from mmseg_visiongru.deploy import (OnnxModel, check_opset, compare, export_module,
                                    export_onnx)

SMALL = dict(embed_dims=8, depths=[1, 1, 1, 1], _delete_=True)
SEG_OPTIONS = {
    'model.backbone.arch': SMALL, 'model.backbone.init_cfg': None,
    'model.decode_head.in_channels': [8, 16, 32, 64], 'model.decode_head.channels': 16,
    'model.decode_head.num_classes': 5, 'model.auxiliary_head.in_channels': 32,
    'model.auxiliary_head.num_classes': 5,
}
CLS_OPTIONS = {'model.backbone.arch': SMALL, 'model.head.in_channels': 64,
               'model.head.num_classes': 7}


def build(config, options):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    return revert_sync_batchnorm(MODELS.build(cfg.model)).eval()


def export_and_compare(module, names, path, sizes, labels=False):
    export_onnx(module, torch.randn(2, 3, 40, 56), path, output_names=names)
    session = OnnxModel(path)
    assert session.output_names == names
    for size in sizes:
        images = torch.randn(*size)
        with torch.no_grad():
            expected = module(images)
        expected = list(expected) if isinstance(expected, tuple) else [expected]
        stats = compare(expected, session(images), labels)
        assert stats['max_rel_error'] <= 1e-5, (size, stats)
        assert stats.get('label_agreement', 1) >= 0.9999, (size, stats)


@pytest.fixture(scope='module')
def segmentor():
    return build('configs/upernet_visiongru_ti_ade20k.py', SEG_OPTIONS)


@pytest.mark.slow
@pytest.mark.parametrize('output', ['logits', 'labels'])
def test_segmentor(segmentor, output, tmp_path):
    module, names = export_module(segmentor, output=output)
    assert names == [output] and not hasattr(module, 'auxiliary_head')
    export_and_compare(module, names, str(tmp_path / 'seg.onnx'),
                       [(1, 3, 61, 83), (3, 3, 33, 100)], labels=True)
    out = OnnxModel(str(tmp_path / 'seg.onnx'))(torch.randn(1, 3, 61, 83))[0]
    assert out.shape == ((1, 5, 61, 83) if output == 'logits' else (1, 1, 61, 83))


@pytest.mark.slow
def test_backbone(segmentor, tmp_path):
    module, names = export_module(segmentor, 'backbone')
    assert names == ['stage0', 'stage1', 'stage2', 'stage3']
    export_and_compare(module, names, str(tmp_path / 'backbone.onnx'), [(1, 3, 70, 45)])


@pytest.mark.slow
def test_classifier(tmp_path):
    classifier = build('configs/visiongru_ti_in1k.py', CLS_OPTIONS)
    module, names = export_module(classifier)
    assert names == ['scores']
    export_and_compare(module, names, str(tmp_path / 'cls.onnx'), [(1, 3, 224, 224),
                                                                    (3, 3, 37, 65)])


def test_opset_range():
    for opset in (18, 20, 25):
        check_opset(opset)
    with pytest.raises(ValueError, match=r'opset 11 is too old.*--opset-version 18 or newer'):
        check_opset(11)
    with pytest.raises(ValueError, match=r'opset 26 is newer.*--opset-version 25 or older'):
        check_opset(26)
