from .atomic_backend import AtomicLocalBackend
from .cpu_distributed import CPUDistributedDataParallel, adapt_to_cpu
from .safe_loading import allow_mmengine_checkpoints

__all__ = [
    'AtomicLocalBackend', 'CPUDistributedDataParallel', 'adapt_to_cpu',
    'allow_mmengine_checkpoints'
]
