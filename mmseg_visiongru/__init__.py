"""VisionGRU for OpenMMLab: ``import mmseg_visiongru`` registers the backbone in the
MMSegmentation and mmpretrain registries and lets torch's safe loader read mmengine checkpoints."""
from .compat import allow_mmengine_checkpoints, atomic_local_writes
from .models import GRU2DBlock, MinGRU, VisionGRU
from .ops import linear_scan
from .transforms import CheckSegLabels

allow_mmengine_checkpoints()
atomic_local_writes()

__version__ = '0.1.0'
__all__ = ['CheckSegLabels', 'GRU2DBlock', 'MinGRU', 'VisionGRU', 'linear_scan']
