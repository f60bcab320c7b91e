"""A file backend that writes each file atomically, for checkpoints.

mmengine's ``LocalBackend.put`` writes straight into the final path, so a run killed mid-save
leaves a truncated ``iter_N.pth`` that a resume then picks.  Our configs select this backend for
the ``CheckpointHook`` only::

    default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))
"""
import os
import os.path as osp
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` writes a temporary file beside the target, fsyncs it and
    renames it into place (atomic on POSIX): the file is either complete or absent."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
        tmp = f'{filepath}.tmp{os.getpid()}'
        try:
            with open(tmp, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)
