# VisionGRU-Ti ImageNet-1k pretraining (the authors' recipe): 300 epochs, 4 GPUs x 256 images,
# AdamW lr 1e-3 at batch 1024, weight decay 0.05, cosine with 20 warm-up epochs, Mixup 0.8,
# CutMix 1.0, label smoothing 0.1, RandAugment m9, random erasing 0.25, EMA 0.9999.
# The written checkpoint initialises configs/upernet_visiongru_ti_ade20k.py (prefix 'backbone.').
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmseg_visiongru'], allow_failed_imports=False)
# Checkpoints are written atomically and older ones removed only once the new one is complete;
# NaN/Inf losses stop training; a stuck rank ends the job after 10 minutes (as in
# configs/upernet_visiongru_ti_ade20k.py).
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', backend_args=dict(backend='atomic_local')))
env_cfg = dict(dist_cfg=dict(timeout=600))

model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionGRU', arch='tiny', out_indices=(3, ), drop_path_rate=0.),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=576,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

# 256 images per GPU (RandomResizedCrop 224 + flip, RandAugment, RandomErasing from the base;
# test: resize 256, center crop 224).
train_dataloader = dict(batch_size=256)
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader

# Cosine decay per iteration after a 20-epoch per-iteration linear warm-up (lr from the base:
# AdamW 1e-3, weight decay 0.05, none on norms and biases).
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=20,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=20,
         convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=1024)

custom_hooks = [
    dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL'),
    dict(type='NonFiniteLossHook'),
]
