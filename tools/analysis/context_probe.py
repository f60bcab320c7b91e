"""Where does the context task's cue get lost?  Linear probes of the rock / cushion label on each
backbone stage's features and on the UperNet head's, at the disk positions and over the whole map.

    .venv/bin/python tools/analysis/context_probe.py WORK_DIR [WORK_DIR ...]

Each WORK_DIR is a finished ``context`` run of tools/analysis/trainability.py (its config.py and
last checkpoint).  The disks of an image all share one class, told only by the ceiling colour, so
each image is one sample: a stage's feature vector "at the disks" is its map averaged over the
disk pixels (the label mask resized to the map by area), "global" is the map's mean.  One logistic
regression per stage (standardised features, L2 weight 1e-2, L-BFGS, float64) is fit on the
training images and scored on the held-out images; the classes are balanced, chance is 50%.
A model that carries the ceiling's colour to the disks shows it in the "at the disks" columns.
"""
import argparse
import logging
import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger

import mmseg_visiongru  # noqa: F401 (registers VisionGRU and lets torch read our checkpoints)

CLASSES = ('rock', 'cushion')  # the context task's disk classes, told apart by the ceiling
PROBED = ('stage 1', 'stage 2', 'stage 3', 'stage 4', 'head')


def features(model, dataset):
    """(at the disks, global): a (N, C) tensor per probed map; labels (N, ): 1 for rock."""
    rock, cushion = (dataset.metainfo['classes'].index(c) for c in CLASSES)
    head = {}
    hook = model.decode_head.fpn_bottleneck.register_forward_hook(
        lambda module, args, out: head.update(out=out))
    at_disks, means, labels = [[] for _ in PROBED], [[] for _ in PROBED], []
    try:
        with torch.no_grad():
            for i in range(len(dataset)):
                data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
                seg = data['data_samples'][0].gt_sem_seg.data[0]
                disks = ((seg == rock) | (seg == cushion)).double()
                if not disks.any():
                    continue
                labels.append(float((seg == rock).sum() > (seg == cushion).sum()))
                maps = list(model.extract_feat(data['inputs']))
                model.decode_head(maps)
                for j, fmap in enumerate(maps + [head['out']]):
                    fmap = fmap[0].double()
                    weight = F.interpolate(disks[None, None], fmap.shape[-2:], mode='area')[0]
                    at_disks[j].append((fmap * weight).sum((1, 2)) / weight.sum())
                    means[j].append(fmap.mean((1, 2)))
    finally:
        hook.remove()
    return ([torch.stack(r) for r in at_disks], [torch.stack(r) for r in means],
            torch.tensor(labels, dtype=torch.float64))


def probe_accuracy(x_train, y_train, x_test, y_test, weight_decay=1e-2):
    """Held-out accuracy of an L2-regularised logistic regression fit on (x_train, y_train)."""
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    w = torch.zeros(x_train.shape[1], dtype=x_train.dtype, requires_grad=True)
    b = torch.zeros(1, dtype=x_train.dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn='strong_wolfe')

    def closure():
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x_train @ w + b, y_train) + \
            weight_decay * w.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return ((x_test @ w + b > 0).double() == y_test).double().mean().item()


def probe_run(work_dir):
    """Held-out probe accuracies (%) of one run: {'at the disks': [...], 'global': [...]}."""
    from mmseg.apis import init_model
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(osp.join(work_dir, 'config.py'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = osp.join(work_dir, osp.basename(f.read().strip()))
    model = init_model(cfg, checkpoint, device='cpu').eval()
    MMLogger.get_current_instance().setLevel(logging.WARNING)

    def split(name):
        return features(model, DATASETS.build(dict(cfg.test_dataloader.dataset, data_prefix=dict(
            img_path=f'images/{name}', seg_map_path=f'annotations/{name}'))))

    (train_disks, train_means, y_train), (test_disks, test_means, y_test) = \
        split('training'), split('validation')
    return {
        'at the disks': [100 * probe_accuracy(a, y_train, b, y_test)
                         for a, b in zip(train_disks, test_disks)],
        'global': [100 * probe_accuracy(a, y_train, b, y_test)
                   for a, b in zip(train_means, test_means)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    args = parser.parse_args()
    print('Held-out accuracy (%) of linear probes of rock vs cushion (chance 50)\n')
    print('| run | where | ' + ' | '.join(PROBED) + ' |')
    print('|---|---|' + '---:|' * len(PROBED))
    for work_dir in args.work_dirs:
        for where, accuracies in probe_run(work_dir).items():
            print(f'| {osp.basename(osp.normpath(work_dir))} | {where} | ' +
                  ' | '.join(f'{a:.0f}' for a in accuracies) + ' |')


if __name__ == '__main__':
    main()
