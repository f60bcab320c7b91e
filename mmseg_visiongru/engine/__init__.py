from .atomic_backend import AtomicLocalBackend
from .checkpoint_hook import SafeCheckpointHook
from .cpu_distributed import CPUDistributedDataParallel, adapt_to_cpu
from .non_finite_loss_hook import NonFiniteLossHook
from .safe_loading import allow_mmengine_checkpoints

__all__ = [
    'AtomicLocalBackend', 'CPUDistributedDataParallel', 'NonFiniteLossHook',
    'SafeCheckpointHook', 'adapt_to_cpu', 'allow_mmengine_checkpoints'
]
