"""Which implementation runs an op: one dispatch for every op in ``mmseg_visiongru.ops``.

Backends: ``'cpp'``, the CPU kernel (``csrc/``, compiled on first use; float32 and float64);
``'triton'``, the GPU kernels (CUDA tensors, or CPU tensors under ``TRITON_INTERPRET=1``, which
is how they are tested without a GPU; torch >= 2.4 with Triton >= 3.0); ``'torch'``, plain
PyTorch ops on any device, the fallback.  By default a tensor gets the fastest backend that
serves it; where the fast one cannot run (no kernel built, an old torch or Triton on a GPU), a
one-time warning says why.
"""
import contextlib
import importlib.metadata
import os
import warnings
from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor

from . import csrc

BACKENDS = ('cpp', 'triton', 'torch')
ACCUMULATE_IN_FLOAT32 = (torch.float16, torch.bfloat16)


def _version(text: str) -> Tuple[int, int]:
    major, minor = text.split('+')[0].split('.')[:2]
    return int(major), int(minor)


def _triton_problem() -> Optional[str]:
    """Why the Triton kernels cannot run with the installed packages (None: they can)."""
    try:
        triton = importlib.metadata.version('triton')
    except importlib.metadata.PackageNotFoundError:
        return 'triton is not installed'
    if _version(torch.__version__) < (2, 4) or _version(triton) < (3, 0):
        return (f'the Triton kernels need torch >= 2.4 and Triton >= 3.0, found torch '
                f'{torch.__version__} and Triton {triton}')
    return None


# Looked up once: the dispatch runs inside torch.compile's traced code too.
TRITON_PROBLEM = _triton_problem()

@torch.compiler.assume_constant_result  # called while tracing, as a constant: no graph break
def _cpu_kernel_built() -> bool:
    """Whether the CPU kernel is there (built or loaded on the first call of the process)."""
    return csrc.kernels() is not None


_forced: Optional[str] = None
_warned_gpu_fallback = False


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
        if not _cpu_kernel_built():
            return f'the CPU kernel is not available: {csrc.why_missing()}'
    elif backend == 'triton':
        if TRITON_PROBLEM is not None:
            return TRITON_PROBLEM
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
    global _warned_gpu_fallback
    chosen = backend or _forced
    if chosen is None:
        preferred = 'triton' if x.device.type == 'cuda' else 'cpp'
        problem = why_not(preferred, x) if preferred in supported else 'not supported'
        if problem is None:
            return preferred
        if preferred == 'triton' and not _warned_gpu_fallback:
            _warned_gpu_fallback = True
            warnings.warn(f'{op} runs its plain-PyTorch path on the GPU: {problem}.')
        return 'torch'
    reason = why_not(chosen, x) if chosen in supported else \
        f'choose from {supported}'
    if reason is not None:
        raise ValueError(f'{op}: backend {chosen!r} cannot run here: {reason}')
    return chosen


def __getattr__(name: str):
    """``kernels_cpu``: the compiled CPU kernel module, or None where it cannot be built."""
    if name == 'kernels_cpu':
        return csrc.kernels()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
