from .gru2d_block import GRU2DBlock
from .min_gru import MinGRU
from .vision_gru import ConvDownsample, VisionGRU

__all__ = ['ConvDownsample', 'GRU2DBlock', 'MinGRU', 'VisionGRU']
