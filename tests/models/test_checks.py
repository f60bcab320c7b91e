"""Bad configs, data and checkpoints give errors that name the problem."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmseg_visiongru.checkpoint import infer_arch, likely_fix, load_pretrained
from mmseg_visiongru.models import VisionGRU
from mmseg_visiongru.preflight import check_datasets, check_head_widths
from mmseg_visiongru.transforms import CheckSegLabels

from ..helpers import ROOT

TI = f'{ROOT}/configs/upernet_visiongru_ti_ade20k.py'
SMALL = dict(embed_dims=16, depths=[1, 1, 2, 1])


def test_head_widths_must_match_backbone():
    cfg = Config.fromfile(TI)
    check_head_widths(cfg)
    cfg.model.backbone.arch = 'base'
    with pytest.raises(ValueError, match=r'decode_head.in_channels=\[72, 144, 288, 576\].*'
                       r'\[104, 208, 416, 832\]'):
        check_head_widths(cfg)
    cfg = Config.fromfile(f'{ROOT}/configs/upernet_visiongru_b_ade20k.py')
    check_head_widths(cfg)
    cfg.model.auxiliary_head.in_channels = 288
    with pytest.raises(ValueError, match='auxiliary_head.in_channels=288.*416'):
        check_head_widths(cfg)


def test_missing_and_empty_dataset_folders(tmp_path):
    cfg = Config.fromfile(TI)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='train_dataloader: data_root .*nowhere'):
        check_datasets(cfg)
    (tmp_path / 'images' / 'training').mkdir(parents=True)
    cfg.train_dataloader.dataset.data_root = str(tmp_path)
    with pytest.raises(ValueError, match='images/training.* is empty'):
        check_datasets(cfg, loaders=('train_dataloader', ))
    (tmp_path / 'images' / 'training' / 'a.jpg').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match='annotations/training.* does not exist'):
        check_datasets(cfg, loaders=('train_dataloader', ))
    (tmp_path / 'annotations' / 'training').mkdir(parents=True)
    with pytest.raises(ValueError, match='annotations/training.* is empty'):
        check_datasets(cfg, loaders=('train_dataloader', ))


def test_images_and_annotations_must_pair_up(tmp_path):
    cfg = Config.fromfile(TI)
    cfg.train_dataloader.dataset.data_root = str(tmp_path)
    for folder, names in (('images/training', ['a.jpg', 'b.jpg', 'sub/c.jpg']),
                          ('annotations/training', ['a.png', 'b.png', 'sub/c.png'])):
        for name in names:
            (tmp_path / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / folder / name).write_bytes(b'')
    check_datasets(cfg, loaders=('train_dataloader', ))
    (tmp_path / 'annotations/training/b.png').unlink()
    with pytest.raises(FileNotFoundError,
                       match=r"train_dataloader: no annotation for '.*images/training/b\.jpg'"):
        check_datasets(cfg, loaders=('train_dataloader', ))
    (tmp_path / 'images/training/b.jpg').unlink()
    (tmp_path / 'annotations/training/sub/d.png').write_bytes(b'')
    with pytest.raises(FileNotFoundError,
                       match=r"no image for '.*annotations/training/sub/d\.png'"):
        check_datasets(cfg, loaders=('train_dataloader', ))


def test_label_values_out_of_range():
    check = CheckSegLabels(num_classes=150)
    ok = np.array([[0, 149], [255, 3]], dtype=np.uint8)
    assert check({'gt_seg_map': ok})['gt_seg_map'] is ok
    bad = np.array([[0, 150], [200, 255]], dtype=np.uint8)
    with pytest.raises(ValueError, match=r'a\.png: label values \[150, 200\] are outside'):
        check({'gt_seg_map': bad, 'seg_map_path': 'a.png', 'reduce_zero_label': True})
    assert 'gt_seg_map' not in check({'img': ok})  # inference pipelines pass through


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
