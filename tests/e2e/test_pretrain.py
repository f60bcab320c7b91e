"""ImageNet pretraining with the real Ti config on sample folders, and carrying its checkpoint
into the UperNet backbone."""
import os.path as osp

import pytest
import torch
import mmpretrain
from mmengine.config import Config
from mmseg.registry import MODELS as MMSEG_MODELS

from tools.make_sample_data import make_imagenet

from ..helpers import PYTHON, ROOT, losses, run


CONFIG = 'configs/visiongru_ti_in1k.py'


def small_run_options(data, epochs):
    """The real Ti recipe, shrunk: 4 sample classes, 40 px crops, batch 8, `epochs` epochs."""
    options = [
        'data_preprocessor.num_classes=4', 'model.head.num_classes=4',
        'train_dataloader.dataset.pipeline.1.scale=40', 'param_scheduler.0.end=1',
        'param_scheduler.1.begin=1', f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={epochs}', 'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={epochs}', 'val_evaluator.topk=(1,)',
        'test_evaluator.topk=(1,)'
    ]
    for split in ('train', 'val', 'test'):
        options += [
            f'{split}_dataloader.dataset.data_root={data}', f'{split}_dataloader.batch_size=8',
            f'{split}_dataloader.num_workers=0', f'{split}_dataloader.persistent_workers=False'
        ]
    for split in ('val', 'test'):
        options += [f'{split}_dataloader.dataset.pipeline.1.scale=48',
                    f'{split}_dataloader.dataset.pipeline.2.crop_size=40']
    return options


@pytest.fixture(scope='module')
def imagenet_sample(tmp_path_factory):
    data = str(tmp_path_factory.mktemp('imagenet'))
    make_imagenet(data, seed=0, num_classes=4, num_train=16, num_val=4, size=48)
    return data


@pytest.fixture(scope='module')
def pretrained(imagenet_sample, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('pretrain'))
    run(PYTHON, 'tools/train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
        *small_run_options(imagenet_sample, 6))
    return work_dir


def test_pretraining_loss_falls(pretrained):
    values = list(losses(pretrained).values())
    assert len(values) == 6 * 8
    assert sum(values[-8:]) < 0.95 * sum(values[:8]), values


def test_checkpoint_initialises_upernet_backbone_bit_identically(pretrained):
    checkpoint = osp.join(pretrained, 'epoch_6.pth')
    cfg = Config.fromfile(osp.join(ROOT, 'configs/upernet_visiongru_ti_ade20k.py'))
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    segmentor = MMSEG_MODELS.build(cfg.model)
    segmentor.init_weights()
    saved = torch.load(checkpoint)['state_dict']  # EMAHook stores the EMA weights here
    backbone = segmentor.backbone.state_dict()
    assert set(backbone) == {k[len('backbone.'):] for k in saved if k.startswith('backbone.')}
    for key, value in backbone.items():
        assert torch.equal(value, saved['backbone.' + key]), key


@pytest.mark.slow
def test_upstream_mmpretrain_tools_run_our_config(pretrained, imagenet_sample, tmp_path):
    tools = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')
    run(PYTHON, osp.join(tools, 'train.py'), CONFIG, '--work-dir', str(tmp_path / 'train'),
        '--cfg-options', *small_run_options(imagenet_sample, 2))
    out = run(PYTHON, osp.join(tools, 'test.py'), CONFIG, osp.join(pretrained, 'epoch_6.pth'),
              '--work-dir', str(tmp_path / 'test'), '--cfg-options',
              *small_run_options(imagenet_sample, 2))
    assert 'accuracy/top1' in out
