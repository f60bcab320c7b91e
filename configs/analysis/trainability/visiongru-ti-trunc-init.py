# VisionGRU-Ti with the backbone's own default init (truncated-normal Linear weights, zero
# biases) instead of the PyTorch defaults that the recipe's init_cfg=None leaves, as in the
# released code.
_base_ = './visiongru-ti.py'

model = dict(
    backbone=dict(init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ]))
