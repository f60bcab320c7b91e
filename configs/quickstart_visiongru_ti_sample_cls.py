# Quickstart pretraining: the Ti ImageNet recipe on the generated sample folders
# (`tools/make_sample_data.py --kind imagenet --out data/sample_imagenet`): 10 classes, 64 px
# images, 56 px crops, batch 16, a few epochs.  EMA, Mixup/CutMix and the augmentations stay.
_base_ = './visiongru_ti_in1k.py'

data_root = 'data/sample_imagenet'
num_classes = 10
max_epochs = 6

data_preprocessor = dict(num_classes=num_classes)
model = dict(head=dict(num_classes=num_classes))

bgr_mean = [103.53, 116.28, 123.675]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=56, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
         magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02,
         max_area_ratio=1 / 3, fill_color=bgr_mean, fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=max_epochs))
