"""Checks run by our tools before a Runner is built, so that a bad config or dataset fails at
once with a message naming the problem instead of deep inside a worker or a convolution."""
import os
import os.path as osp
from typing import List

from .models import VisionGRU

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def check_datasets(cfg, loaders=_LOADERS) -> None:
    """Every dataset folder (and annotation file) the config names exists and is not empty."""
    for loader in loaders:
        dataset = (cfg.get(loader) or {}).get('dataset')
        if not dataset:
            continue
        root = dataset.get('data_root', '')
        hint = f'(set {loader}.dataset.data_root, e.g. with --cfg-options)'
        if root and not osp.isdir(root):
            raise FileNotFoundError(f'{loader}: data_root {root!r} does not exist {hint}')
        folders = list((dataset.get('data_prefix') or {}).values())
        if dataset.get('ann_file'):
            ann_file = osp.join(root, dataset['ann_file'])
            if not osp.isfile(ann_file):
                raise FileNotFoundError(f'{loader}: annotation file {ann_file!r} is missing')
        elif not folders:
            folders = [dataset.get('split', '')]
        for folder in filter(None, folders):
            path = osp.join(root, folder)
            if not osp.isdir(path):
                raise FileNotFoundError(f'{loader}: folder {path!r} does not exist {hint}')
            if not _has_files(path):
                raise ValueError(f'{loader}: folder {path!r} is empty: no samples to load')


def _has_files(path: str) -> bool:
    return any(files for _, _, files in os.walk(path))


def check_head_widths(cfg) -> None:
    """The decode/auxiliary heads take the channels the VisionGRU backbone gives them."""
    backbone = cfg.model.get('backbone', {})
    if backbone.get('type') != 'VisionGRU':
        return
    arch = backbone.get('arch', 'tiny')
    arch = VisionGRU.arch_settings.get(arch, arch) if isinstance(arch, str) else arch
    channels: List[int] = [arch['embed_dims'] * 2**i for i in range(VisionGRU.num_stages)]
    out_indices = [i % 4 for i in backbone.get('out_indices', (0, 1, 2, 3))]
    outputs = [channels[i] for i in out_indices]
    for name in ('decode_head', 'auxiliary_head'):
        heads = cfg.model.get(name) or []
        for head in heads if isinstance(heads, list) else [heads]:
            if 'in_channels' not in head:
                continue
            index, given = head.get('in_index', -1), head['in_channels']
            if isinstance(index, (list, tuple)):
                expected, given = [outputs[i] for i in index], list(given)
            else:
                expected = outputs[index]
            if given != expected:
                raise ValueError(
                    f'model.{name}.in_channels={given} but VisionGRU(arch={backbone.get("arch")}'
                    f', out_indices={tuple(out_indices)}) gives {expected} at in_index={index}')


def check_config(cfg, loaders=_LOADERS) -> None:
    check_head_widths(cfg)
    check_datasets(cfg, loaders)
