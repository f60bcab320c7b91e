"""Bad configs, data and checkpoints give errors that name the problem."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub

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


def test_mmengine_checkpoints_load_with_torch_safe_loader(tmp_path):
    hub = MessageHub.get_instance('test_compat')
    hub.update_scalar('train/loss', np.float64(1.5))
    hub.update_scalar('train/loss', 0.5)
    path = tmp_path / 'ckpt.pth'
    torch.save({'meta': {'seed': np.int64(3)}, 'message_hub': hub.state_dict(),
                'state_dict': {'w': torch.ones(2)}}, path)
    ckpt = torch.load(path)  # weights_only=True by default
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == 1.0
    assert ckpt['meta']['seed'] == 3


class _GetattrPayload:

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


@pytest.mark.parametrize('owner,name', [(HistoryBuffer, 'update'), (HistoryBuffer, '__init__'),
                                        (np.ndarray, 'tofile')])
def test_safe_loader_still_refuses_other_getattr(tmp_path, owner, name):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _GetattrPayload(owner, name)}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


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
    with pytest.raises(KeyError, match=r"missing keys \['stem.0.conv.weight'\], "
                       r"unexpected keys \['foo.bar'\]"):
        VisionGRU(SMALL, init_cfg=init).init_weights()

    write_backbone_checkpoint(path, VisionGRU(dict(embed_dims=8, depths=[1, 1, 2, 1])))
    with pytest.raises(ValueError, match=r'stem.0.conv.weight has shape \(4, 3, 3, 3\), '
                       r'the model expects \(8, 3, 3, 3\)'):
        VisionGRU(SMALL, init_cfg=init).init_weights()

    with pytest.raises(KeyError, match="prefix 'encoder.'"):
        VisionGRU(SMALL, init_cfg=dict(init, prefix='encoder.')).init_weights()


def test_truncated_checkpoint_is_named(tmp_path):
    path = tmp_path / 'cls.pth'
    write_backbone_checkpoint(path, VisionGRU(SMALL))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(RuntimeError, match=r"Cannot read checkpoint .*cls.pth"):
        VisionGRU(SMALL, init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()


def test_missing_foreign_and_wrong_architecture_checkpoints_are_named(tmp_path):
    def load(path):
        VisionGRU(SMALL, init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                       prefix='backbone.')).init_weights()

    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load(tmp_path / 'nope.pth')
    (tmp_path / 'notes.pth').write_text('not a checkpoint')
    with pytest.raises(RuntimeError, match=r"Cannot read checkpoint .*notes.pth.*not a torch"):
        load(tmp_path / 'notes.pth')
    torch.save({'state_dict': {'backbone.w': 1.0}}, tmp_path / 'scalars.pth')
    with pytest.raises(RuntimeError, match='scalars.pth.* holds no state dict of tensors'):
        load(tmp_path / 'scalars.pth')
    # A deeper model of other widths: extra keys and every shared key's shapes are named.
    write_backbone_checkpoint(tmp_path / 'big.pth', VisionGRU(dict(embed_dims=8,
                                                                   depths=[1, 1, 3, 1])))
    with pytest.raises(KeyError, match=r"missing keys \[\], unexpected keys \['stages.2.2.dw_conv"
                       r".*shape mismatches: \['stem.0.conv.weight has shape \(4, 3, 3, 3\), "
                       r"the model expects \(8, 3, 3, 3\)'"):
        load(tmp_path / 'big.pth')
