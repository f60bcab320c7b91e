"""Strict loading of pretrained backbone weights, with errors that say what to do."""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Union

import torch
from mmengine.runner import CheckpointLoader
from torch import nn

# Where a pretrained checkpoint of each named arch comes from (tools/ and configs/ of this repo).
_PRETRAIN_CONFIGS = {'tiny': 'configs/visiongru_ti_in1k.py', 'base': 'configs/visiongru_b_in1k.py'}
_SHOWN = 3  # keys named per kind of mismatch


def read_state_dict(filename: str) -> Dict[str, torch.Tensor]:
    """Read a checkpoint and return its (possibly nested) state dict."""
    try:
        checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    except FileNotFoundError:
        raise
    except Exception as e:  # truncated zip, not a checkpoint, disallowed pickle global
        raise RuntimeError(
            f'Cannot read checkpoint {filename!r} (truncated, not a torch checkpoint, or holding '
            f'objects the safe loader refuses): {type(e).__name__}: {e}') from e
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
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k, v in state.items() if k in own and v.shape != own[k].shape)
    if not (missing or unexpected or mismatched):
        module.load_state_dict(state, strict=True)
        return
    parts = [f'{len(keys)} {what} ({_sample(keys)})' for keys, what in (
        (missing, 'keys missing'), (unexpected, 'unexpected keys')) if keys]
    if mismatched:
        k = mismatched[0]
        parts.append(f'{len(mismatched)} keys of another shape (e.g. {k!r}: '
                     f'{tuple(state[k].shape)} in the checkpoint, {tuple(own[k].shape)} in '
                     'the model)')
    fix = likely_fix(module, checkpoint, state, prefix)
    message = f'Checkpoint {filename!r} does not match {type(module).__name__}: ' + \
        '; '.join(parts) + (f'. Likely fix: {fix}' if fix else '')
    raise (KeyError if missing or unexpected else ValueError)(message)
