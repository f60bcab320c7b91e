"""tools/test.py --out (label maps as PNG) and --tta (the configs' multi-scale + flip test)."""
import os.path as osp
from glob import glob

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from tools.test import use_tta

from ..helpers import CONFIG, PYTHON, ROOT, run, small_run_options

RATIOS = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
# The Ti UperNet with the quickstart's narrower heads (4x less compute at test time).
HEAD_CHANNELS = {'model.decode_head.channels': 128, 'model.auxiliary_head.channels': 64}
HEADS = [f'{key}={value}' for key, value in HEAD_CHANNELS.items()]


def tta_stages(config):
    pipeline = Config.fromfile(osp.join(ROOT, config)).to_dict()['tta_pipeline']
    assert [t['type'] for t in pipeline] == ['LoadImageFromFile', 'TestTimeAug']
    return pipeline[1]['transforms']


@pytest.mark.parametrize('config', [CONFIG, 'configs/upernet_visiongru_b_ade20k.py'])
def test_ade20k_configs_have_mmseg_tta(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.tta_model.type == 'SegTTAModel'
    resize, flip, annotations, check, pack = tta_stages(config)
    assert [(t['type'], t['scale_factor'], t['keep_ratio']) for t in resize] == [
        ('Resize', r, True) for r in RATIOS]
    assert [(t['type'], t['prob'], t['direction']) for t in flip] == [
        ('RandomFlip', 0., 'horizontal'), ('RandomFlip', 1., 'horizontal')]
    assert annotations == [dict(type='LoadAnnotations', reduce_zero_label=True)]
    assert check == [dict(type='CheckSegLabels', num_classes=150)]
    assert pack == [dict(type='PackSegInputs')]


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """The Ti UperNet at random init (its predictions change under flips and scales)."""
    import mmseg_visiongru  # noqa: F401  (registers VisionGRU)
    from mmseg.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    cfg.merge_from_dict(HEAD_CHANNELS)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('tta') / 'random_init.pth'
    torch.save({'meta': {}, 'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    return str(path)


def label_maps(folder):
    files = sorted(glob(osp.join(folder, '*.png')))
    return {osp.basename(f): np.array(Image.open(f)) for f in files}


@pytest.mark.slow
def test_out_and_tta(checkpoint, ade_sample, tmp_path):
    options = ['--cfg-options', *small_run_options(ade_sample, 2), *HEADS]

    def test(out, *args, config=CONFIG, more_options=()):
        log = run(PYTHON, 'tools/test.py', config, checkpoint, '--work-dir', str(tmp_path / out),
                  '--out', str(tmp_path / out), *args, *options, *more_options)
        assert 'mIoU' in log, log[-3000:]
        return label_maps(tmp_path / out)

    # --out: one label map per validation image, its size, ADE20K's ids (1-150).
    single = test('single')
    annotations = sorted(glob(osp.join(ade_sample, 'annotations', 'validation', '*.png')))
    assert sorted(single) == [osp.basename(a) for a in annotations]
    for name, annotation in zip(sorted(single), annotations):
        assert single[name].shape == np.array(Image.open(annotation)).shape
        assert single[name].dtype == np.uint8
        assert 1 <= single[name].min() and single[name].max() <= 150

    # The config's TTA cut down to its 1.0 scale without the flip is the single-scale test.
    resize, flip, *rest = tta_stages(CONFIG)
    one_view = [[t for t in resize if t['scale_factor'] == 1.0], flip[:1], *rest]
    one_view_config = tmp_path / 'one_view.py'
    one_view_config.write_text(
        f'_base_ = {osp.join(ROOT, CONFIG)!r}\n'
        f"tta_pipeline = [dict(type='LoadImageFromFile'), "
        f"dict(type='TestTimeAug', transforms={one_view!r})]\n")
    assert test('one_view', '--tta', config=str(one_view_config)).keys() == single.keys()
    one_view = label_maps(tmp_path / 'one_view')
    for name in single:
        np.testing.assert_array_equal(one_view[name], single[name])

    # The full TTA (6 scales x 2 flips, on the first image: 12 forward passes): a label map of
    # the same size, another prediction.
    tta = test('tta', '--tta', more_options=['test_dataloader.dataset.indices=1'])
    name = sorted(single)[0]
    assert list(tta) == [name]
    assert tta[name].shape == single[name].shape
    assert 1 <= tta[name].min() and tta[name].max() <= 150
    assert (tta[name] != single[name]).any()


def test_tta_needs_the_config_entries_and_batch_size_one():
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    cfg.test_dataloader.batch_size = 2
    with pytest.raises(ValueError, match='--tta tests one image at a time'):
        use_tta(cfg)
    cfg.test_dataloader.batch_size = 1
    use_tta(cfg)
    assert cfg.model.type == 'SegTTAModel' and cfg.model.module.backbone.type == 'VisionGRU'
    assert cfg.test_dataloader.dataset.pipeline == cfg.tta_pipeline
    cfg.tta_pipeline = None
    with pytest.raises(ValueError, match='--tta needs tta_pipeline in the config'):
        use_tta(cfg)
