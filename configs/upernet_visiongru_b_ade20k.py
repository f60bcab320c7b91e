# UperNet + VisionGRU-B on ADE20K at 512x512: the Ti recipe with the base backbone.
_base_ = './upernet_visiongru_ti_ade20k.py'

pretrained = 'checkpoints/visiongru_b_in1k.pth'
model = dict(
    backbone=dict(
        arch='base',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(in_channels=[104, 208, 416, 832]),
    auxiliary_head=dict(in_channels=416))
