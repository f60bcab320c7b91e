"""Let ``torch.load(weights_only=True)`` (torch's default) read the checkpoints mmengine writes.

mmengine 0.10.7 pickles its ``MessageHub`` into every checkpoint: ``HistoryBuffer`` objects
holding numpy arrays and scalars, whose statistics methods are pickled as
``getattr(HistoryBuffer, 'min')``.  torch's safe unpickler rejects all of these, so resuming,
testing ``iter_N.pth`` and ``Pretrained`` init from an mmpretrain checkpoint fail.  Older
checkpoints also name numpy 1.x's module paths (``numpy.core.multiarray``, ``numpy._core`` since
numpy 2) and may hold an ``argparse.Namespace`` of the training script's arguments.  Nothing
here loads with ``weights_only=False``.
"""
import argparse
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

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
    """Add to torch's safe-unpickling allowlist (a process-wide setting) exactly what mmengine
    checkpoints hold beyond tensors: numpy arrays, scalars and dtypes (by the callables numpy's
    own pickles name, under numpy 2's and numpy 1.x's module paths), ``HistoryBuffer``,
    :func:`history_buffer_method` in place of ``builtins.getattr``, and ``argparse.Namespace``
    (an attribute holder; what it holds is checked as any other value).  Called by
    ``import mmseg_visiongru``, so it also holds under the upstream tools with our
    ``custom_imports``; calling it again changes nothing.  torch < 2.4 has no allowlist (its
    ``torch.load`` unpickles everything by default): nothing to do there."""
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return
    reconstruct = np.zeros(0).__reduce__()[0]  # numpy's ndarray reconstructor
    scalar = np.float64(0).__reduce__()[0]  # numpy's scalar reconstructor
    dtypes = [type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGSUV']
    torch.serialization.add_safe_globals(
        [np.ndarray, np.dtype, reconstruct, scalar, *dtypes, HistoryBuffer,
         (history_buffer_method, 'builtins.getattr'), argparse.Namespace,
         (reconstruct, 'numpy.core.multiarray._reconstruct'),
         (scalar, 'numpy.core.multiarray.scalar')])
