# VisionGRU-Ti with a LayerNorm on each stage output.
_base_ = './visiongru-ti.py'

model = dict(backbone=dict(out_norm=True))
