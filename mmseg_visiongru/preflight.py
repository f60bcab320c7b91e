"""Checks run by our tools before a Runner is built, so that a bad config or dataset fails at
once with a message naming the problem instead of deep inside a worker or a convolution."""
import inspect
import os
import os.path as osp

import torch

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
        if not dataset.get('ann_file'):
            check_pairs(loader, dataset)


def _has_files(path: str) -> bool:
    return any(files for _, _, files in os.walk(path))


def _stems(folder: str, suffix: str) -> set:
    """Paths under ``folder`` ending in ``suffix``, relative and without the suffix."""
    return {osp.relpath(osp.join(d, f), folder)[:-len(suffix)]
            for d, _, files in os.walk(folder) for f in files if f.endswith(suffix)}


def check_pairs(loader: str, dataset) -> None:
    """Every image of a segmentation folder dataset has its annotation, and the reverse (mmseg
    would fail on the first missing annotation mid-epoch and silently skip an orphan one)."""
    prefix = dataset.get('data_prefix') or {}
    if not {'img_path', 'seg_map_path'} <= set(prefix):
        return
    from mmseg.registry import DATASETS
    defaults = inspect.signature(DATASETS.get(dataset['type']).__init__).parameters
    suffix = {key: dataset.get(key, defaults[key].default)
              for key in ('img_suffix', 'seg_map_suffix')}
    root = dataset.get('data_root', '')
    images = osp.join(root, prefix['img_path'])
    labels = osp.join(root, prefix['seg_map_path'])
    image_stems = _stems(images, suffix['img_suffix'])
    label_stems = _stems(labels, suffix['seg_map_suffix'])
    for stems, other, folder, sfx, missing in (
            (image_stems, label_stems, images, suffix['img_suffix'], 'annotation'),
            (label_stems, image_stems, labels, suffix['seg_map_suffix'], 'image')):
        lonely = sorted(stems - other)
        if lonely:
            names = ', '.join(repr(osp.join(folder, s + sfx)) for s in lonely[:5])
            more = f' and {len(lonely) - 5} more' if len(lonely) > 5 else ''
            raise FileNotFoundError(f'{loader}: no {missing} for {names}{more}')


def check_head_widths(cfg) -> None:
    """The decode/auxiliary heads take the channels the VisionGRU backbone gives them (read from
    the backbone itself, built without memory on the meta device)."""
    backbone = cfg.model.get('backbone', {})
    if backbone.get('type') != 'VisionGRU':
        return
    with torch.device('meta'):
        model = VisionGRU(**{k: v for k, v in backbone.items() if k != 'type'})
    outputs = [model.channels[i] for i in model.out_indices]
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
                    f', out_indices={tuple(model.out_indices)}) gives {expected} at '
                    f'in_index={index}')


def check_config(cfg, loaders=_LOADERS) -> None:
    check_head_widths(cfg)
    check_datasets(cfg, loaders)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest single-character insertions, deletions and
    substitutions that turn ``a`` into ``b``."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def check_options(cfg, options: dict, allow_new_keys: bool = False) -> None:
    """``--cfg-options`` keys whose top-level name is not in ``cfg`` but within edit distance 2
    of one that is are taken for typos (``trian_cfg.max_iters``), which mmengine would add as
    new keys and ignore; ``allow_new_keys`` (our tools' ``--allow-new-keys``) lets them in."""
    if allow_new_keys:
        return
    for key, value in (options or {}).items():
        top = key.split('.', 1)[0]
        if top in cfg:
            continue
        near = sorted((edit_distance(top, name), name) for name in cfg.keys())
        if near and near[0][0] <= 2:
            raise ValueError(f'--cfg-options {key}={value}: the config has no {top!r}; did you '
                             f'mean {near[0][1]!r}? (to add {top!r} as a new key, pass '
                             '--allow-new-keys)')
