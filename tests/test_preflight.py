"""Our tools check a config before building a Runner: head widths, datasets, option keys."""
import pytest
from mmengine.config import Config

from mmseg_visiongru.preflight import (check_datasets, check_head_widths, check_options,
                                       edit_distance)

from .helpers import ROOT

TI = f'{ROOT}/configs/upernet_visiongru_ti_ade20k.py'


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


def test_edit_distance():
    assert edit_distance('train_cfg', 'train_cfg') == 0
    assert edit_distance('trian_cfg', 'train_cfg') == 2  # a swap is two substitutions
    assert edit_distance('train_cf', 'train_cfg') == 1
    assert edit_distance('', 'abc') == edit_distance('abc', '') == 3
    assert edit_distance('kitten', 'sitting') == 3


def test_option_typos_are_errors_and_new_keys_need_the_flag():
    cfg = Config.fromfile(TI)
    check_options(cfg, {'train_cfg.max_iters': 2, 'model.backbone.arch': 'base',
                        'my_own_setting': 1})  # far from every key: a new key
    for typo, meant in (('trian_cfg.max_iters', 'train_cfg'), ('modle.backbone.arch', 'model'),
                        ('default_hook.logger.interval', 'default_hooks')):
        with pytest.raises(ValueError, match=rf"--cfg-options {typo}=2: the config has no "
                           rf"'{typo.split('.')[0]}'; did you mean '{meant}'\? \(to add .* "
                           r'pass --allow-new-keys\)'):
            check_options(cfg, {typo: 2})
        check_options(cfg, {typo: 2}, allow_new_keys=True)
