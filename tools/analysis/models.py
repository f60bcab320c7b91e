"""The one table of models that the analysis tools measure, and how each is built.

Backbones (``BACKBONES``) build with torch, mmengine and mmpretrain alone (mmcv-lite is enough):
VisionGRU from ``mmseg_visiongru.models``, DeiT-S and Swin-T from mmpretrain, and the authors'
layout (``tools.analysis.released_layout``).  Segmentors (``SEGMENTORS``, UperNet) need mmseg
and mmcv's compiled ops; they are imported only when one is built.
"""
from typing import Callable, Dict

import torch.nn as nn
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import DefaultScope


def visiongru(arch: str, authors: bool = False) -> Callable[[int], nn.Module]:
    """VisionGRU ``arch``, ours or as the authors' code computes it (four stage outputs)."""
    def build(size: int) -> nn.Module:
        from mmseg_visiongru.models import VisionGRU

        from .released_layout import ReleasedVisionGRU
        if authors:
            setting = VisionGRU.arch_settings[arch]
            return ReleasedVisionGRU(setting['embed_dims'], setting['depths'], num_classes=None)
        return VisionGRU(arch=arch, init_cfg=None)

    return build


def mmpretrain(cfg: dict) -> Callable[[int], nn.Module]:
    """An mmpretrain backbone with ``img_size`` = the input side (position tables that fit).
    Built in mmpretrain's scope: mmpretrain and mmseg both have a ``VisionTransformer``."""
    def build(size: int) -> nn.Module:
        from mmpretrain.registry import MODELS
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            return MODELS.build(dict(cfg, img_size=size))

    return build


BACKBONES: Dict[str, Callable[[int], nn.Module]] = {
    'visiongru-ti': visiongru('tiny'),
    'visiongru-b': visiongru('base'),
    # VisionGRU-Ti as the authors' code computes it (log-space minGRU, separate directions).
    'visiongru-ti-authors': visiongru('tiny', authors=True),
    'deit-s': mmpretrain(dict(type='VisionTransformer', arch='deit-small', patch_size=16)),
    # pad_small_map: feature maps smaller than a window are padded (tests run at 32 px); no
    # effect on maps larger than the 7 x 7 window, i.e. from 256 px on.
    'swin-t': mmpretrain(dict(type='SwinTransformer', arch='tiny', window_size=7,
                              pad_small_map=True)),
}
SEGMENTORS = {
    'upernet-visiongru-ti': 'configs/upernet_visiongru_ti_ade20k.py',
    'upernet-swin-t': 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_'
                      'ade20k-512x512.py',
    'upernet-deit-s': 'mmseg::vit/vit_deit-s16_mln_upernet_8xb2-160k_ade20k-512x512.py',
}
NAMES = list(BACKBONES) + list(SEGMENTORS)


class SegmentorForward(nn.Module):
    """A segmentor's inference tensor forward: backbone, neck and decode head."""

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, x):
        return self.segmentor._forward(x)


def segmentor(name: str, size: int) -> nn.Module:
    """The UperNet ``name`` from its config, without pretrained weights, with SyncBN as BN."""
    import mmseg_visiongru  # noqa: F401 (registers VisionGRU in mmseg)
    from mmengine.model import revert_sync_batchnorm
    from mmseg.registry import MODELS
    path = SEGMENTORS[name]
    cfg = get_config(path) if '::' in path else Config.fromfile(path)
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = None
    if cfg.model.backbone.type == 'VisionTransformer':
        cfg.model.backbone.img_size = (size, size)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return revert_sync_batchnorm(MODELS.build(cfg.model))


def build(name: str, size: int) -> nn.Module:
    """The model ``name`` for square inputs of side ``size``, in eval mode: a backbone (tuple of
    feature maps) or a segmentor's tensor forward (:class:`SegmentorForward`)."""
    if name in BACKBONES:
        model = BACKBONES[name](size)
    elif name in SEGMENTORS:
        model = SegmentorForward(segmentor(name, size))
    else:
        raise KeyError(f'Unknown model {name!r}; choose from {NAMES}')
    model.eval()  # not `return model.eval()`: some backbones' train() returns None
    return model
