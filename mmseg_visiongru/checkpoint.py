"""Strict loading of pretrained backbone weights, with errors that name the problem."""
from collections import OrderedDict
from typing import Dict, Optional

import torch
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn


def read_state_dict(filename: str) -> Dict[str, torch.Tensor]:
    """Read a checkpoint and return its (possibly nested) state dict."""
    try:
        checkpoint = _load_checkpoint(filename, map_location='cpu')
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


def load_pretrained(module: nn.Module, filename: str, prefix: Optional[str] = None) -> None:
    """Load ``filename`` into ``module`` strictly.

    Args:
        module (nn.Module): The model part to initialise (e.g. the backbone).
        filename (str): Checkpoint path (or any URI mmengine can read).
        prefix (str, optional): Only keys starting with it are used, with it removed
            (``'backbone.'`` for a checkpoint of a whole classifier or segmentor).

    Raises:
        KeyError: Keys missing from or unexpected in the checkpoint (all listed), or no key
            with ``prefix``.
        ValueError: A key whose shape differs (key and both shapes named).
    """
    state = read_state_dict(filename)
    if prefix:
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
        if not state:
            raise KeyError(f'No key in checkpoint {filename!r} starts with prefix {prefix!r}')
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [f'{k} has shape {tuple(v.shape)}, the model expects {tuple(own[k].shape)}'
                  for k, v in state.items() if k in own and v.shape != own[k].shape]
    if missing or unexpected:
        shapes = f'; and {len(mismatched)} shape mismatches: {mismatched}' if mismatched else ''
        raise KeyError(f'Checkpoint {filename!r} does not match {type(module).__name__}: '
                       f'missing keys {missing}, unexpected keys {unexpected}{shapes}')
    if mismatched:
        raise ValueError(f'Checkpoint {filename!r}: {"; ".join(mismatched)}')
    module.load_state_dict(state, strict=True)
