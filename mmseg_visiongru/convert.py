"""Convert checkpoints of the authors' released VisionGRU code into our key layout.

Released layout                              ours
``tokenizer.{conv1,norm1}``                  ``stem.0.{conv,norm}``
``tokenizer.{conv2,norm2}``                  ``stem.2.{conv,norm}``
``snake_gru.layers.{s}.{i}.<block>``         ``stages.{s}.{i}.<block>`` (same block names)
``snake_gru.{conv,norm}{k}`` (k = 1, 2, 3)   ``downsamples.{k-1}.{conv,norm}``
``fc``                                       ``head.fc`` (classifier only)
"""
import re
from collections import OrderedDict
from typing import Dict, List

import torch

from .models import VisionGRU

_PREFIXES = ('_orig_mod.', 'module.', 'vig.')
_RULES = [
    (r'^tokenizer\.(conv|norm)1\.', r'stem.0.\1.'),
    (r'^tokenizer\.(conv|norm)2\.', r'stem.2.\1.'),
    (r'^snake_gru\.layers\.', 'stages.'),
    (r'^snake_gru\.(conv|norm)([123])\.',
     lambda m: f'downsamples.{int(m.group(2)) - 1}.{m.group(1)}.'),
    (r'^fc\.', 'head.fc.'),
]
_BLOCK = ('norm', 'dw_conv', 'min_gru_1.to_hidden_and_gate', 'min_gru_1.to_out',
          'min_gru_2.to_hidden_and_gate', 'min_gru_2.to_out', 'norm2', 'projection1',
          'projection2')


def strip_prefixes(key: str) -> str:
    """Remove ``torch.compile`` / DDP / wrapper prefixes, however they are stacked."""
    while key.startswith(_PREFIXES):
        key = key[next(len(p) for p in _PREFIXES if key.startswith(p)):]
    return key


def official_parameter_names(depths: List[int], with_fc: bool) -> List[str]:
    """Parameter names of the released model, in its ``parameters()`` order (the order of
    ``torch_ema``'s ``shadow_params``)."""
    names = [f'tokenizer.{m}.{p}' for m in ('conv1', 'norm1', 'conv2', 'norm2')
             for p in ('weight', 'bias')]
    for s, depth in enumerate(depths):
        for i in range(depth):
            for m in _BLOCK:
                params = ('weight', ) if m.startswith('min_gru') else ('weight', 'bias')
                names += [f'snake_gru.layers.{s}.{i}.{m}.{p}' for p in params]
    names += [f'snake_gru.{m}.{p}' for m in ('conv1', 'conv2', 'conv3', 'norm1', 'norm2', 'norm3')
              for p in ('weight', 'bias')]
    return names + (['fc.weight', 'fc.bias'] if with_fc else [])


def unpack(checkpoint, depths: List[int]) -> Dict[str, torch.Tensor]:
    """The released state dict from any of the ways it is saved: plain, nested under
    ``state_dict`` / ``model``, or a ``torch_ema`` state (``shadow_params`` list)."""
    if isinstance(checkpoint, dict) and 'shadow_params' in checkpoint:
        params = checkpoint['shadow_params']
        for with_fc in (True, False):
            names = official_parameter_names(depths, with_fc)
            if len(names) == len(params):
                return OrderedDict(zip(names, params))
        raise ValueError(f'EMA checkpoint has {len(params)} shadow params; the released model '
                         f'with depths {depths} has {len(official_parameter_names(depths, True))}'
                         ' (with classifier) or that minus 2 (without)')
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            return unpack(checkpoint[key], depths)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'Not a VisionGRU checkpoint: a {type(checkpoint).__name__}')
    return OrderedDict((strip_prefixes(k), v) for k, v in checkpoint.items())


def convert(checkpoint, arch: str = 'tiny', with_head: bool = False) -> Dict[str, torch.Tensor]:
    """Released checkpoint -> our state dict with ``backbone.`` (and ``head.``) keys."""
    depths = VisionGRU.arch_settings[arch]['depths'] if isinstance(arch, str) else arch['depths']
    converted = OrderedDict()
    for key, value in unpack(checkpoint, depths).items():
        new = key
        for pattern, repl in _RULES:
            new = re.sub(pattern, repl, new)
        if new == key:
            raise KeyError(f'Unexpected key {key!r} in the released checkpoint')
        if new.startswith('head.'):
            if with_head:
                converted[new] = value
        else:
            converted['backbone.' + new] = value
    return converted
