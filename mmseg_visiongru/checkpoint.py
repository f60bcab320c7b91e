"""Strict checkpoint loading, with errors that say what to do: pretrained backbone weights
(:func:`load_pretrained`) and whole models for testing, inference, resuming and export
(:func:`load_checkpoint_strict`)."""
import os.path as osp
import re
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Union

import torch
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner import CheckpointLoader
from torch import nn

# Where a pretrained checkpoint of each named arch comes from (tools/ and configs/ of this repo).
_PRETRAIN_CONFIGS = {'tiny': 'configs/visiongru_ti_in1k.py', 'base': 'configs/visiongru_b_in1k.py'}
_SHOWN = 3  # keys named per kind of mismatch


def read_checkpoint(filename: str, map_location: Any = 'cpu', mmap: bool = False) -> Any:
    """Read a checkpoint file as saved (a state dict, or a dict holding one and metadata);
    ``mmap=True`` maps a local file's tensors instead of reading them (metadata and shapes at
    the cost of a few reads)."""
    try:
        if mmap:
            return torch.load(filename, map_location=map_location, mmap=True)
        return CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    except FileNotFoundError:
        raise
    except Exception as e:  # truncated zip, not a checkpoint, disallowed pickle global
        raise RuntimeError(
            f'Cannot read checkpoint {filename!r} (truncated, not a torch checkpoint, or holding '
            f'objects the safe loader refuses): {type(e).__name__}: {e}') from e


def read_state_dict(filename: str, map_location: Any = 'cpu',
                    checkpoint: Any = None) -> Dict[str, torch.Tensor]:
    """Read a checkpoint (or take ``checkpoint``, read from ``filename`` already) and return its
    (possibly nested) state dict."""
    if checkpoint is None:
        checkpoint = read_checkpoint(filename, map_location)
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model'):
            if isinstance(checkpoint.get(key), dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict) or not all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise RuntimeError(f'Checkpoint {filename!r} holds no state dict of tensors')
    return checkpoint


def arch_name(arch: Union[str, dict], arch_settings: Dict[str, dict]) -> Union[str, dict]:
    """``arch`` in one form: its name in ``arch_settings`` when it has one, else
    ``dict(embed_dims=..., depths=[...])``."""
    if isinstance(arch, str):
        return arch
    arch = dict(embed_dims=arch['embed_dims'], depths=list(arch['depths']))
    return next((name for name, named in arch_settings.items()
                 if dict(named, depths=list(named['depths'])) == arch), arch)


def infer_arch(state_dict: Dict[str, torch.Tensor],
               arch_settings: Dict[str, dict]) -> Union[str, dict, None]:
    """The arch a VisionGRU state dict (our key layout, no prefix) was saved from.

    ``embed_dims`` C is read from the stem's output width, ``depths`` from the block indices
    of each stage, and every block's width must be ``C * 2**stage``.

    Returns:
        str | dict | None: The name in ``arch_settings`` when one matches, else
        ``dict(embed_dims=..., depths=[...])``; None when the keys are not a VisionGRU's.
    """
    stem = state_dict.get('stem.2.conv.weight')
    if stem is None:
        return None
    embed_dims, depths = stem.shape[0], [0] * 4
    for key, value in state_dict.items():
        match = re.match(r'stages\.([0-3])\.(\d+)\.norm\.weight$', key)
        if match:
            stage, block = int(match.group(1)), int(match.group(2))
            if value.shape != (embed_dims * 2**stage, ):
                return None
            depths[stage] = max(depths[stage], block + 1)
    return arch_name(dict(embed_dims=embed_dims, depths=depths), arch_settings)


def _sample(keys: List[str]) -> str:
    more = f', ... ({len(keys)} in all)' if len(keys) > _SHOWN else ''
    return ', '.join(repr(k) for k in keys[:_SHOWN]) + more


def _prefix_holding(keys: List[str], state: Dict[str, torch.Tensor]) -> Optional[str]:
    """The prefix ('' for none) under which ``state`` holds every one of ``keys``, if any."""
    for candidate in state:
        prefix = candidate[:-len(keys[0])]
        if candidate.endswith(keys[0]) and prefix[-1:] in ('', '.') and all(
                prefix + k in state for k in keys):
            return prefix
    return None


def likely_fix(module: nn.Module, checkpoint: Dict[str, torch.Tensor],
               state: Dict[str, torch.Tensor], prefix: Optional[str]) -> str:
    """What to change when a ``checkpoint`` state dict, read with ``prefix`` as ``state``,
    does not fit ``module``: the prefix, or the arch; '' when neither explains it."""
    found = _prefix_holding(list(module.state_dict()), checkpoint)
    if found == '' and prefix:
        return "the checkpoint holds the model's keys without a prefix: leave prefix out"
    if found and found != prefix:
        return f"the checkpoint holds the model's keys under {found!r}: pass prefix={found!r}"
    if not hasattr(module, 'arch_settings'):
        return ''
    arch = infer_arch(state, module.arch_settings)
    model_arch = arch_name(dict(embed_dims=module.embed_dims, depths=module.depths),
                        module.arch_settings)
    if arch is None or arch == model_arch:
        return ''
    return f'the checkpoint is VisionGRU arch={arch!r}, the model arch={model_arch!r}: ' \
           f'build the model with arch={arch!r}'


def describe_missing(filename: str, module: nn.Module) -> str:
    """The three ways to a pretrained checkpoint that does not exist yet."""
    arch = arch_name(dict(embed_dims=module.embed_dims, depths=module.depths),
                  module.arch_settings) if hasattr(module, 'arch_settings') else None
    config = _PRETRAIN_CONFIGS.get(arch) if isinstance(arch, str) else None
    config = config or 'a copy of configs/visiongru_ti_in1k.py with this arch'
    return (f'Pretrained checkpoint {filename!r} does not exist. Three ways forward: '
            f'(1) pretrain it: python tools/train.py {config}, then copy the last '
            f'epoch_N.pth of its work dir to {filename}; '
            "(2) convert the authors' released checkpoint: python "
            f'tools/model_converters/visiongru2mmseg.py RELEASED.pth {filename}; '
            '(3) train from scratch: --cfg-options model.backbone.init_cfg=None.')


def load_pretrained(module: nn.Module, filename: str, prefix: Optional[str] = None) -> None:
    """Load ``filename`` into ``module`` strictly.

    Args:
        module (nn.Module): The model part to initialise (e.g. the backbone).
        filename (str): Checkpoint path (or any URI mmengine can read).
        prefix (str, optional): Only keys starting with it are used, with it removed
            (``'backbone.'`` for a checkpoint of a whole classifier or segmentor).

    Raises:
        FileNotFoundError: A local ``filename`` that does not exist (the ways to make it are
            named).
        KeyError: Keys missing from or unexpected in the checkpoint, or no key with
            ``prefix``: counts, the first keys and the likely fix are named.
        ValueError: Keys whose shapes differ (counted, the first named, and the likely fix).
    """
    if '://' not in filename and not osp.isfile(osp.expanduser(filename)):
        raise FileNotFoundError(describe_missing(filename, module))
    checkpoint = state = read_state_dict(filename)
    if prefix:
        state = OrderedDict(
            (k[len(prefix):], v) for k, v in checkpoint.items() if k.startswith(prefix))
        if not state:
            fix = likely_fix(module, checkpoint, state, prefix)
            raise KeyError(f'No key in checkpoint {filename!r} starts with prefix {prefix!r}'
                           + (f'. Likely fix: {fix}' if fix else ''))
    summary, keys_differ = compare(module.state_dict(), state)
    if not summary:
        module.load_state_dict(state, strict=True)
        return
    fix = likely_fix(module, checkpoint, state, prefix)
    message = f'Checkpoint {filename!r} does not match {type(module).__name__}: {summary}' + \
        (f'. Likely fix: {fix}' if fix else '')
    raise (KeyError if keys_differ else ValueError)(message)


def compare(own: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor]) -> tuple:
    """How ``state`` differs from a model's ``own`` state dict, summarised (counts and the
    first keys of each kind), and whether keys (not only shapes) differ; ``''`` if it fits."""
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k, v in state.items() if k in own and v.shape != own[k].shape)
    parts = [f'{len(keys)} {what} ({_sample(keys)})' for keys, what in (
        (missing, 'keys missing'), (unexpected, 'unexpected keys')) if keys]
    if mismatched:
        k = mismatched[0]
        parts.append(f'{len(mismatched)} keys of another shape (e.g. {k!r}: '
                     f'{tuple(state[k].shape)} in the checkpoint, {tuple(own[k].shape)} in '
                     'the model)')
    return '; '.join(parts), bool(missing or unexpected)


# The weight of each head's last layer: (num_classes, channels, ...) in mmseg and mmpretrain.
_HEAD_OUTPUTS = {'decode_head': 'conv_seg.weight', 'auxiliary_head': 'conv_seg.weight',
                 'head': 'fc.weight'}
_KINDS = {'decode_head': 'segmentor', 'head': 'classifier'}


def _kind(keys) -> Optional[str]:
    tops = {k.split('.', 1)[0] for k in keys}
    return next((kind for top, kind in _KINDS.items() if top in tops), None)


def model_fix(model: nn.Module, state: Dict[str, torch.Tensor]) -> str:
    """What to change when ``state`` (a whole model's checkpoint) does not fit ``model``: the
    kind of model (segmentor or classifier), the backbone's arch, the heads' widths."""
    own = model.state_dict()
    ckpt_kind, model_kind = _kind(state), _kind(own)
    if ckpt_kind and model_kind and ckpt_kind != model_kind:
        if ckpt_kind == 'classifier':
            return ("the checkpoint is a classifier's, the model a segmentor: a classification "
                    'checkpoint initialises the backbone only, model.backbone.init_cfg='
                    "dict(type='Pretrained', checkpoint=..., prefix='backbone.'), and the "
                    'segmentor is trained from there (docs/pretrain_to_segment.md)')
        return ("the checkpoint is a segmentor's, the model a classifier: use the segmentation "
                'config it was trained with')
    backbone = getattr(model, 'backbone', None)
    if isinstance(backbone, nn.Module) and ckpt_kind is None:
        prefix = _prefix_holding(list(backbone.state_dict()), state)
        if prefix is not None:
            return ('the checkpoint holds a backbone only: it initialises one, '
                    "model.backbone.init_cfg=dict(type='Pretrained', checkpoint=..."
                    + (f', prefix={prefix!r}' if prefix else '') + ')')
    fixes = []
    if hasattr(backbone, 'arch_settings'):
        arch = infer_arch({k[len('backbone.'):]: v for k, v in state.items()
                           if k.startswith('backbone.')}, backbone.arch_settings)
        model_arch = arch_name(dict(embed_dims=backbone.embed_dims, depths=backbone.depths),
                               backbone.arch_settings)
        if arch is not None and arch != model_arch:
            fixes.append(f'the checkpoint\'s backbone is VisionGRU arch={arch!r}, the model\'s '
                         f'arch={model_arch!r}: use the config of arch={arch!r} (or set '
                         f'model.backbone.arch)')
    for head, key in _HEAD_OUTPUTS.items():
        key = f'{head}.{key}'
        if key in state and key in own and state[key].shape != own[key].shape:
            widths = [f'{what}={state[key].shape[i]} in the checkpoint, '
                      f'{own[key].shape[i]} in the model'
                      for i, what in enumerate(('num_classes', 'channels'))
                      if state[key].shape[i] != own[key].shape[i]]
            fixes.append(f'{head}: ' + ', '.join(widths) + ': use the config the checkpoint '
                         f'was trained with (or set model.{head}.num_classes / .channels)')
    return '; '.join(fixes)


def _unwrap(model: nn.Module) -> nn.Module:
    """The model inside DDP and TTA wrappers."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def check_fits(model: nn.Module, checkpoint: Any, filename: str) -> Dict[str, torch.Tensor]:
    """Check that a whole model's ``checkpoint`` (as read from ``filename``) fits ``model``
    (unwrapped from DDP or a TTA model), reading only shapes; return its state dict (keys under
    ``module.``, as a DDP model's, are read without it).

    Raises:
        ValueError: Missing, unexpected and reshaped keys summarised, then the likely fix
            (classifier vs segmentor checkpoint, backbone arch, head widths).
    """
    model = _unwrap(model)
    state = read_state_dict(filename, checkpoint=checkpoint)
    if state and all(k.startswith('module.') for k in state):
        state = OrderedDict((k[len('module.'):], v) for k, v in state.items())
    summary, _ = compare(model.state_dict(), state)
    if summary:
        fix = model_fix(model, state)
        raise ValueError(f'Checkpoint {filename!r} does not match the model '
                         f'({type(model).__name__}): {summary}'
                         + (f'. Likely fix: {fix}' if fix else ''))
    return state


def load_checkpoint_strict(model: nn.Module, filename: str,
                           map_location: Any = 'cpu') -> Dict[str, Any]:
    """Load a whole model's checkpoint into ``model`` strictly, after :func:`check_fits`: the
    checkpoint is compared with the model before anything is loaded.

    Args:
        model (nn.Module): The model (a segmentor or classifier; a DDP or TTA wrapper is
            loaded through its ``module``).
        filename (str): Checkpoint path (or any URI mmengine can read): a state dict, or a
            dict holding ``state_dict`` or ``model`` (and e.g. ``meta``).
        map_location: Where the tensors are read to. Defaults to ``'cpu'``.

    Returns:
        dict: The checkpoint as read (``{'state_dict': ...}`` for a bare state dict), e.g. for
        its ``meta``.

    Raises:
        FileNotFoundError: No such file.
        RuntimeError: The file cannot be read as a checkpoint.
        ValueError: The checkpoint does not fit the model (see :func:`check_fits`).
    """
    checkpoint = read_checkpoint(filename, map_location)
    state = check_fits(model, checkpoint, filename)
    _unwrap(model).load_state_dict(state, strict=True)
    nested = any(isinstance(checkpoint.get(key), dict) for key in ('state_dict', 'model'))
    return checkpoint if nested else {'state_dict': state}
