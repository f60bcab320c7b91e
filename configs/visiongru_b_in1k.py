# VisionGRU-B ImageNet-1k pretraining: the Ti recipe with the base backbone.
_base_ = './visiongru_ti_in1k.py'

model = dict(backbone=dict(arch='base'), head=dict(in_channels=832))
