"""How the trainability benchmark assesses a trained UperNet: mmseg's ``IoUMetric`` in eval
mode (running BatchNorm statistics) on the held-out and on its own training images, and with
the BatchNorm layers on batch statistics (running statistics untouched, dropout off) on its own
training images, batches of 4 like in training.  A gap between the last two is a train/eval
inconsistency.  Diagnostics beside them: the std of each backbone stage output and how far the
head's BatchNorm running variances are from the variances of the features they normalise
(geometric mean of max(r, 1/r), 1 = none)."""
import logging
import math
from collections import defaultdict

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from torch import nn

import mmseg_visiongru  # noqa: F401 (registers VisionGRU, lets torch read our checkpoints)


def batch_norms(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def evaluate(model, dataset, bn_batch_stats=False, batch_size=4, diagnose=False):
    """mIoU and aAcc of ``model`` on ``dataset``; with ``diagnose`` also the stage-output stds and
    the BatchNorm running-variance gap."""
    model.eval()
    for bn in batch_norms(model):
        bn.train(bn_batch_stats)
        bn.momentum = 0.  # batch statistics are used but never stored
    evaluator = Evaluator(dict(type='IoUMetric', iou_metrics=['mIoU']))
    evaluator.dataset_meta = dataset.metainfo
    stage_var, bn_gap, hooks = defaultdict(list), [], []
    if diagnose:
        def stages(module, args, outs):
            for i, out in enumerate(outs):
                stage_var[i].append(out.float().var().item())

        def gap(module, args, out):
            x = args[0].transpose(0, 1).flatten(1)
            ratio = x.var(1) / (module.running_var + module.eps)
            bn_gap.append(ratio.log().abs().mean().item())

        hooks = [model.backbone.register_forward_hook(stages)]
        hooks += [bn.register_forward_hook(gap) for bn in batch_norms(model)]
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = pseudo_collate([dataset[i] for i in
                                    range(start, min(start + batch_size, len(dataset)))])
            evaluator.process(model.test_step(batch), batch)
    for hook in hooks:
        hook.remove()
    metrics = evaluator.evaluate(len(dataset))
    result = dict(mIoU=float(metrics['mIoU']), aAcc=float(metrics['aAcc']))
    if diagnose:
        result['stage_std'] = [math.sqrt(np.mean(v)) for _, v in sorted(stage_var.items())]
        result['bn_var_gap'] = math.exp(np.mean(bn_gap))
    return result


def assess(cfg, checkpoint):
    """Eval-mode and batch-statistics results on the held-out and the training images."""
    from mmseg.apis import init_model
    from mmseg.registry import DATASETS
    model = init_model(cfg, checkpoint, device='cpu')
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no per-class tables

    def dataset(split):
        ds = dict(cfg.test_dataloader.dataset, data_prefix=dict(
            img_path=f'images/{split}', seg_map_path=f'annotations/{split}'))
        return DATASETS.build(ds)

    held_out, own = dataset('validation'), dataset('training')
    return dict(
        eval_held_out=evaluate(model, held_out, diagnose=True),
        eval_own=evaluate(model, own),
        batch_stats_own=evaluate(model, own, bn_batch_stats=True))
