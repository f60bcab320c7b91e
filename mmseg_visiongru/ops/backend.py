"""Which implementation runs an op: one dispatch for every op in ``mmseg_visiongru.ops``.

Backends: ``'cpp'``, the compiled CPU kernels (``mmseg_visiongru.ops.kernels_cpu``, float32
and float64); ``'triton'``, the GPU kernels (CUDA tensors, or CPU tensors under
``TRITON_INTERPRET=1``, which is how they are tested without a GPU); ``'torch'``, plain PyTorch
ops on any device, the fallback.  By default a tensor gets the fastest backend that serves it.
"""
import contextlib
import importlib.util
import os
from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor

try:
    from . import kernels_cpu  # the compiled CPU kernels (csrc/)
except ImportError:  # the package was installed without building its extension
    kernels_cpu = None

BACKENDS = ('cpp', 'triton', 'torch')
# Looked up once: the dispatch runs inside torch.compile's traced code too.
TRITON_INSTALLED = importlib.util.find_spec('triton') is not None
ACCUMULATE_IN_FLOAT32 = (torch.float16, torch.bfloat16)

_forced: Optional[str] = None


@contextlib.contextmanager
def set_backend(name: Optional[str]) -> Iterator[None]:
    """Run the ops without an explicit ``backend=`` on ``name`` inside the block (None: the
    default per tensor), e.g. to time a whole model on each backend."""
    global _forced
    if name is not None and name not in BACKENDS:
        raise ValueError(f'Unknown backend {name!r}; choose from {BACKENDS}')
    previous, _forced = _forced, name
    try:
        yield
    finally:
        _forced = previous


def why_not(backend: str, x: Tensor) -> Optional[str]:
    """None when ``backend`` can run on ``x``, else the reason it cannot."""
    if backend == 'cpp':
        if x.device.type != 'cpu':
            return f'it runs on CPU tensors only, got a {x.device.type} tensor'
        if x.dtype not in (torch.float32, torch.float64):
            return f'it computes in float32/float64, got {x.dtype}'
        if kernels_cpu is None:
            return ('the compiled extension mmseg_visiongru.ops.kernels_cpu is missing '
                    '(reinstall the package: bash install.sh)')
    elif backend == 'triton':
        if not TRITON_INSTALLED:
            return 'triton is not installed'
        if x.device.type != 'cuda' and not (x.device.type == 'cpu'
                                            and os.environ.get('TRITON_INTERPRET') == '1'):
            return ('it runs on CUDA tensors (or CPU tensors with TRITON_INTERPRET=1), got a '
                    f'{x.device.type} tensor')
    elif backend not in BACKENDS:
        return f'there is no such backend; choose from {BACKENDS}'
    return None


def resolve(op: str, x: Tensor, backend: Optional[str],
            supported: Tuple[str, ...] = BACKENDS) -> str:
    """The backend that runs ``op`` on ``x``: ``backend``, else the one forced by
    ``set_backend``, else cpp on the CPU, triton on CUDA, torch elsewhere (among the op's
    ``supported`` backends).  A chosen backend that cannot serve ``x`` is an error naming the
    reason, never a silent fallback."""
    chosen = backend or _forced
    if chosen is None:
        preferred = 'triton' if x.device.type == 'cuda' else 'cpp'
        usable = preferred in supported and why_not(preferred, x) is None
        return preferred if usable else 'torch'
    reason = why_not(chosen, x) if chosen in supported else \
        f'choose from {supported}'
    if reason is not None:
        raise ValueError(f'{op}: backend {chosen!r} cannot run here: {reason}')
    return chosen
