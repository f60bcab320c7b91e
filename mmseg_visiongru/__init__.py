"""VisionGRU for OpenMMLab: ``import mmseg_visiongru`` registers the backbone in the
MMSegmentation and mmpretrain registries."""
from .models import GRU2DBlock, MinGRU, VisionGRU
from .ops import linear_scan

__version__ = '0.1.0'
__all__ = ['GRU2DBlock', 'MinGRU', 'VisionGRU', 'linear_scan']
