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
from typing import Dict, List, Union

import torch

from .checkpoint import arch_name, infer_arch
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


def _rename(released: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Released keys -> ours (``stem.``, ``stages.``, ``downsamples.``, ``head.fc.``)."""
    renamed = OrderedDict()
    for key, value in released.items():
        new = key
        for pattern, repl in _RULES:
            new = re.sub(pattern, repl, new)
        if new == key:
            raise KeyError(f'Unexpected key {key!r} in the released checkpoint')
        renamed[new] = value
    return renamed


def _backbone(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.startswith('head.')}


def _from_shadow_params(params: List[torch.Tensor], arch: Union[str, dict, None]):
    """Name ``torch_ema``'s ``shadow_params`` as the arch whose parameter list they fit."""
    candidates = [arch] if arch is not None else list(VisionGRU.arch_settings)
    for candidate in candidates:
        settings = VisionGRU.arch_settings[candidate] if isinstance(candidate, str) else candidate
        depths = settings['depths']
        for with_fc in (True, False):
            names = official_parameter_names(depths, with_fc)
            if len(names) == len(params):
                state = _rename(OrderedDict(zip(names, params)))
                if infer_arch(_backbone(state), VisionGRU.arch_settings) == candidate:
                    return state
    raise ValueError(f'EMA checkpoint of {len(params)} shadow params fits no VisionGRU arch '
                     f'among {candidates}')


def unpack(checkpoint, arch: Union[str, dict, None] = None) -> Dict[str, torch.Tensor]:
    """Our state dict (no ``backbone.`` prefix yet) from any of the ways the released code
    saves one: plain, nested under ``state_dict`` / ``model``, with wrapper prefixes, or a
    ``torch_ema`` state (``shadow_params`` list, named by ``arch`` or, if None, by the arch
    whose parameters it fits)."""
    if isinstance(checkpoint, dict) and 'shadow_params' in checkpoint:
        return _from_shadow_params(checkpoint['shadow_params'], arch)
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            return unpack(checkpoint[key], arch)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'Not a VisionGRU checkpoint: a {type(checkpoint).__name__}')
    return _rename(OrderedDict((strip_prefixes(k), v) for k, v in checkpoint.items()))


def convert(checkpoint, arch: Union[str, dict, None] = None,
            with_head: bool = False) -> Dict[str, torch.Tensor]:
    """Released checkpoint -> our state dict with ``backbone.`` (and ``head.``) keys.

    Args:
        checkpoint: What ``torch.load`` returned for the released file.
        arch (str | dict, optional): The arch it holds; None infers it from the shapes.
            Defaults to None.
        with_head (bool): Keep the classifier as ``head.fc``. Defaults to False.

    Raises:
        KeyError: A key the released model does not have.
        ValueError: Not a VisionGRU, or not of ``arch``.
    """
    if arch is not None:
        arch = arch_name(arch, VisionGRU.arch_settings)
    state = unpack(checkpoint, arch)
    found = infer_arch(_backbone(state), VisionGRU.arch_settings)
    if found is None:
        raise ValueError('The checkpoint is not a VisionGRU: no stem, or blocks whose widths '
                         'are not C, 2C, 4C, 8C')
    if arch is not None and found != arch:
        raise ValueError(f'The checkpoint holds VisionGRU arch={found!r}, not arch={arch!r}: '
                         'leave the arch out to convert what it holds')
    return OrderedDict((k if k.startswith('head.') else 'backbone.' + k, v)
                       for k, v in state.items() if with_head or not k.startswith('head.'))


def arch_of(converted: Dict[str, torch.Tensor]) -> Union[str, dict, None]:
    """The arch of a converted state dict (``backbone.`` keys)."""
    return infer_arch({k[len('backbone.'):]: v for k, v in converted.items()
                       if k.startswith('backbone.')}, VisionGRU.arch_settings)
