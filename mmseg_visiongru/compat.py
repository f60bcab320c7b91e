"""Compatibility with the pinned upstream stack, in one place.

1. Checkpoints. Let ``torch.load(weights_only=True)`` (torch's default) read the checkpoints
mmengine writes.

mmengine 0.10.7 pickles its ``MessageHub`` into every checkpoint: ``HistoryBuffer`` objects
holding numpy arrays and scalars, whose statistics methods are pickled as
``getattr(HistoryBuffer, 'min')``.  torch's safe unpickler rejects all of these, so resuming,
``tools/test.py`` on ``iter_N.pth`` and ``Pretrained`` init from an mmpretrain checkpoint fail.

We allowlist exactly those types (numpy arrays/scalars/dtypes and ``HistoryBuffer``) and, in
place of ``builtins.getattr``, a stand-in that resolves only ``HistoryBuffer``'s statistics
methods and refuses anything else.  Nothing is loaded with ``weights_only=False``.  This runs when
``mmseg_visiongru`` is imported, so it also holds under the upstream tools with our
``custom_imports``.

2. Distributed runs on CPU-only machines: see :func:`adapt_to_cpu`.

3. Atomic checkpoints: see :func:`atomic_local_writes`.
"""
import atexit
import os
import os.path as osp
import pickle

import numpy as np
import torch
from mmengine.fileio.backends import LocalBackend
from mmengine.logging import HistoryBuffer
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_method(owner, name: str):
    """Resolve ``getattr(HistoryBuffer, name)`` for its statistics methods, and nothing else."""
    if owner is HistoryBuffer and (name in _STATISTICS
                                   or name in HistoryBuffer._statistics_methods):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({owner!r}, {name!r}); only HistoryBuffer statistics '
        'methods may be resolved when loading with weights_only=True')


def allow_mmengine_checkpoints() -> None:
    numpy_types = [np.ndarray, np.dtype, np._core.multiarray._reconstruct,
                   np._core.multiarray.scalar]
    numpy_types += [type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGSUV']
    torch.serialization.add_safe_globals(
        numpy_types + [HistoryBuffer, (history_buffer_method, 'builtins.getattr')])


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes: mmengine always passes
    ``device_ids=[LOCAL_RANK]``, which torch's DDP rejects for a module on the CPU."""

    def __init__(self, module, device_ids=None, **kwargs):
        super().__init__(module=module, device_ids=None, **kwargs)


def _sync_bn_to_bn(node):
    if isinstance(node, dict):
        return {k: 'BN' if k == 'type' and v == 'SyncBN' else _sync_bn_to_bn(v)
                for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_sync_bn_to_bn(v) for v in node)
    return node


def adapt_to_cpu(cfg, launcher: str) -> None:
    """Make a GPU recipe run on CPU processes (no-op where CUDA is available).

    mmengine 0.10.7 initialises every ``pytorch`` launch with ``torch.cuda.set_device`` and wraps
    the model with ``device_ids``, and torch's SyncBN refuses CPU tensors once a process group
    exists.  So on a CPU-only machine: SyncBN becomes BN (identical in one process), a ``gloo``
    process group is created here (the Runner then skips its own ``init_dist``) and destroyed at
    exit (left to interpreter shutdown, its threads could abort a finished run), and the model is
    wrapped by :class:`CPUDistributedDataParallel`.
    """
    if torch.cuda.is_available():
        return
    cfg.model = _sync_bn_to_bn(cfg.model)
    if launcher != 'none':
        torch.distributed.init_process_group(backend='gloo')
        atexit.register(torch.distributed.destroy_process_group)
        cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel', broadcast_buffers=False)


def _atomic_put(self, obj: bytes, filepath) -> None:
    os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
    tmp = f'{filepath}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(obj)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, filepath)


def atomic_local_writes() -> None:
    """mmengine writes a checkpoint straight into ``iter_N.pth``, so a run killed mid-save leaves
    a truncated file under the final name.  Write to a temporary file beside it and rename it
    into place (atomic on POSIX): a checkpoint file is either complete or absent."""
    LocalBackend.put = _atomic_put
