"""Checkpoints load strictly, and a mismatch is summarised with its likely fix: pretrained
backbones (``load_pretrained``) and whole models (``load_checkpoint_strict``)."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as CLS_MODELS
from mmseg.models import SegTTAModel
from mmseg.registry import MODELS as SEG_MODELS

import mmseg_visiongru  # noqa: F401  (registers VisionGRU)
from mmseg_visiongru.checkpoint import (infer_arch, likely_fix, load_checkpoint_strict,
                                        load_pretrained)
from mmseg_visiongru.models import VisionGRU

SMALL = dict(embed_dims=16, depths=[1, 1, 2, 1])


def write_backbone_checkpoint(path, model, prefix='backbone.', drop=(), extra=()):
    state = {prefix + k: v for k, v in model.state_dict().items() if k not in drop}
    state.update({prefix + k: torch.zeros(1) for k in extra})
    state['head.fc.weight'] = torch.zeros(3, 3)
    torch.save({'meta': {}, 'state_dict': state}, path)


def test_pretrained_init_is_strict_and_bit_identical(tmp_path):
    source = VisionGRU(SMALL)
    path = tmp_path / 'cls.pth'
    write_backbone_checkpoint(path, source)
    init = dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
    model = VisionGRU(SMALL, init_cfg=init)
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key

    write_backbone_checkpoint(path, source, drop=['stem.0.conv.weight'], extra=['foo.bar'])
    with pytest.raises(KeyError, match=r"1 keys missing \('stem.0.conv.weight'\); "
                       r"1 unexpected keys \('foo.bar'\)"):
        VisionGRU(SMALL, init_cfg=init).init_weights()

    with pytest.raises(KeyError, match="prefix 'encoder.'"):
        VisionGRU(SMALL, init_cfg=dict(init, prefix='encoder.')).init_weights()


def test_truncated_checkpoint_is_named(tmp_path):
    path = tmp_path / 'cls.pth'
    write_backbone_checkpoint(path, VisionGRU(SMALL))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(RuntimeError, match=r"Cannot read checkpoint .*cls.pth"):
        VisionGRU(SMALL, init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()


def test_foreign_and_scalar_checkpoints_are_named(tmp_path):
    def load(path):
        VisionGRU(SMALL, init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                       prefix='backbone.')).init_weights()

    (tmp_path / 'notes.pth').write_text('not a checkpoint')
    with pytest.raises(RuntimeError, match=r"Cannot read checkpoint .*notes.pth.*not a torch"):
        load(tmp_path / 'notes.pth')
    torch.save({'state_dict': {'backbone.w': 1.0}}, tmp_path / 'scalars.pth')
    with pytest.raises(RuntimeError, match='scalars.pth.* holds no state dict of tensors'):
        load(tmp_path / 'scalars.pth')


@pytest.mark.parametrize('arch,config', [('tiny', 'configs/visiongru_ti_in1k.py'),
                                         ('base', 'configs/visiongru_b_in1k.py')])
def test_missing_pretrained_checkpoint_names_three_ways_forward(tmp_path, arch, config):
    path = str(tmp_path / 'checkpoints' / 'visiongru_in1k.pth')
    with torch.device('meta'):
        model = VisionGRU(arch, init_cfg=dict(type='Pretrained', checkpoint=path,
                                              prefix='backbone.'))
    with pytest.raises(FileNotFoundError) as error:
        model.init_weights()
    message = str(error.value)
    assert f'{path!r} does not exist' in message
    assert f'tools/train.py {config}' in message
    assert f'tools/model_converters/visiongru2mmseg.py RELEASED.pth {path}' in message
    assert 'model.backbone.init_cfg=None' in message


def shapes_only(state):
    """``state`` with every tensor a zero-strided view of one element (a tiny file)."""
    return {k: torch.zeros(()).expand(v.shape) for k, v in state.items()}


def test_base_checkpoint_into_tiny_is_summarised_with_the_fix(tmp_path):
    with torch.device('meta'):
        base, tiny = VisionGRU('base'), VisionGRU('tiny')
    path = tmp_path / 'base.pth'
    torch.save({'state_dict': shapes_only(
        {f'backbone.{k}': v for k, v in base.state_dict().items()})}, path)
    with pytest.raises(KeyError) as error:
        load_pretrained(tiny, str(path), prefix='backbone.')
    message = str(error.value)
    assert len(message) < 1000, message  # not every key
    assert "98 unexpected keys ('stages.2.10.dw_conv.bias', 'stages.2.10.dw_conv.weight', " \
        "'stages.2.10.min_gru_1.to_hidden_and_gate.weight', ... (98 in all))" in message
    assert "keys of another shape (e.g. 'downsamples.0.conv.bias': (208,) in the checkpoint, " \
        '(144,) in the model)' in message
    assert message.endswith("Likely fix: the checkpoint is VisionGRU arch='base', the model "
                            "arch='tiny': build the model with arch='base'\"")


def test_prefix_mistakes_name_the_right_prefix(tmp_path):
    model = VisionGRU(SMALL)
    path = tmp_path / 'cls.pth'
    write_backbone_checkpoint(path, model)
    with pytest.raises(KeyError, match=r"Likely fix: the checkpoint holds the model's keys under "
                       r"'backbone.': pass prefix='backbone.'"):
        load_pretrained(model, str(path))
    write_backbone_checkpoint(path, model, prefix='')
    with pytest.raises(KeyError, match=r"starts with prefix 'backbone.'. Likely fix: the "
                       r"checkpoint holds the model's keys without a prefix: leave prefix out"):
        load_pretrained(model, str(path), prefix='backbone.')
    write_backbone_checkpoint(path, model, prefix='module.backbone.')
    with pytest.raises(KeyError, match=r"pass prefix='module.backbone.'"):
        load_pretrained(model, str(path), prefix='backbone.')


def test_other_widths_and_depths_name_the_arch(tmp_path):
    path = tmp_path / 'other.pth'
    write_backbone_checkpoint(path, VisionGRU(dict(embed_dims=8, depths=[1, 1, 3, 1])))
    with pytest.raises(KeyError, match=r"14 unexpected keys \('stages.2.2.dw_conv.bias', .*"
                       r"build the model with arch=\{'embed_dims': 8, 'depths': \[1, 1, 3, 1\]\}"):
        load_pretrained(VisionGRU(SMALL), str(path), prefix='backbone.')
    # Same keys, other widths: a ValueError naming the first shape and the arch.
    write_backbone_checkpoint(path, VisionGRU(dict(embed_dims=8, depths=SMALL['depths'])))
    with pytest.raises(ValueError, match=r"\d+ keys of another shape \(e.g. 'downsamples.0.conv"
                       r".bias': \(16,\) in the checkpoint, \(32,\) in the model\).*"
                       r"arch=\{'embed_dims': 8"):
        load_pretrained(VisionGRU(SMALL), str(path), prefix='backbone.')


def test_infer_arch_reads_widths_and_depths():
    settings = VisionGRU.arch_settings
    for arch in ('tiny', 'base'):
        with torch.device('meta'):
            state = VisionGRU(arch).state_dict()
        assert infer_arch(state, settings) == arch
    state = VisionGRU(SMALL).state_dict()
    assert infer_arch(state, settings) == dict(SMALL)
    assert infer_arch({'w': torch.zeros(1)}, settings) is None
    state['stages.1.0.norm.weight'] = torch.zeros(16)  # a stage-0 width in stage 1
    assert infer_arch(state, settings) is None
    assert likely_fix(VisionGRU(SMALL), {}, {}, None) == ''


def segmentor(embed_dims=16, channels=16, num_classes=5):
    """A small UperNet + VisionGRU (the configs' heads, narrow)."""
    dims = [embed_dims * 2**i for i in range(4)]
    loss = dict(type='CrossEntropyLoss')
    cfg = dict(
        type='EncoderDecoder',
        backbone=dict(type='VisionGRU', arch=dict(embed_dims=embed_dims, depths=[1, 1, 1, 1])),
        decode_head=dict(type='UPerHead', in_channels=dims, in_index=[0, 1, 2, 3],
                         pool_scales=(1, 2), channels=channels, num_classes=num_classes,
                         loss_decode=loss),
        auxiliary_head=dict(type='FCNHead', in_channels=dims[2], in_index=2, channels=8,
                            num_convs=1, num_classes=num_classes, loss_decode=loss))
    with DefaultScope.overwrite_default_scope('mmseg'):
        return SEG_MODELS.build(cfg)


def classifier(embed_dims=16):
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='VisionGRU', arch=dict(embed_dims=embed_dims, depths=[1, 1, 1, 1]),
                      out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=8 * embed_dims))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return CLS_MODELS.build(cfg)


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize('layout', ['mmengine', 'bare', 'ddp'])
def test_whole_model_loads_bit_identical(tmp_path, layout):
    torch.manual_seed(0)
    source, target = segmentor(), segmentor()
    state = source.state_dict()
    saved = {'mmengine': {'meta': {'iter': 4}, 'state_dict': state}, 'bare': state,
             'ddp': {'state_dict': {f'module.{k}': v for k, v in state.items()}}}[layout]
    torch.save(saved, tmp_path / 'seg.pth')
    checkpoint = load_checkpoint_strict(target, str(tmp_path / 'seg.pth'))
    assert_same_weights(source, target)
    assert checkpoint.get('meta') == ({'iter': 4} if layout == 'mmengine' else None)


def save(model, path):
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return str(path)


def load_fails(model, path):
    """The ValueError of loading ``path`` into ``model``, which must be left untouched."""
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError) as error:
        load_checkpoint_strict(model, path)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    message = str(error.value)
    assert len(message) < 1200, message  # summarised, not every key
    return message


def test_classifier_checkpoint_into_segmentor_and_back(tmp_path):
    cls_path = save(classifier(), tmp_path / 'cls.pth')
    message = load_fails(segmentor(), cls_path)
    assert f"Checkpoint {cls_path!r} does not match the model (EncoderDecoder)" in message
    assert "unexpected keys ('head.fc.bias', 'head.fc.weight')" in message
    assert "Likely fix: the checkpoint is a classifier's, the model a segmentor" in message
    assert "prefix='backbone.'" in message
    message = load_fails(classifier(), save(segmentor(), tmp_path / 'seg.pth'))
    assert "Likely fix: the checkpoint is a segmentor's, the model a classifier" in message


def test_other_arch_and_head_widths_are_named(tmp_path):
    message = load_fails(segmentor(), save(segmentor(embed_dims=8), tmp_path / 'narrow.pth'))
    assert "Likely fix: the checkpoint's backbone is VisionGRU arch={'embed_dims': 8, " \
        "'depths': [1, 1, 1, 1]}, the model's arch={'embed_dims': 16" in message
    message = load_fails(segmentor(), save(segmentor(channels=8, num_classes=7),
                                           tmp_path / 'heads.pth'))
    assert 'Likely fix: decode_head: num_classes=7 in the checkpoint, 5 in the model, ' \
        'channels=8 in the checkpoint, 16 in the model' in message
    assert 'auxiliary_head: num_classes=7 in the checkpoint, 5 in the model:' in message
    assert 'arch=' not in message


def test_backbone_only_checkpoint_is_named(tmp_path):
    model = segmentor()
    torch.save({'state_dict': model.backbone.state_dict()}, tmp_path / 'backbone.pth')
    message = load_fails(model, str(tmp_path / 'backbone.pth'))
    assert "keys missing" in message and 'holds a backbone only' in message


def test_wrapped_model_loads_through_its_module(tmp_path):
    torch.manual_seed(0)
    source, target = segmentor(), segmentor()
    load_checkpoint_strict(SegTTAModel(module=target), save(source, tmp_path / 'seg.pth'))
    assert_same_weights(source, target)


def test_unreadable_whole_checkpoint_is_named(tmp_path):
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(RuntimeError, match=r"Cannot read checkpoint .*empty\.pth"):
        load_checkpoint_strict(segmentor(), str(tmp_path / 'empty.pth'))
