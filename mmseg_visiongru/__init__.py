"""VisionGRU for OpenMMLab.

``import mmseg_visiongru`` has two effects, each one named function: it registers this
package's modules in the MMSegmentation, mmpretrain and mmengine registries
(:func:`register_all_modules`), and lets torch's safe loader read the checkpoints mmengine writes
(:func:`allow_mmengine_checkpoints`).  The model core in ``mmseg_visiongru.models`` needs torch
and mmengine only.
"""
from .engine import allow_mmengine_checkpoints
from .models import ConvDownsample, GRU2DBlock, MinGRU, VisionGRU
from .ops import min_gru_scan
from .register import register_all_modules

register_all_modules()
allow_mmengine_checkpoints()

__version__ = '0.1.0'
__all__ = [
    'ConvDownsample', 'GRU2DBlock', 'MinGRU', 'VisionGRU', 'allow_mmengine_checkpoints',
    'min_gru_scan', 'register_all_modules'
]
