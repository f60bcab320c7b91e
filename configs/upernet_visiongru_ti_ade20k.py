# UperNet + VisionGRU-Ti on ADE20K at 512x512: the paper's Table II setup (160k iterations,
# 8 GPUs x 2 images).  Runs with our tools/train.py or the upstream mmseg tools/train.py.
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['mmseg_visiongru'], allow_failed_imports=False)
# Checkpoints are written to a temporary file and renamed into place (the 'atomic_local' file
# backend of mmseg_visiongru), older ones removed only once the new one is complete
# (SafeCheckpointHook, which also never saves NaN/Inf weights): a run killed at any instant
# keeps its last checkpoint.  NonFiniteLossHook stops training at the first NaN/Inf loss.
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', backend_args=dict(backend='atomic_local')))
custom_hooks = [dict(type='NonFiniteLossHook')]
# A rank stuck for 10 minutes in a collective (longer than a validation or a save takes) ends
# the job, on NCCL (GPU) and gloo (CPU processes) alike.
env_cfg = dict(dist_cfg=dict(timeout=600))

# ImageNet-pretrained VisionGRU-Ti, written by `tools/train.py configs/visiongru_ti_in1k.py`
# or converted from the authors' release with tools/model_converters/visiongru2mmseg.py
# (docs/pretrain_to_segment.md).
pretrained = 'checkpoints/visiongru_ti_in1k.pth'
crop_size = (512, 512)
num_classes = 150

data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='VisionGRU',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(in_channels=[72, 144, 288, 576], num_classes=num_classes),
    auxiliary_head=dict(in_channels=288, num_classes=num_classes))

# The upstream ADE20K pipelines, with a label check right after loading the annotations.  Images
# are read as stored, as annotations always are: an EXIF orientation tag would rotate the image
# alone.
train_pipeline = [
    dict(type='LoadImageFromFile', color_type='color_ignore_orientation'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='CheckSegLabels', num_classes=num_classes),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='color_ignore_orientation'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='CheckSegLabels', num_classes=num_classes),
    dict(type='PackSegInputs'),
]
# Test-time augmentation (tools/test.py --tta, the "ms+flip" of ADE20K tables): MMSegmentation's
# ADE20K recipe, each image at 0.5-1.75x, as is and flipped, softmax scores averaged by
# SegTTAModel.  As in MMSegmentation 1.x the ratios scale the image as loaded (0.x scaled the
# (2048, 512) test size).
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_model = dict(type='SegTTAModel')
tta_pipeline = [
    dict(type='LoadImageFromFile', color_type='color_ignore_orientation'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal'),
            ],
            [dict(type='LoadAnnotations', reduce_zero_label=True)],
            [dict(type='CheckSegLabels', num_classes=num_classes)],
            [dict(type='PackSegInputs')],
        ]),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# AdamW, no weight decay on norms; 1,500 linear warm-up iterations, then poly decay to 160k.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0., power=1.0, begin=1500, end=160000, by_epoch=False),
]
# lr 6e-5 is for 8 GPUs x 2 images; `--auto-scale-lr` rescales it to the actual batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
